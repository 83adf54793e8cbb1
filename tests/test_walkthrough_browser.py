"""The stepper page, stepped through in a real headless browser (Debian's chromium, via playwright).

Without a browser or playwright these tests are skipped on a developer's machine, but fail under CI
(SEEBACKPROP_STRICT=1, see conftest.py): CI installs them and must not pass by skipping.

What a person sees is measured, not assumed, in the window of a 1024x768 projector: the computed
size of every visible text, the graph's text as drawn on screen, that the whole graph and the whole
explanation fit their panels (no scrolling), that no two texts of the graph overlap, that arrows
point the way gradients travel. Screenshots of the first, middle and last steps of both examples
are kept in runs/test-artifacts/stepper/ for a person to look at.
"""
import math
from pathlib import Path
from xml.etree import ElementTree

import pytest

from pictures import gif_frames, text_heights

from autodiff.graph import topological_order
from autodiff.walkthrough import EXAMPLES, number, slide_captions, stepper, walk, write_html

PROJECTOR = {"width": 1024, "height": 768}
SVG = "{http://www.w3.org/2000/svg}"
ARTIFACTS = Path(__file__).resolve().parent.parent / "runs" / "test-artifacts" / "stepper"

# Every visible text of the page: its computed font size; every text of the graph: its size on screen.
MEASURE = r"""() => {
    const page = [];
    for (const element of document.querySelectorAll("body *")) {
        if (element.closest("svg")) continue;
        const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        const box = element.getBoundingClientRect();
        if (!own || !box.width || !box.height || !element.checkVisibility()) continue;
        page.push([parseFloat(getComputedStyle(element).fontSize), element.textContent.trim().slice(0, 40)]);
    }
    const texts = [...document.querySelectorAll("#stepper svg text")];
    const graph = texts.map((t) => parseFloat(t.getAttribute("font-size")) * t.getScreenCTM().a);
    const boxes = texts.map((t) => {  // the ink of each text, in the drawing's units: its characters, not its spaces
        const first = t.textContent.search(/\S/), last = t.textContent.trimEnd().length - 1;
        const box = t.getBBox(), a = t.getExtentOfChar(first), b = t.getExtentOfChar(last);
        return { left: a.x, right: b.x + b.width, top: box.y, bottom: box.y + box.height };
    });
    const overlaps = [];
    boxes.forEach((a, i) => boxes.slice(i + 1).forEach((b, j) => {
        const w = Math.min(a.right, b.right) - Math.max(a.left, b.left);
        const h = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
        if (w > 0.5 && h > 0.5) overlaps.push([texts[i].textContent, texts[i + 1 + j].textContent]);
    }));
    const view = document.querySelector(".stepper-graph"), side = document.querySelector(".stepper-side");
    return {
        page: Math.min(...page.map(([size]) => size)), smallest: page.sort((a, b) => a[0] - b[0])[0],
        graph: Math.min(...graph), texts: graph.length, overlaps,
        graphFits: view.scrollWidth <= view.clientWidth && view.scrollHeight <= view.clientHeight,
        textFits: side.scrollHeight <= side.clientHeight,
        bottom: document.getElementById("stepper").getBoundingClientRect().bottom,
        fontFamily: texts.length ? getComputedStyle(texts[0]).fontFamily : "",
    };
}"""

# For each edge: whether its arrowhead points from the parent towards the child (the way the gradient travels).
ARROWS = """() => [...document.querySelectorAll("#stepper svg g.edge")].map((edge) => {
    const [, parent, child] = edge.id.split("-");
    const [base1, tip, base2] = edge.querySelector("polygon").points;
    const centre = (id) => {
        const box = document.getElementById(`node-${id}`).getBBox();
        return [box.x + box.width / 2, box.y + box.height / 2];
    };
    const [from, to] = [centre(parent), centre(child)];
    const pointing = [tip.x - (base1.x + base2.x) / 2, tip.y - (base1.y + base2.y) / 2];
    return pointing[0] * (to[0] - from[0]) + pointing[1] * (to[1] - from[1]) > 0;
})"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stepper")
    made = {}
    for example in EXAMPLES:
        path, root = folder / f"{example}.html", EXAMPLES[example]()
        made[example] = path, write_html(root, path), root
    return made


class Page:
    """The stepper page open in a browser tab, and what it asked of the network."""

    def __init__(self, browser, path, query=""):
        self.page = browser.new_page(viewport=PROJECTOR)
        self.requests, self.errors = [], []
        self.page.on("request", lambda request: self.requests.append(request.url))
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.goto(path.as_uri() + query)

    def wait(self, shown):
        """Until frame `shown` (1 = the first; "3?" = step 3 asking its question) is laid out and shown."""
        self.page.wait_for_selector(f'#stepper[data-shown="{shown}"] .stepper-graph svg')

    def go(self, k):
        self.page.keyboard.press("Home")
        for _ in range(k - 1):
            self.page.keyboard.press("ArrowRight")
        self.wait(k)

    def classes(self, kind):
        return self.page.eval_on_selector_all(f"#stepper svg g.node.{kind}", "gs => gs.map(g => g.id)")

    def passing(self):
        return set(self.page.eval_on_selector_all("#stepper svg g.edge.passing", "gs => gs.map(g => g.id)"))

    def close(self):
        assert self.errors == []
        assert all(url.startswith(("file:", "data:", "blob:")) for url in self.requests), self.requests  # no network
        self.page.close()


def test_stepping_through_the_page(browser, pages):
    path, count, root = pages["network"]
    steps = [step for step, _, _ in walk(root)]
    assert count == len(steps) > 2
    page = Page(browser, path)
    boxes = None

    def expect(k):
        page.wait(k)
        assert page.page.inner_text("#step-counter") == f"step {k} / {count}"
        node = steps[k - 1].node
        assert page.classes("highlight") == [f"node-{node._id}"]
        nonlocal boxes
        boxes = boxes or set(page.page.eval_on_selector_all("#stepper svg g.node", "gs => gs.map(g => g.id)"))
        children = {child for child in node._children if f"node-{child._id}" in boxes}  # the others are rows
        assert set(page.classes("updated")) == {f"node-{child._id}" for child in children}
        assert page.passing() == {f"edge-{node._id}-{child._id}" for child in children}
        explanation = page.page.inner_text("#step-text")
        assert explanation.startswith(f"Step {k} / {count}:")
        return explanation

    first = expect(1)
    assert page.page.is_disabled("#step-prev")
    page.page.click("#step-next")
    second = expect(2)
    assert second != first
    page.page.keyboard.press("ArrowRight")
    expect(3)
    page.page.keyboard.press("n")
    expect(4)
    page.page.keyboard.press("b")
    expect(3)
    page.page.click("#step-prev")
    assert expect(2) == second
    page.page.keyboard.press("ArrowLeft")
    assert expect(1) == first
    page.page.keyboard.press("ArrowLeft")  # already at the first step: stays there
    assert expect(1) == first
    for k in range(2, count + 1):
        page.page.keyboard.press("ArrowRight")
        expect(k)
    page.page.keyboard.press("ArrowRight")  # past the steps: every leaf's gradient
    page.wait(count + 1)
    assert page.page.inner_text("#step-counter") == "all gradients"
    assert page.page.inner_text("#step-text").startswith("Done:")
    assert page.classes("highlight") == [] and page.page.is_disabled("#step-next")
    page.page.keyboard.press("ArrowLeft")  # back from the end
    expect(count)
    page.page.keyboard.press("Home")
    expect(1)
    assert page.page.locator("#stepper svg").count() == 1  # one frame at a time
    page.close()


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_whole_graph_is_readable_on_a_1024_by_768_projector(browser, pages, example):
    """At the first, a middle and the last step: every text at least 18 px (the graph's as drawn on
    screen), the whole graph and the whole explanation inside their panels, no two texts of the graph
    overlapping, the page within the window, the graph in a sans-serif face."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path, count, _ = pages[example]
    page = Page(browser, path)
    measured = {}
    for k, when in ((1, "first"), ((count + 1) // 2, "middle"), (count + 1, "last")):
        page.go(k)
        m = page.page.evaluate(MEASURE)
        measured[when] = round(min(m["page"], m["graph"]), 1)
        assert m["texts"] > 10
        assert m["graph"] >= 18 - 1e-6 and m["page"] >= 18, f"step {k}: {m['smallest']}, graph {m['graph']:.1f} px"
        assert m["graphFits"] and m["textFits"] and m["bottom"] <= PROJECTOR["height"], (k, m)
        assert m["overlaps"] == [], f"step {k}: texts that overlap: {m['overlaps'][:5]}"
        assert "serif" in m["fontFamily"] and "Times" not in m["fontFamily"]
        assert all(page.page.evaluate(ARROWS))  # every arrowhead at the child: the way gradients travel
        page.page.screenshot(path=ARTIFACTS / f"{example}-{when}.png")
    print(f"\n{example}: smallest text (px) at the first, middle and last steps: {measured}")
    page.close()


def test_the_frames_keep_one_layout_in_the_browser(browser, pages):
    path, count, _ = pages["network"]
    page = Page(browser, path)
    layouts = set()
    for k in range(1, count + 2):
        page.wait(k)
        boxes = page.page.eval_on_selector_all(
            "#stepper svg g.node",
            "gs => gs.map(g => { const b = g.querySelector('polygon[fill=none]').getBBox(); return [g.id, b.x, b.y, b.width, b.height]; })")
        layouts.add(tuple(map(tuple, boxes)))
        page.page.keyboard.press("ArrowRight")
    assert len(layouts) == 1  # stepping never moves a box
    page.close()


def test_a_node_waiting_for_its_shares_shows_its_sum_so_far(browser, pages):
    path, count, root = pages["network"]
    steps = [step for step, _, _ in walk(root)]
    k, edge = next((step.index + 1, edge) for step in steps for edge in step.edges
                   if edge.child.label.startswith("a(1)") and edge.before == 0)  # the first share of a hidden activation
    page = Page(browser, path)
    page.go(k)
    box = page.page.text_content(f"#stepper svg #node-{edge.child._id}")
    assert f"so far {number(edge.after)}" in box and "1 of 2 shares" in box and "grad ?" not in box
    page.go(k - 1)
    assert "0 of 2 shares" in page.page.text_content(f"#stepper svg #node-{edge.child._id}")
    page.close()


def test_the_page_says_what_the_explorers_nudges_are(browser, pages):
    path, _, _ = pages["neuron"]
    page = Page(browser, path)
    page.wait(1)
    legend = page.page.inner_text(".stepper-legend")
    assert "grad = ∂C/∂x" in legend and "nudge = −∂C/∂x" in legend
    page.close()


def test_the_quiz_refuses_a_wrong_answer_and_accepts_a_right_one(browser, pages):
    path, count, _ = pages["network"]
    asks = [step["ask"] for step in stepper(EXAMPLES["network"]())["steps"] if "ask" in step]
    page = Page(browser, path, "?quiz")
    page.wait("1?")
    assert page.page.is_visible("#step-ask") and asks[0]["question"] in page.page.inner_text("#step-ask")
    asking = page.page.evaluate(MEASURE)
    assert asking["page"] >= 18 and asking["graph"] >= 18 - 1e-6, asking["smallest"]  # the question's text too
    hidden = page.page.inner_text("#step-text")
    assert hidden.startswith("Step 1 /") and "×" not in hidden  # the chain rule in numbers waits for the answer
    wrong = asks[0]["answer"] + 20 * asks[0]["tolerance"] + 0.5
    page.page.fill("#step-answer", f"{wrong:.4g}")
    page.page.click("#step-submit")
    assert "try again" in page.page.inner_text("#step-verdict")  # refused
    assert page.page.get_attribute("#stepper", "data-shown") == "1?" and "×" not in page.page.inner_text("#step-text")
    page.page.fill("#step-answer", number(asks[0]["answer"]).replace("-", "−"))  # as a learner may type a minus
    page.page.click("#step-submit")
    page.wait(1)  # accepted: the step's own frame, and its words
    assert page.page.inner_text("#step-verdict").startswith("Right")
    assert "×" in page.page.inner_text("#step-text")
    assert page.page.inner_text("#step-score") == "score: 0 / 1 right first time"
    page.page.click("#step-next")
    page.wait("2?")
    page.page.fill("#step-answer", number(asks[1]["answer"]))
    page.page.keyboard.press("Enter")
    page.wait(2)
    assert page.page.inner_text("#step-score") == "score: 1 / 2 right first time"
    page.page.click("#step-next")
    page.wait("3?")
    page.page.click("#step-reveal")  # Show me: revealed, not scored as right
    page.wait(3)
    assert page.page.inner_text("#step-score") == "score: 1 / 3 right first time"
    page.close()


def test_a_frame_saves_as_an_svg_for_slides(browser, pages, tmp_path):
    path, count, root = pages["network"]
    steps = [step for step, _, _ in walk(root)]
    page = Page(browser, path)
    page.go(7)
    with page.page.expect_download() as download:
        page.page.click("#step-save")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "step-07.svg"
    svg = ElementTree.parse(saved).getroot()
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    captions = [t for t in texts if t and t.startswith(("Step 7 / 13:", "∂C/∂"))]  # the step's words, under the drawing
    assert captions[0].startswith("Step 7 / 13:") and len(captions) == 1 + len(steps[6].edges)
    assert svg.find(f".//{SVG}g[@id='node-{steps[6].node._id}']").get("class") == "node highlight"
    page.close()


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_whole_walk_saves_as_an_animated_gif(browser, pages, example, tmp_path):
    """Save walk (GIF): a frame per step (the last, every gradient), all the same size, at most 1024 px
    wide; the graph drawn at 24 px a line of its 18-pt text, and the step's chain rule under it."""
    import numpy as np

    path, count, root = pages[example]
    steps = stepper(root)["steps"]
    page = Page(browser, path)
    page.wait(1)
    assert page.page.inner_text("#step-gif") == "Save walk (GIF)"
    assert page.page.inner_text("#step-save") == "Save frame (SVG)"
    with page.page.expect_download(timeout=60_000) as download:
        page.page.click("#step-gif")
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name == "backward-pass.gif"
    frames, duration = gif_frames(saved)
    assert len(frames) == len(steps) == count + 1 and duration == 2000
    assert {frame.size for frame in frames} == {frames[0].size} and frames[0].size[0] == 1024
    assert all(np.asarray(a).tobytes() != np.asarray(b).tobytes() for a, b in zip(frames, frames[1:]))  # each step shows something new
    # the graph at 96 dpi, as wide as its frame in points times 4/3 (18 pt -> 24 px), unless it had to shrink
    box = page.page.evaluate("() => document.querySelector('#stepper svg').viewBox.baseVal.height")
    graph = math.ceil(box * 4 / 3)
    ink = np.asarray(frames[0].convert("L")) < 128
    assert ink[:graph].any() and ink[graph:].any()  # a drawing, then words under it
    rows = np.nonzero(ink.any(axis=1))[0]
    assert graph - 16 <= rows[rows < graph + 4].max()  # the drawing fills its 4/3 px per point: 18-pt text is 24 px
    # under the graph, each step's lines (wrapped, perhaps): rows of ink as tall as 18 px text, none smaller
    for frame, caption in zip(frames, slide_captions({"steps": steps})):
        heights = text_heights(frame, graph + 2)
        assert len(heights) >= len(caption) and all(12 <= h <= 26 for h in heights), heights
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    for k in (0, len(frames) // 2, len(frames) - 1):  # for a person to look at
        frames[k].save(ARTIFACTS / f"{example}-gif-frame-{k + 1:02d}.png")
    page.close()


def fourteen_products():
    """w0·x0 + ... + w13·x13: a graph too wide for a slide, and for its panel."""
    from autodiff import Value

    terms = [Value(0.1 * k, f"w{k}") * Value(1.0 + k, f"x{k}") for k in range(14)]
    total = terms[0]
    for term in terms[1:]:
        total = total + term
    return total


def test_a_graph_too_wide_for_a_slide_says_so_instead_of_a_gif(browser, tmp_path):
    """Fourteen products side by side: at 1024 px their 18-pt text would be under 14 px, so no GIF, and the page says why."""
    total = fourteen_products()
    path = tmp_path / "wide.html"
    write_html(total, path)
    page = Page(browser, path)
    page.wait(1)
    downloads = []
    page.page.on("download", lambda download: downloads.append(download))
    page.page.click("#step-gif")
    page.page.wait_for_function("document.getElementById('step-exported').textContent !== ''")
    message = page.page.inner_text("#step-exported")
    assert message.startswith("No GIF: this graph is too wide for a 1024 px slide") and "Save frame" in message
    assert page.page.is_visible("#step-exported") and page.page.evaluate(
        "parseFloat(getComputedStyle(document.getElementById('step-exported')).fontSize)") >= 18
    assert downloads == [] and page.page.is_enabled("#step-gif")
    page.close()


def test_a_frame_larger_than_its_panel_shows_the_node_at_work(browser, tmp_path):
    """Fourteen products side by side scroll in their panel: each step, the node passing its gradient is in sight."""
    total = fourteen_products()
    path = tmp_path / "wide.html"
    count = write_html(total, path)
    page = Page(browser, path)
    in_sight = """() => {
        const panel = document.querySelector('.stepper-graph'), rect = panel.getBoundingClientRect();
        const box = panel.querySelector('svg g.node.highlight').getBoundingClientRect();
        return [panel.scrollWidth > panel.clientWidth, box.left >= rect.left && box.right <= rect.left + panel.clientWidth
                && box.top >= rect.top && box.bottom <= rect.top + panel.clientHeight];
    }"""
    for k in range(1, count + 1):
        page.wait(k)
        wider, seen = page.page.evaluate(in_sight)
        assert wider and seen, f"step {k}: the highlighted node is out of sight"
        page.page.keyboard.press("ArrowRight")
    page.close()
