"""The many-examples panel in Chromium at 1024x768: what the page shows is the mean of the examples' gradients.

Each number checked here is read off the page and compared with what the server says of each example
on its own (POST /api/example, one backward() each): two chosen digits, then a whole mini-batch of 100.
"""
from pathlib import Path

import numpy as np

from explore_fixtures import Client, bar_data, lively_network, running, session_with
from nn.explore.wants import unpacked

ARTIFACTS = Path(__file__).resolve().parent.parent / "runs" / "test-artifacts" / "average"


def pick(page, index):
    page.fill("#index", str(index))
    page.click("#go")
    page.wait_for_function(f"document.getElementById('picked').textContent.startsWith('test digit {index} ')")


def shown_average(page):
    """The average column's output nudges, at the precision the page holds them."""
    return page.eval_on_selector_all("#avg-table td.avg[data-value]", "cells => cells.map(c => Number(c.dataset.value))")


def number_stays_on_one_line(page, selector):
    """Whether the check's number ("9.1e-20") is on one line however narrow its sentence is made: it broke after 'e-'."""
    return page.evaluate("""selector => {
        const check = document.querySelector(selector), number = check.querySelector(".number");
        if (!number || !number.textContent) return false;
        const width = check.style.width;
        let whole = true;
        for (let w = 120; w <= 1000; w += 3) {
            check.style.width = `${w}px`;
            whole = whole && number.getClientRects().length === 1;
        }
        check.style.width = width;
        return whole;
    }""", selector)


def test_two_examples_then_a_mini_batch_then_one_step(browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        client = Client(server.url)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        assert page.locator("#avg-step").is_disabled()  # nothing to step by yet

        for index in (3, 8):
            pick(page, index)
            count = page.locator("#avg-table th canvas[data-e]").count()
            page.click("#avg-add")
            page.wait_for_function(f"document.querySelectorAll('#avg-table th canvas[data-e]').length === {count + 1}")
            if count == 0:  # one example: its own nudges, in the singular
                assert page.inner_text("#avg-check").startswith("The average of 1 example's own nudges")
        nudges, images = [], []
        for index in (3, 8):
            _, digit = client.post("/api/digit", {"set": "test", "index": index})
            _, one = client.post("/api/example", {"pixels": digit["pixels"], "target": digit["label"]})
            nudges.append(-np.array(one["da"][3]))
            images.append(-unpacked(one["dw1"]))  # each one's first-layer weight nudges, by its own backward()
        assert np.allclose(shown_average(page), np.mean(nudges, axis=0), rtol=1e-12, atol=1e-15)
        # the weight nudges into the chosen first-layer neuron, painted on one scale: each example's own
        k = int(page.input_value("#avg-neuron"))
        rows = [m[k] for m in images] + [np.mean(images, axis=0)[k]]
        scale = max(np.abs(row).max() for row in rows)
        for which, row in zip(["0", "1", "avg"], rows):
            painted = np.array(page.evaluate(f"""() => Array.from(document.querySelector('#avg-table canvas[data-w="{which}"]')
                .getContext('2d').getImageData(0, 0, 28, 28).data)""")).reshape(784, 4)[:, :3]
            t = np.minimum(1, np.abs(row) / scale)[:, None]
            expected = np.where(row[:, None] >= 0, [90, 150, 255], [255, 80, 80]) * t
            assert np.abs(painted - expected).max() <= 1.01, which
        assert page.locator("#avg-check.ok").count() == 1
        assert number_stays_on_one_line(page, "#avg-check")
        sizes = page.eval_on_selector_all("#average-panel td, #average-panel th, #average-panel p, #average-panel button",
                                          "els => els.map(e => parseFloat(getComputedStyle(e).fontSize))")
        assert min(sizes) >= 18, min(sizes)
        page.locator("#average-panel").scroll_into_view_if_needed()
        page.screenshot(path=ARTIFACTS / "two-examples.png")

        page.click("#avg-fill")
        page.wait_for_function("document.getElementById('avg-summary').textContent.startsWith('100 examples')")
        assert page.locator("#avg-check.ok").count() == 1
        assert ("100 examples' own nudges (the chain rule, for each alone) equals one backward() over the batch"
                in page.inner_text("#avg-check"))

        _, before = client.get("/api/state")
        page.click("#avg-step")
        page.wait_for_function("document.getElementById('avg-after').textContent.includes('The network took this step')")
        _, after = client.get("/api/state")
        assert after["training"]["steps"] == before["training"]["steps"] + 1
        # the mini-batch table of a training step is not rebuilt for weights that moved on: it says why, no error
        page.wait_for_function("document.getElementById('batch').textContent.includes('no training step since')")
        assert page.locator("#batch table").count() == 0 and page.locator("#error").is_hidden()
        costs = page.eval_on_selector_all("#avg-after table tr td", "cells => cells.map(c => c.textContent)")
        assert len(costs) == 16  # 8 examples shown, before and after
        page.screenshot(path=ARTIFACTS / "stepped.png", full_page=True)
        assert errors == []
