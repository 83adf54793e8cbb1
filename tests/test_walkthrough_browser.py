"""The walkthrough page, stepped through in a real headless browser (Debian's chromium, via playwright).

Without a browser or playwright these tests are skipped on a developer's machine, but fail under CI
(SEEBACKPROP_STRICT=1, see conftest.py): CI installs them and must not pass by skipping.

Readability is measured, not assumed: the size on screen of every text of the graph, in the
window of a 1024 px projector, and at 200% browser zoom. A screenshot of the page at 1024 px is
kept in pytest's temporary directory for a person to look at.
"""
import pytest

from autodiff.graph import topological_order
from autodiff.walkthrough import EXAMPLES, walk, write_html
PROJECTOR = {"width": 1024, "height": 768}

# Each text of the shown graph: its font size as drawn on screen (css px), and its box's height.
TEXT_SIZES = """svg => [...svg.querySelectorAll("text")].map((t) => ({
    font: parseFloat(t.getAttribute("font-size")) * t.getScreenCTM().a,
    height: t.getBoundingClientRect().height,
}))"""
SCALE = "svg => parseFloat(svg.dataset.scale)"


@pytest.fixture(scope="module")
def network_page(tmp_path_factory):
    path = tmp_path_factory.mktemp("walkthrough") / "network.html"
    root = EXAMPLES["network"]()
    return path, write_html(root, path), root


class Page:
    """The walkthrough page open in a browser tab, and what it asked of the network."""

    def __init__(self, browser, path, viewport=PROJECTOR, zoom=1):
        # Browser zoom at 200% is a window half as wide in css px, with two device pixels per css px.
        self.page = browser.new_page(
            viewport={"width": viewport["width"] // zoom, "height": viewport["height"] // zoom},
            device_scale_factor=zoom,
        )
        self.requests, self.errors = [], []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.as_uri())
        self.wait(1)

    def wait(self, frame):
        """Until frame (1 = the first) is laid out by the WebAssembly Graphviz and shown."""
        self.page.wait_for_selector(f'#view[data-shown="{frame}"] #graph svg')

    def frame(self):
        return int(self.page.get_attribute("#view", "data-shown"))

    def classes(self, kind):
        return self.page.eval_on_selector_all(f"#graph svg g.{kind}", "gs => gs.map(g => g.id)")

    def passing_edges(self):
        return set(self.page.eval_on_selector_all(
            "#graph svg g.edge.passing", "gs => gs.map(g => g.querySelector('title').textContent)"
        ))

    def text_sizes(self):
        return self.page.eval_on_selector("#graph svg", TEXT_SIZES)

    def scale(self):
        return self.page.eval_on_selector("#graph svg", SCALE)

    def scroll(self):
        return self.page.eval_on_selector("#graph", "g => [g.scrollLeft, g.scrollTop]")

    def close(self):
        assert self.errors == []
        assert all(url.startswith("file:") for url in self.requests), self.requests  # nothing from the network
        self.page.close()


def in_view(page, ids):
    """Whether each of these drawn nodes lies wholly inside the graph's visible area."""
    return page.page.evaluate(
        """ids => {
            const view = document.getElementById("graph").getBoundingClientRect();
            return ids.map((id) => {
                const box = document.getElementById(id).getBoundingClientRect();
                return box.left >= view.left - 1 && box.right <= view.right + 1
                    && box.top >= view.top - 1 && box.bottom <= view.bottom + 1;
            });
        }""",
        ids,
    )


def test_stepping_through_the_page(browser, network_page):
    path, count, root = network_page
    steps = [step for step, _, _ in walk(root)]
    assert count == len(steps) > 2
    page = Page(browser, path)

    def expect(k):
        page.wait(k)
        assert page.page.inner_text("#counter") == f"step {k} / {count}"
        node = steps[k - 1].node
        me, op = f"node-{node._id}", f"op-{node._id}"
        children = {f"node-{child._id}" for child in node._children}
        assert page.classes("highlight") == [me]
        assert set(page.classes("updated")) == children  # the children being updated
        assert page.passing_edges() == {f"{c}->{op}" for c in children} | {f"{op}->{me}"}  # and the edges
        assert in_view(page, [me]) == [True]  # the view follows the step
        explanation = page.page.inner_text("#explanation")
        assert explanation.startswith(f"Step {k} / {count}:")
        return explanation

    first = expect(1)
    assert page.page.get_attribute("#notation", "open") is not None  # the notation, at the start
    page.page.click("#next")
    second = expect(2)
    assert second != first
    assert page.page.get_attribute("#notation", "open") is None  # then folded away for the graph
    page.page.keyboard.press("ArrowRight")
    expect(3)
    page.page.keyboard.press("n")
    expect(4)
    page.page.keyboard.press("p")
    expect(3)
    page.page.click("#prev")
    assert expect(2) == second
    page.page.keyboard.press("ArrowLeft")
    assert expect(1) == first
    page.page.keyboard.press("ArrowLeft")  # already at the first step: stays there
    assert expect(1) == first
    assert page.page.is_disabled("#prev")

    for k in range(2, count + 1):
        page.page.keyboard.press("ArrowRight")
        expect(k)  # every step in turn, the view following it (the last one is at the top)

    page.page.keyboard.press("ArrowRight")  # past the steps: every leaf's gradient
    page.wait(count + 1)
    assert page.page.inner_text("#counter") == "all gradients"
    assert page.page.inner_text("#explanation").startswith("Done:")
    leaves = {node.label: f"node-{node._id}" for node in topological_order(root) if not node._children}
    assert set(page.classes("parameter")) == {i for label, i in leaves.items() if label[0] in "wb"}
    assert set(page.classes("data")) == {i for label, i in leaves.items() if label[0] in "ay"}
    assert page.classes("highlight") == []
    page.page.keyboard.press("ArrowRight")  # the end: stays there
    assert page.frame() == count + 1 and page.page.is_disabled("#next")
    page.page.keyboard.press("Home")
    expect(1)

    assert page.page.locator("#graph svg").count() == 1  # one frame at a time
    page.close()


def test_the_graph_is_readable_on_a_1024_px_projector(browser, network_page, tmp_path):
    path, count, _ = network_page
    page = Page(browser, path)
    measured = []
    for frame in (1, 7, count + 1):  # the first step, a neuron's step, the leaves' gradients
        page.page.keyboard.press("Home")
        for _ in range(frame - 1):
            page.page.keyboard.press("ArrowRight")
        page.wait(frame)
        sizes = page.text_sizes()
        assert len(sizes) > 50  # every box's name, data and grad, and the ops
        smallest = min(s["font"] for s in sizes), min(s["height"] for s in sizes)
        measured.append(smallest)
        assert smallest[0] >= 12 and smallest[1] >= 12, f"frame {frame}: text {smallest} px"
        # fit width: the whole width of the graph is in view, no sideways scrolling
        assert page.page.eval_on_selector("#graph", "g => g.scrollWidth <= g.clientWidth")
        if frame == 7:
            page.page.screenshot(path=tmp_path / "network-1024px-step-7.png")
    graph_height = page.page.eval_on_selector("#graph", "g => g.clientHeight")
    assert graph_height >= 0.4 * PROJECTOR["height"]  # the notation folded, the graph has room
    print(f"\nsmallest graph text at 1024 px (font px, box px) per frame: {measured}; "
          f"graph view {graph_height} px high; screenshot in {tmp_path}")
    page.close()


def test_pan_and_zoom(browser, network_page):
    path, _, _ = network_page
    page = Page(browser, path)
    fit = page.scale()
    page.page.click("#zoom-in")
    assert page.scale() == pytest.approx(fit * 1.25)
    page.page.keyboard.press("+")
    assert page.scale() == pytest.approx(fit * 1.25**2)
    page.page.keyboard.press("-")
    assert page.scale() == pytest.approx(fit * 1.25)
    page.page.keyboard.press("ArrowRight")  # the zoom is kept from step to step
    page.wait(2)
    assert page.scale() == pytest.approx(fit * 1.25)
    page.page.click("#fit")
    assert page.scale() == pytest.approx(fit)
    page.page.click("#zoom-out")
    assert page.scale() == pytest.approx(fit / 1.25)
    page.page.keyboard.press("0")
    assert page.scale() == pytest.approx(fit)

    # the wheel zooms about the pointer: the point of the drawing under it stays under it
    box = page.page.locator("#graph").bounding_box()
    x, y = box["x"] + box["width"] * 0.3, box["y"] + box["height"] * 0.5
    under = "([x, y]) => { const s = document.querySelector('#graph svg').getBoundingClientRect(); " \
            "return [(x - s.left) / s.width, (y - s.top) / s.height]; }"
    before = page.page.evaluate(under, [x, y])
    page.page.mouse.move(x, y)
    page.page.mouse.wheel(0, -200)
    page.page.wait_for_function(f"() => parseFloat(document.querySelector('#graph svg').dataset.scale) > {fit * 1.1}")
    assert page.page.evaluate(under, [x, y]) == pytest.approx(before, abs=0.01)

    # dragging pans; so do the arrow keys
    left, top = page.scroll()
    page.page.mouse.move(x, y)
    page.page.mouse.down()
    page.page.mouse.move(x - 60, y - 80, steps=4)
    page.page.mouse.up()
    assert page.scroll() == pytest.approx([left + 60, top + 80], abs=1)
    left, top = page.scroll()
    page.page.keyboard.press("ArrowUp")
    assert page.scroll()[1] < top
    page.page.keyboard.press("Shift+ArrowLeft")
    assert page.scroll()[0] < left
    assert page.frame() == 2  # panning is not stepping
    page.close()


def test_at_200_percent_browser_zoom_the_graph_grows_too(browser, network_page):
    path, _, _ = network_page
    sizes = {}
    for zoom in (1, 2):
        page = Page(browser, path, zoom=zoom)
        graph_text = min(s["font"] for s in page.text_sizes()) * zoom  # in device pixels
        page_text = float(page.page.eval_on_selector("#explanation", "e => parseFloat(getComputedStyle(e).fontSize)"))
        sizes[zoom] = graph_text, page_text * zoom
        page.close()
    print(f"\ngraph text, page text in device px at 100%: {sizes[1]}, at 200%: {sizes[2]}")
    assert sizes[2][1] == pytest.approx(2 * sizes[1][1])  # the page's text doubles
    assert sizes[2][0] >= 23.9 and sizes[2][0] >= 1.4 * sizes[1][0]  # and the graph's grows too
