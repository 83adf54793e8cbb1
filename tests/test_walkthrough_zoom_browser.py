"""The explorer's zoom into one neuron is the stepper view itself, measured in Chromium at 1024x768.

The same module as the stepper page (served from autodiff/web/stepper, as the vendored Graphviz
is), fed the same JSON steps: never drawn below 18 px (a frame too big scrolls), in a sans-serif
face, with nothing a page user cannot act on (no Python advice such as max_nodes=), a message
rather than an empty grey block before a neuron is chosen, and the quiz.
"""
from pathlib import Path

from explore_fixtures import bar_data, running, session_with

from autodiff.walkthrough import number
from pictures import gif_frames

ARTIFACTS = Path(__file__).resolve().parent.parent / "runs" / "test-artifacts" / "stepper"

PANEL = r"""() => {
    const panel = document.getElementById("zoom-panel");
    const page = [];
    for (const element of panel.querySelectorAll("*")) {
        if (element.closest("svg")) continue;
        const own = [...element.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
        const box = element.getBoundingClientRect();
        if (!own || !box.width || !box.height || !element.checkVisibility()) continue;
        page.push([parseFloat(getComputedStyle(element).fontSize), element.textContent.trim().slice(0, 40)]);
    }
    const texts = [...panel.querySelectorAll("svg text")];
    const svg = panel.querySelector("svg");
    return {
        page: page.sort((a, b) => a[0] - b[0])[0],
        graph: Math.min(...texts.map((t) => parseFloat(t.getAttribute("font-size")) * t.getScreenCTM().a)),
        families: [...new Set(texts.map((t) => getComputedStyle(t).fontFamily))],
        scale: svg ? parseFloat(svg.dataset.scale) : null,
        words: panel.innerText + " " + texts.map((t) => t.textContent).join(" "),
        height: panel.getBoundingClientRect().height,
    };
}"""


def test_the_zoom_is_the_stepper_view_readable_on_a_projector(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = bar_data()
    with running(session_with(data=data)) as server:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        errors, requests = [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("request", lambda request: requests.append(request.url))
        answers = []  # what /api/neuron sent the page
        page.on("response", lambda response: answers.append(response.json()) if "/api/neuron" in response.url else None)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        assert f"{server.url}stepper/stepper.js" in requests  # the stepper page's own module

        # nothing chosen yet: the panel says what to do, it is not an empty block
        page.locator("#zoom-panel").scroll_into_view_if_needed()
        empty = page.evaluate(PANEL)
        assert "Click any neuron" in empty["words"] and empty["page"][0] >= 18, empty["page"]
        assert empty["height"] < 250  # a line that says what to do, not a tall empty box
        assert page.is_hidden("#zoom-next") and page.is_hidden("#zoom-save")  # no controls with nothing to act on

        page.fill("#index", "5")
        page.click("#go")
        page.wait_for_function("document.getElementById('picked').textContent.startsWith('test digit 5 ')")
        for layer, neuron, count in ((2, 3, 2), (3, data[3][5], 4), (1, 4, 2)):  # hidden, output, first layer
            page.click(f"#network .neuron[data-layer='{layer}'][data-neuron='{neuron}']")
            page.wait_for_function(f"document.getElementById('zoom-counter').textContent === 'step 1 / {count}'")
            page.wait_for_selector("#zoom-stepper[data-shown='1'] svg")
            page.locator("#zoom-panel").scroll_into_view_if_needed()
            for k in range(1, count + 1):
                if k > 1:
                    page.click("#zoom-next")
                    page.wait_for_selector(f"#zoom-stepper[data-shown='{k}'] svg")
                shown = page.evaluate(PANEL)
                assert shown["page"][0] >= 18, f"layer {layer} step {k}: {shown['page']}"
                assert shown["graph"] >= 18 - 1e-6 and shown["scale"] >= 1, (layer, k, shown["graph"])
                assert all("serif" in f and "Times" not in f for f in shown["families"]), shown["families"]
                for advice in ("max_nodes", "focus=", "draw(", "Summarised"):
                    assert advice not in shown["words"]
            page.screenshot(path=ARTIFACTS / f"zoom-layer-{layer}.png")
        assert "more, like these" in page.text_content("#zoom-graph svg")  # 784 weights: the largest few

        # the quiz, in the same view: a wrong answer refused, a right one accepted
        page.click(f"#network .neuron[data-layer='3'][data-neuron='{data[3][5]}']")
        page.wait_for_function("document.getElementById('zoom-counter').textContent === 'step 1 / 4'")
        page.check("#zoom-quiz")
        page.wait_for_selector("#zoom-stepper[data-shown='1?'] svg")
        question = page.inner_text("#zoom-ask")
        ask = [a for a in answers if a.get("layer") == 3][-1]["steps"][0]["ask"]  # as the engine wrote it
        assert ask["question"] in question
        page.fill("#zoom-answer", f"{ask['answer'] + 20 * ask['tolerance'] + 0.5:.4g}")
        page.click("#zoom-submit")
        assert "try again" in page.inner_text("#zoom-verdict")  # refused
        assert page.get_attribute("#zoom-stepper", "data-shown") == "1?"
        page.fill("#zoom-answer", number(ask["answer"]))
        page.click("#zoom-submit")
        page.wait_for_selector("#zoom-stepper[data-shown='1'] svg")  # accepted: the chain rule in numbers
        assert page.inner_text("#zoom-verdict").startswith("Right") and "×" in page.inner_text("#zoom-text")
        assert page.inner_text("#zoom-score") == "score: 0 / 1 right first time"
        assert ask["shown"] in page.inner_text("#zoom-verdict")  # the answer as the steps show numbers
        page.click("#zoom-next")
        page.wait_for_selector("#zoom-stepper[data-shown='2?'] svg")
        asking = page.evaluate(PANEL)
        assert asking["page"][0] >= 18, asking["page"]  # the question, its hint and its buttons too
        page.click("#zoom-reveal")
        page.wait_for_selector("#zoom-stepper[data-shown='2'] svg")
        assert page.inner_text("#zoom-score") == "score: 0 / 2 right first time"
        page.screenshot(path=ARTIFACTS / "zoom-quiz.png")

        # the whole walk as a GIF, from the zoom too: an output neuron's (4 steps), a first-layer one's (784 inputs)
        for layer, neuron, count in ((3, data[3][5], 4), (1, 4, 2)):
            page.click(f"#network .neuron[data-layer='{layer}'][data-neuron='{neuron}']")
            page.wait_for_function(f"document.getElementById('zoom-counter').textContent.endsWith(' / {count}')")
            with page.expect_download(timeout=60_000) as download:
                page.click("#zoom-gif")
            saved = ARTIFACTS / f"zoom-layer-{layer}.gif"
            download.value.save_as(saved)
            frames, _ = gif_frames(saved)
            assert len(frames) == count and {f.size for f in frames} == {frames[0].size} and frames[0].size[0] == 1024
            frames[-1].save(ARTIFACTS / f"zoom-layer-{layer}-gif-last.png")
        page.close()
        assert errors == []
        assert all(url.startswith((server.url, "data:", "blob:")) for url in requests)

