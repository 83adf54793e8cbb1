"""Make docs/images/explorer.png and average.png, the README's pictures of the explorer, from the trained network.

    python demos/explorer_screenshot.py     # needs runs/mnist/model.npz (make demo), MNIST, chromium, playwright

It starts the explorer's server in this process, opens the page in Debian's chromium at 1024x768
(a projector), picks the first test digit the network gets wrong, chooses the output it should have
lit, and saves the window: every layer's wishes on the network, the guess and the target. Then it
adds the first test "2" and the first test "7" to the many-examples panel and saves that panel:
their wishes side by side, their average, and the weight they pull both ways.
"""
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autodiff import chromium  # noqa: E402
from autodiff.files import atomic_write  # noqa: E402
from nn import data as mnist  # noqa: E402
from nn.explore.__main__ import DEFAULT_MODEL  # noqa: E402
from nn.explore.server import ExplorerServer  # noqa: E402
from nn.explore.session import Session, check_model, own_history  # noqa: E402
from nn.fast import FastMLP  # noqa: E402

OUT = ROOT / "docs" / "images" / "explorer.png"
AVERAGE = ROOT / "docs" / "images" / "average.png"


def trained_explorer():
    """(the explorer's server on the trained network, running in a thread, Chromium's path), or exit saying what is missing."""
    model = ROOT / DEFAULT_MODEL
    if not model.exists():
        sys.exit(f"{model} not found: run `make demo` first")
    try:
        browser_path = chromium.executable()
    except chromium.ChromiumNotFound as error:
        sys.exit(str(error))
    net = check_model(FastMLP.load(model), str(model))
    session = Session(mnist.load_mnist(), net, own_history(model, net))
    server = ExplorerServer(session, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, browser_path


def main():
    from playwright.sync_api import sync_playwright

    server, browser_path = trained_explorer()
    with sync_playwright() as p:
        browser = chromium.launch(p, browser_path)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        page.click("#wrong")
        page.wait_for_function("document.getElementById('picked').textContent.startsWith('test digit') "
                               "&& !document.getElementById('picked').textContent.startsWith('test digit 0 ')")
        label = page.inner_text("#targets button.chosen")
        page.wait_for_function(f"document.querySelector('#outputs tr.target td').textContent === '{label}'")
        page.click(f"#network .neuron[data-layer='3'][data-neuron='{label}']")
        page.wait_for_selector("#zoom-stepper svg")
        page.wait_for_timeout(500)
        png = page.screenshot()
        for digit in ("2", "7"):  # the first of each in the test set, side by side
            page.select_option("#label-pick", digit)
            page.wait_for_function("d => document.getElementById('picked').textContent.endsWith(`a \"${d}\"`)", arg=digit)
            shown = page.locator("#avg-table th canvas[data-e]").count()
            page.click("#avg-add")
            page.wait_for_function(f"document.querySelectorAll('#avg-table th canvas[data-e]').length === {shown + 1}")
        page.evaluate("() => { document.querySelector('header').style.position = 'static'; }")  # not over the panel
        average = page.locator("#average-panel").screenshot()
        browser.close()
    server.shutdown()
    for path, picture in ((OUT, png), (AVERAGE, average)):
        atomic_write(path, lambda file: file.write(picture))
        print(f"wrote {path.relative_to(ROOT)} ({len(picture) / 1e3:.0f} kB)")


if __name__ == "__main__":
    main()
