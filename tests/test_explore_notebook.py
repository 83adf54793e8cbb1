"""The explorer inline in a notebook, for real: JupyterLab on 127.0.0.1 (a free port, a token), a notebook
opened in Chromium, its cell run, a stroke drawn on the widget's pad, and the guess and the nudges
seen, computed by the kernel through anywidget (no explorer server, no port of its own).

The notebook is written by the test, into a temporary folder, with small fake digits
(explore_fixtures.py): no MNIST download. A screenshot is kept in runs/test-artifacts/notebook/.
"""
import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from conftest import missing
from explore_fixtures import draw_stroke
from pictures import gif_frames

TESTS = Path(__file__).resolve().parent
ARTIFACTS = TESTS.parent / "runs" / "test-artifacts" / "notebook"

HELPER = """\
import sys
sys.path.insert(0, {tests!r})  # the tests' fake digits (the notebook's cell shows no machine path)
from explore_fixtures import bar_data, lively_network
"""

CELL = """\
from explore_helper import bar_data, lively_network
from nn.explore import Explorer

net = lively_network()
explorer = Explorer(net, data=bar_data())
explorer"""


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_notebook(path, source):
    cell = {"cell_type": "code", "execution_count": None, "id": "explorer", "metadata": {}, "outputs": [],
            "source": source}
    notebook = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                             "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    path.write_text(json.dumps(notebook))


def wait_for_lab(url, process, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"JupyterLab exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer {url} in {seconds} s")


@pytest.fixture
def lab(tmp_path):
    """JupyterLab serving tmp_path, headless, on a free port of 127.0.0.1 with a token; stopped after."""
    for module in ("jupyterlab", "anywidget", "ipykernel"):
        try:
            __import__(module)
        except ImportError:
            missing(f"needs the python package {module} (pip install -e '.[test]')")
    port, token = free_port(), secrets.token_hex(16)
    command = [sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
               f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={tmp_path}",
               "--ServerApp.port_retries=0", "--LabApp.news_url=", "--LabApp.check_for_updates_class="
               "jupyterlab.NeverCheckForUpdate"]
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        command.append("--allow-root")  # CI runs as root
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(tmp_path / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(tmp_path / ".run")}
    log = open(tmp_path / "lab.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_lab(f"{base}/api/status?token={token}", process)
        yield base, token, tmp_path
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


def test_the_explorer_inline_in_jupyterlab(lab, browser):
    base, token, folder = lab
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    (folder / "explore_helper.py").write_text(HELPER.format(tests=str(TESTS)))
    write_notebook(folder / "explore.ipynb", CELL)
    page = browser.new_page(viewport={"width": 1024, "height": 768})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    console = []
    page.on("console", lambda message: console.append(f"{message.type}: {message.text}"))
    try:
        page.goto(f"{base}/lab/tree/explore.ipynb?token={token}")
        cell = page.locator(".jp-Cell").first
        cell.wait_for(timeout=120_000)
        page.get_by_text("Python 3 (ipykernel) | Idle").wait_for(timeout=120_000)  # the kernel is up
        news = page.get_by_role("button", name="No", exact=True)  # "notified about official Jupyter news?"
        if news.count():
            news.click()
        page.keyboard.press("Control+b")  # the file browser closed: room for the notebook
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.get_by_text("Run All Cells", exact=True).click()

        # the widget: the page's markup in a shadow root (playwright's locators look inside), wired up
        host = page.locator(".jp-OutputArea-output [data-ready=true]")
        host.wait_for(timeout=60_000)
        outputs = page.locator("#outputs tr")
        page.wait_for_function("() => window.explorerTimings && window.explorerTimings.length > 0", timeout=60_000)
        assert outputs.count() == 11

        pad = page.locator("#pad")
        pad.scroll_into_view_if_needed()
        before = page.evaluate("window.explorerTimings.length")
        draw_stroke(page, pad)
        page.wait_for_function(f"window.explorerTimings.length > {before}", timeout=60_000)
        assert page.locator("#picked").inner_text().startswith("your drawing")
        # the drawing's target: then the nudges it wants
        before = page.evaluate("window.explorerTimings.length")
        page.locator("#targets button[data-digit='1']").click()
        page.wait_for_function(f"window.explorerTimings.length > {before}", timeout=60_000)
        assert page.locator("#network text.guess").count() == 2  # the guessed output's label and value
        arrows = page.locator("#network path[d^='M']")
        assert arrows.count() >= 5  # the nudges the outputs want, drawn as arrows
        page.wait_for_function("() => { const host = document.querySelector('.jp-OutputArea-output [data-ready=true]');"
                               " return host.shadowRoot.querySelectorAll('#outputs tr td:last-child').length === 10; }")
        nudges = page.locator("#outputs tr td:last-child").all_inner_texts()
        assert len(nudges) == 10 and all(n and "0.0000" not in n for n in nudges)
        assert page.locator("#check.ok").count() == 1
        page.locator("#network").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "jupyterlab.png")

        # the zoom's Save walk (GIF) in the notebook: slides.js and its GIF encoder came as the widget's modules
        page.locator("#network .neuron[data-layer='2'][data-neuron='0']").click()
        page.locator("#zoom-stepper[data-shown='1'] svg").wait_for(timeout=60_000)
        with page.expect_download(timeout=60_000) as download:
            page.locator("#zoom-gif").click()
        frames, _ = gif_frames(download.value.path())
        steps = int(page.locator("#zoom-counter").inner_text().split("/")[1])
        assert len(frames) == steps and {f.size for f in frames} == {(1024, frames[0].size[1])}

        # training in the kernel's thread: the notebook stays free, and the widget's network is `net` itself
        page.locator("#step").click()
        page.wait_for_function("() => document.querySelector('.jp-OutputArea-output [data-ready=true]')"
                               ".shadowRoot.getElementById('train-status').textContent.includes('1')", timeout=60_000)
        assert not errors, errors
    except Exception:
        page.screenshot(path=ARTIFACTS / "failed.png")
        print("\n".join(console[-30:] + errors), "\n", (folder / "lab.log").read_text()[-3000:])
        raise
    finally:
        page.close()
