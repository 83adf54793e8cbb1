"""The walkthrough page, stepped through in a real headless browser (Debian's chromium, via playwright).

Without a browser or playwright this test is skipped on a developer's machine, but fails under CI
(SEEBACKPROP_STRICT=1, see conftest.py): CI installs them and must not pass by skipping.
"""
import pytest

from autodiff.walkthrough import EXAMPLES, walk, write_html
from conftest import missing, require_program

CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


@pytest.fixture
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("the python package playwright is not installed")
    chromium = require_program("chromium")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def test_stepping_through_the_page(browser, tmp_path):
    root = EXAMPLES["network"]()
    path = tmp_path / "steps.html"
    count = write_html(root, path)
    node_ids = [f"node-{step.node._id}" for step, _, _ in walk(root)]
    assert count == len(node_ids) > 2

    page = browser.new_page()
    requests, errors = [], []
    page.on("request", lambda request: requests.append(request.url))
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(path.as_uri())

    def shown():
        """(counter, ids of the highlighted nodes, explanation) as the page shows them now."""
        step = page.inner_text("#counter").split()[1]
        page.wait_for_selector(f'#view[data-shown="{step}"] svg')  # laid out by the WebAssembly Graphviz
        highlighted = page.eval_on_selector_all("#view svg g.highlight", "groups => groups.map(g => g.id)")
        return page.inner_text("#counter"), highlighted, page.inner_text("#view pre")

    def expect(step, seen):
        counter, highlighted, explanation = seen
        assert counter == f"step {step} / {count}"
        assert highlighted == [node_ids[step - 1]]
        assert explanation.startswith(f"Step {step} / {count}:")

    first = shown()
    expect(1, first)
    page.click("#next")
    second = shown()
    expect(2, second)
    assert second[2] != first[2]
    page.keyboard.press("ArrowRight")
    expect(3, shown())
    page.click("#prev")
    assert shown() == second
    page.keyboard.press("ArrowLeft")
    assert shown() == first
    page.keyboard.press("ArrowLeft")  # already at the first step: stays there
    assert shown() == first
    assert page.is_disabled("#prev")

    for _ in range(count + 2):  # past the end: stays at the last step
        page.keyboard.press("ArrowRight")
    expect(count, shown())
    assert page.is_disabled("#next")

    assert page.locator("#view svg").count() == 1  # one frame at a time
    assert errors == []
    assert all(url.startswith("file:") for url in requests), requests  # nothing from the network
