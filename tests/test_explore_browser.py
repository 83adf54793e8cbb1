"""The explorer's page in a real headless browser (Debian's chromium, driven by playwright).

The server runs in this process on a free port with small fake digits (explore_fixtures.py). The
test draws a stroke with mouse events, picks a test digit, zooms into a neuron, and trains until
the accuracy rises; a screenshot of each stage is kept in runs/test-artifacts/explorer/. No console errors are allowed, and nothing is fetched from
anywhere but the server.
"""
import time
from pathlib import Path

from explore_fixtures import draw_stroke, bar_data, running, session_with

ARTIFACTS = Path(__file__).resolve().parent.parent / "runs" / "test-artifacts" / "explorer"


def test_draw_pick_zoom_and_train(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    data = bar_data()
    with running(session_with(data=data)) as server:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        errors, requests = [], []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
        page.on("request", lambda request: requests.append(request.url))
        polls = []  # when the page asked for the network's state
        page.on("request", lambda request: polls.append(time.monotonic()) if "/api/state" in request.url else None)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.wait_for_function("document.querySelectorAll('#outputs tr').length === 11")
        assert page.inner_text("#model-name").startswith("untrained \u00b7")
        page.screenshot(path=ARTIFACTS / "1-loaded.png")

        # draw a stroke: the guess and the nudges appear for the drawing
        timings = page.evaluate("window.explorerTimings.length")
        draw_stroke(page)
        page.wait_for_function(f"window.explorerTimings.length > {timings}")
        assert page.inner_text("#picked").startswith("your drawing")
        page.wait_for_function("document.querySelector('#network text.guess') !== null")
        received = page.evaluate("""() => {
            const data = document.getElementById('received').getContext('2d').getImageData(0, 0, 28, 28).data;
            let lit = 0; for (let i = 0; i < data.length; i += 4) if (data[i] > 0) lit++; return lit; }""")
        assert 20 < received < 400  # a stroke, fitted into the 20x20 box
        page.wait_for_selector("#outputs", state="hidden")  # no nudges until the learner says which digit it is
        page.click("#targets button[data-digit='1']")
        page.wait_for_function("document.querySelector('#outputs tr.target td')?.textContent === '1'")
        nudges = page.eval_on_selector_all("#outputs tr td:last-child", "cells => cells.map(c => c.textContent)")
        assert len(nudges) == 10 and all(n and "0.0000" not in n for n in nudges)
        assert "agree" in page.inner_text("#check") and page.locator("#check.ok").count() == 1
        page.screenshot(path=ARTIFACTS / "2-drawn.png")

        # pick a test digit by index
        page.fill("#index", "5")
        page.click("#go")
        page.wait_for_function("document.getElementById('picked').textContent.startsWith('test digit 5 ')")
        assert f'a "{data[3][5]}"' in page.inner_text("#picked")
        assert page.inner_text("#targets button.chosen") == str(data[3][5])
        page.screenshot(path=ARTIFACTS / "3-picked.png")

        # hovering over a first-layer neuron shows its 784 weights; choosing one keeps them shown
        assert page.is_hidden("#lens")
        page.hover("#network .neuron[data-layer='1'][data-neuron='3']")
        assert page.is_visible("#lens") and "Neuron 3 of layer 1" in page.inner_text("#lens p")
        page.mouse.move(5, 5)
        assert page.is_hidden("#lens")
        page.click("#network .neuron[data-layer='1'][data-neuron='4']")
        page.mouse.move(5, 5)
        assert page.is_visible("#lens") and "Neuron 4 of layer 1" in page.inner_text("#lens p")
        page.wait_for_function("document.getElementById('zoom-title').textContent.startsWith('Neuron 4 of layer 1')")

        # zoom into an output neuron: its backward pass, checked against the layer view (the stepping
        # itself is the stepper view's, tested with it)
        page.click(f"#network .neuron[data-layer='3'][data-neuron='{data[3][5]}']")
        page.wait_for_function(f"document.getElementById('zoom-title').textContent.startsWith('Neuron {data[3][5]} of layer 3')")
        page.wait_for_selector("#zoom-check.ok")
        page.locator("#zoom-panel").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "4-neuron.png")

        # train: the cost falls and the accuracy rises, in the page and in a second tab
        other = browser.new_page(viewport={"width": 1024, "height": 768})
        other.on("pageerror", lambda error: errors.append(str(error)))
        other.goto(server.url)
        other.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.click("#train")
        started = time.monotonic()
        page.wait_for_function("window.explorerTraining.accuracy.slice(-1)[0][1] > 0.9", timeout=60_000)
        deadline = time.monotonic() + 10  # small data can pass 90% before a second poll: give it time to ask again
        while sum(t >= started for t in polls) < 2 and time.monotonic() < deadline:
            page.wait_for_timeout(50)
        page.click("#pause")
        stopped = time.monotonic()
        page.wait_for_function("document.getElementById('pause').disabled")  # paused
        costs = page.evaluate("window.explorerTraining.costs")
        accuracy = page.evaluate("window.explorerTraining.accuracy")
        assert accuracy[0][0] == 0 and accuracy[0][1] < 0.3 and accuracy[-1][1] > 0.9
        assert sum(costs[-10:]) / 10 < sum(costs[:10]) / 10 / 2
        assert sum(started <= t <= stopped for t in polls) >= 2  # it kept polling (the rate: benchmarks/explorer.py)
        # the other tab saw the same run: the same costs, once its next poll has come
        # (an epoch's accuracy comes a moment after its last step's cost: a poll between sees the cost alone)
        other.wait_for_function(f"window.explorerTraining.costs.length === {len(costs)} && "
                                f"window.explorerTraining.accuracy.length === {len(accuracy)}", timeout=30_000)
        assert other.evaluate("window.explorerTraining.costs") == costs
        assert other.evaluate("window.explorerTraining.accuracy") == accuracy
        page.wait_for_selector("#batch table")
        assert page.locator("#batch .check.ok").count() == 1
        page.locator("#training-panel").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "5-trained.png")
        page.screenshot(path=ARTIFACTS / "6-whole-page.png", full_page=True)
        page.click("#reset")
        page.wait_for_function("window.explorerTraining.costs.length === 0")
        assert page.inner_text("#model-name").startswith("untrained \u00b7")
        page.click("#step")  # one mini-batch
        page.wait_for_function("window.explorerTraining.costs.length === 1")

        # one it gets wrong: the guess marked in the network is not the label
        page.click("#wrong")
        page.wait_for_function("!document.getElementById('picked').textContent.startsWith('test digit 5 ')")
        page.wait_for_function("document.querySelector('#outputs tr.target td').textContent === "
                               "document.querySelector('#targets button.chosen').textContent")
        label = int(page.inner_text("#targets button.chosen"))
        guess = int(page.text_content("#network text.guess >> nth=0"))
        assert guess != label and f'a "{label}"' in page.inner_text("#picked")

    assert errors == []
    assert all(url.startswith(server.url) or url.startswith("data:") for url in requests), requests
