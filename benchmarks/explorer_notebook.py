"""The explorer in a notebook against the page: the time from a stroke to the answer drawn, side by side.

    python benchmarks/explorer_notebook.py      # needs chromium, playwright, jupyterlab, anywidget

The same network (784-16-16-10) and the same fake digits in both: the page served by the explorer's
server (HTTP, JSON), and the widget inline in JupyterLab (the kernel answering anywidget's messages
over JupyterLab's websocket). The same strokes are drawn on each pad with the mouse; each frame
the views paint records, in window.explorerTimings, the time from asking for the answer to the
next frame painted (total) and from the answer to that frame (render). Printed: p50 and p95 of
each, and the notebook's over the page's. Each figure is the best of 3 strokes.
"""
import contextlib
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from autodiff import chromium  # noqa: E402
from explore_fixtures import bar_data, lively_network  # noqa: E402
from nn.explore.server import ExplorerServer  # noqa: E402
from nn.explore.session import Session  # noqa: E402
from test_explore_notebook import CELL, HELPER, lab, write_notebook  # noqa: E402

STROKES, MOVES = 3, 120


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def strokes(page, pad):
    """The frame timings of each of STROKES strokes, drawn as a hand would (a move every 8 ms)."""
    samples = []
    for _ in range(STROKES):
        page.evaluate("window.explorerTimings = []")
        pad.scroll_into_view_if_needed()
        box = pad.bounding_box()
        page.mouse.move(box["x"] + 60, box["y"] + 40)
        page.mouse.down()
        for i in range(MOVES):
            page.mouse.move(box["x"] + 60 + i, box["y"] + 40 + (i * 1.3) % 150)
            page.wait_for_timeout(8)
        page.mouse.up()
        page.wait_for_timeout(500)
        samples.append(page.evaluate("window.explorerTimings"))
    return min(samples, key=lambda timings: percentile([t["total"] for t in timings], 95))


def in_the_page(browser):
    server = ExplorerServer(Session(bar_data(), lively_network()), "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    try:
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        page.wait_for_timeout(1000)
        return strokes(page, page.locator("#pad"))
    finally:
        page.close()
        server.shutdown()


def in_the_notebook(browser, tmp):
    with contextlib.contextmanager(lab.__wrapped__)(tmp) as (base, token, folder):
        (folder / "explore_helper.py").write_text(HELPER.format(tests=str(ROOT / "tests")))
        write_notebook(folder / "explore.ipynb", CELL)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        try:
            page.goto(f"{base}/lab/tree/explore.ipynb?token={token}")
            page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)
            page.get_by_role("menuitem", name="Run", exact=True).click()
            page.get_by_text("Run All Cells", exact=True).click()
            page.locator(".jp-OutputArea-output [data-ready=true]").wait_for(timeout=120_000)
            page.wait_for_timeout(1000)
            return strokes(page, page.locator("#pad"))
        finally:
            page.close()


def main():
    import os
    import tempfile

    from playwright.sync_api import sync_playwright

    with sync_playwright() as p, tempfile.TemporaryDirectory() as tmp:
        browser = chromium.launch(p, chromium.executable())
        page = in_the_page(browser)
        notebook = in_the_notebook(browser, Path(tmp))
        browser.close()
    print(f"load average {os.getloadavg()[0]:.1f}; a stroke of {MOVES} moves, best of {STROKES}; "
          f"{len(page)} frames in the page, {len(notebook)} in the notebook")
    for key, what in (("total", "stroke -> answer drawn (round trip)"), ("render", "answer -> frame painted")):
        row = []
        for p in (50, 95):
            a, b = percentile([t[key] for t in page], p), percentile([t[key] for t in notebook], p)
            row.append(f"p{p} page {a:6.1f} ms, notebook {b:6.1f} ms ({b / a:4.2f}x)")
        print(f"{what:38s} " + "; ".join(row))


if __name__ == "__main__":
    main()
