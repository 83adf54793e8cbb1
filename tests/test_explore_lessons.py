"""The explorer teaches no wrong lessons, shows the wishes on the network, and fits a projector.

Each test reads the page in Debian's Chromium at 1024x768 as a learner would see it: what is drawn,
at which size, where, with which scale, and compares it with numbers computed here, from the
server's API or from numpy, never with the page's own output copied into the test.
"""
import re

import numpy as np
import pytest

from explore_fixtures import Client, bar_data, gated_data, running, session_with
from nn.explore.session import Session
from nn.nudges import sigmoid

VIEWPORT = {"width": 1024, "height": 768}


@pytest.fixture(scope="module")
def data():
    return bar_data()


@pytest.fixture(scope="module")
def trained(data):
    """A network trained on the bar digits until it reads them (its nudges are then small)."""
    session = Session(data)
    for _ in range(400):  # 100% of the bar digits after about 200
        session.trainer.step()
    return session.net


def opened(browser, server, query=""):
    page = browser.new_page(viewport=VIEWPORT)
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.errors = errors
    page.goto(server.url + query)
    page.wait_for_selector("body[data-ready=true]", timeout=30_000)
    page.wait_for_function("document.querySelectorAll('#outputs tr').length === 11")
    return page


def draw_stroke(page):
    box = page.locator("#pad").bounding_box()
    count = page.evaluate("window.explorerTimings.length")
    page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * 0.2)
    page.mouse.down()
    for i in range(1, 11):
        page.mouse.move(box["x"] + box["width"] * 0.5, box["y"] + box["height"] * (0.2 + 0.06 * i))
    page.mouse.up()
    page.wait_for_function(f"window.explorerTimings.length > {count}")
    page.wait_for_timeout(300)  # the answer to the stroke's end


DRAWN_ARROWS = """() => [...document.querySelectorAll('#network path')]
    .filter((p) => (p.getAttribute('d') || '').trim() !== '').length"""


# --- 1. no wrong lessons ---

def test_a_drawing_has_no_target_until_the_learner_says_which_digit(browser, data):
    with running(session_with(data=data)) as server:
        page = opened(browser, server)
        label = int(data[3][0])
        # a picked digit takes its true label, and only that
        assert page.locator("#targets button.chosen").inner_text() == str(label)
        assert all(page.locator("#targets button").nth(d).is_disabled() for d in range(10))
        assert page.evaluate(DRAWN_ARROWS) > 0
        draw_stroke(page)
        page.wait_for_selector("#outputs", state="hidden")
        # a drawing: the guess and the activations, no nudge anywhere, and the page says why
        assert page.locator("#targets button.chosen").count() == 0
        assert page.evaluate(DRAWN_ARROWS) == 0, "arrows for a target nobody chose"
        assert page.locator("#network text.guess").count() >= 1
        assert "which digit" in page.inner_text("#summary").lower()
        assert "target" in page.inner_text("#walk-text")
        assert page.is_hidden("#outputs") and page.is_visible("#no-target")
        # the learner says it is a 4: the nudges are those for the target 4
        page.click("#targets button[data-digit='4']")
        page.wait_for_function("document.querySelector('#outputs tr.target td')?.textContent === '4'")
        assert page.evaluate(DRAWN_ARROWS) > 0
        assert page.locator("#targets button.chosen").inner_text() == "4"
        # the 4's row wants to go up, the others down
        nudges = page.eval_on_selector_all("#outputs tr td:last-child", "cells => cells.map(c => c.textContent)")
        assert nudges[4].startswith("+") and all(n.startswith("\u2212") for i, n in enumerate(nudges) if i != 4)
        assert page.errors == []


def largest_bar_share(page):
    """The widest output bar's share of its half of the box (1: it fills it)."""
    return page.evaluate("""() => Math.max(...[...document.querySelectorAll('#outputs .barbox')].map((box) =>
        box.querySelector('span').getBoundingClientRect().width / (box.getBoundingClientRect().width / 2)))""")


def test_output_bars_are_scaled_by_the_largest_nudge_in_view(browser, data, trained):
    with running(session_with(model=trained, data=data)) as server:
        page = opened(browser, server)
        _, example = Client(server.url).post("/api/example", {"pixels": _pixels(server, 0), "target": int(data[3][0])})
        largest = max(abs(d) for d in example["da"][3])
        assert largest < 0.5  # the trained network reads it: small nudges, which a fixed ±2 scale would hide
        assert largest_bar_share(page) == pytest.approx(1.0, abs=0.02)
        assert fmt(largest) in page.inner_text("#outputs caption")


def _pixels(server, index):
    return Client(server.url).post("/api/digit", {"set": "test", "index": index})[1]["pixels"]


def signed(x, digits=3):
    return "0" if x == 0 else ("+" if x > 0 else "\u2212") + fmt(abs(x), digits)


def fmt(x, digits=3):
    """format.js's fmt: `digits` significant digits, and an exponent below 1e-3 (6.2e-4)."""
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e4:
        return f"{float(f'{x:.{digits}g}'):g}"
    return re.sub(r"e([+-])0*(\d)", lambda m: f"e{'-' if m[1] == '-' else ''}{m[2]}", f"{x:.{digits - 1}e}")


def test_first_layer_nudge_images_share_one_scale_unless_asked(browser, data):
    with running(session_with(data=data)) as server:
        page = opened(browser, server)
        _, example = Client(server.url).post("/api/example", {"pixels": _pixels(server, 0), "target": int(data[3][0])})
        from nn.explore.wants import unpacked
        own = np.abs(unpacked(example["dw1"])).max(axis=1)
        brightest = """() => [...document.querySelectorAll('#first canvas')].map((canvas) => {
            const data = canvas.getContext('2d').getImageData(0, 0, 28, 28).data;
            let m = 0; for (let i = 0; i < data.length; i += 4) m = Math.max(m, data[i], data[i + 1], data[i + 2]);
            return m; })"""
        shared = np.array(page.evaluate(brightest))
        assert np.allclose(shared, np.round(255 * own / own.max()), atol=2), (shared, own)
        assert shared.min() < 200  # the nudges differ, and so must their images
        assert "one scale for all" in page.inner_text("#first-scale").lower()
        page.check("#own-scale")  # the option, labelled as such: each image to its own scale
        assert "each image to its own scale" in page.inner_text("#wants-panel")
        assert np.all(np.array(page.evaluate(brightest))[own > 0] == 255)


def accuracy(net, images, labels):
    a = images / 255.0
    for w, b in zip(net.weights, net.biases):
        a = sigmoid(a @ w.data.T + b.data)
    return float(np.mean(np.argmax(a, axis=1) == labels))


def test_the_badge_says_how_long_it_trained_and_how_well_it_reads(browser, data, trained):
    with running(session_with(model=trained, data=data)) as server:
        page = opened(browser, server)
        badge = page.inner_text("#model-name")
        assert "trained model" in badge and f"{100 * accuracy(trained, *data[2:]):.1f}%" in badge
        assert "after epoch 0" not in page.inner_text("body")  # the loaded model trained for more than that
        page.click("#use-untrained")
        page.wait_for_function("document.getElementById('model-name').textContent.startsWith('untrained')")
        page.click("#step")
        page.wait_for_function("window.explorerTraining.costs.length === 1")
        page.wait_for_function("document.getElementById('model-name').textContent.includes('1 step')")
        page.wait_for_function("!document.getElementById('model-name').textContent.includes('measuring')")
        session = server.session
        badge = page.inner_text("#model-name")
        assert "1 steps" not in badge and "untrained" not in badge
        assert f"{100 * accuracy(session.net, *data[2:]):.1f}%" in badge
        assert "1 step " in page.inner_text("#train-status") and "1 steps" not in page.inner_text("#train-status")


def test_while_a_score_is_measured_the_badge_says_so_and_gives_the_last_with_its_step(browser):
    data, gate = gated_data()  # scoring the test digits waits while the gate is closed
    with running(Session(data)) as server:
        page = opened(browser, server)
        badge = lambda: page.inner_text("#model-name")  # noqa: E731
        before = accuracy(server.session.net, *data[2:])
        gate.clear()
        page.click("#step")
        page.wait_for_function("window.explorerTraining.costs.length === 1")
        page.wait_for_function("document.getElementById('model-name').textContent.includes('1 step')")
        assert badge() == f"trained here for 1 step \u00b7 test accuracy {100 * before:.1f}% at step 0, measuring now\u2026"
        gate.set()
        page.wait_for_function("!document.getElementById('model-name').textContent.includes('measuring')")
        after = accuracy(server.session.net, *data[2:])
        assert badge() == f"trained here for 1 step \u00b7 test accuracy {100 * after:.1f}%"
        assert not page.errors


def test_with_no_test_digits_the_badge_claims_no_accuracy(browser, data):
    with running(Session((*data[:2], data[2][:0], data[3][:0]))) as server:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=30_000)
        page.wait_for_function("document.getElementById('model-name').textContent.startsWith('untrained')")
        assert page.inner_text("#model-name") == "untrained \u00b7 no test digits to score"  # not "0.0%"


def test_weights_that_cannot_be_scored_get_a_badge_that_says_so(browser, data):
    session = Session(data)
    with session.lock:  # weights so large that w·x+b overflows (a huge step by hand could make them)
        session.net.weights[0].data = np.full_like(session.net.weights[0].data, 1e308)
    with running(session) as server:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(server.url)
        page.wait_for_function("document.getElementById('model-name').textContent.includes('could not be scored')",
                               timeout=30_000)
        assert page.inner_text("#model-name") == "untrained \u00b7 the test digits could not be scored"
        assert "overflows" in page.get_attribute("#model-name", "title")


def test_the_cost_axis_follows_the_curve_not_its_first_point(browser, data):
    with running(session_with(data=data)) as server:
        page = opened(browser, server)
        costs = [2.3] + [0.2] * 3000
        top = page.evaluate("""(costs) => {
            const view = window.explorerTraining;
            view.update({ costs, accuracy: [[0, 0.1]], epoch: 1, batch: 0, batches_per_epoch: 600, steps: costs.length,
                          running: false, settings: "" }, 0);
            return view.costTop; }""", costs)
        width = page.evaluate("document.getElementById('cost-chart').width") - 68
        per = -(-len(costs) // width)
        means = [np.mean(costs[i:i + per]) for i in range(0, len(costs), per)]
        assert top == pytest.approx(max(means)) and top < 1


# --- 2. the wishes flow back on the network itself ---

def wishes_drawn(page, layer):
    """{neuron: signed arrow length in px (up +)} for the arrows drawn beside one layer's neurons."""
    return page.evaluate("""(layer) => Object.fromEntries([...document.querySelectorAll(
        `#network path.wish[data-layer='${layer}']`)].map((p) => {
            const d = p.getAttribute('d') || '';
            const n = d.match(/-?[0-9.]+/g);
            if (!n) return [p.dataset.neuron, 0];
            const tail = Number(n[1]), tip = Number(n[3]);
            return [p.dataset.neuron, tail - tip]; }))""", layer)


def test_every_layer_shows_its_wishes_on_one_printed_scale(browser, data):
    with running(session_with(data=data)) as server:
        page = opened(browser, server)
        _, example = Client(server.url).post("/api/example", {"pixels": _pixels(server, 0), "target": int(data[3][0])})
        scales = page.eval_on_selector_all("#network text.scale", "texts => texts.map(t => t.lastChild.textContent)")
        for layer in (1, 2, 3):
            wishes = -np.array(example["da"][layer])
            drawn = wishes_drawn(page, layer)
            lengths = np.array([drawn[str(j)] for j in range(len(wishes))])
            assert np.all(np.sign(lengths[np.abs(lengths) >= 1]) == np.sign(wishes[np.abs(lengths) >= 1]))
            longest = np.argmax(np.abs(wishes))
            # one scale per layer: the longest arrow is the largest wish, the others in proportion
            big = np.abs(lengths) >= 1
            ratios = lengths[big] / wishes[big]
            assert np.allclose(ratios, ratios[0], rtol=0.02), (layer, ratios)
            assert np.argmax(np.abs(lengths)) == longest
            assert scales[layer - 1] == f"\u2195 {fmt(np.abs(wishes).max(), 2)}"  # printed under the layer


def test_the_walk_back_moves_picture_heatmaps_and_words_together(browser, data):
    with running(session_with(data=data)) as server:
        page = opened(browser, server)
        page.click("#network .neuron[data-layer='1'][data-neuron='2']")
        page.mouse.move(2, 300)
        assert page.is_visible("#lens")  # a chosen first-layer neuron's weights stay shown...
        steps = []
        for _ in range(5):
            page.click("#walk-next")
            steps.append({
                "text": page.inner_text("#walk-text"),
                "arrows": {layer: sum(v != 0 for v in wishes_drawn(page, layer).values()) for layer in (1, 2, 3)},
                "rows": page.locator(".heatrow.each.now").count(), "sums": page.locator(".heatrow.sum.now").count(),
            })
        assert page.is_hidden("#lens")  # ...but not over the wishes walked back
        assert [s["text"].split(" \u00b7 ")[0] for s in steps] == [f"Step {i} of 5" for i in range(1, 6)]
        # outputs; layer 2 wish by wish (10 rows), then their sum; layer 1 wish by wish (16 rows), then the sum
        assert [s["rows"] for s in steps] == [0, 10, 0, 16, 0] and [s["sums"] for s in steps] == [0, 0, 1, 0, 1]
        assert [s["arrows"][2] > 0 for s in steps] == [False, False, True, True, True]
        assert [s["arrows"][1] > 0 for s in steps] == [False, False, False, False, True]
        assert all(s["arrows"][3] > 0 for s in steps)
        assert page.is_disabled("#walk-next")
        # in presenter mode the arrow keys walk
        page.keyboard.press("p")
        page.keyboard.press("ArrowLeft")
        assert page.inner_text("#walk-text").startswith("Step 4 of 5")


def test_lines_can_show_the_weight_nudges_and_say_fire_together(browser, data):
    with running(session_with(data=data)) as server:
        page = opened(browser, server)
        target = int(data[3][0])
        _, example = Client(server.url).post("/api/example", {"pixels": _pixels(server, 0), "target": target})
        from nn.explore.wants import unpacked
        page.check("#edge-nudges")
        nudges = -unpacked(example["dw"][3])
        widths = np.array(page.evaluate("""() => [...document.querySelectorAll('#network line')]
            .slice(-160).map((l) => Number(l.getAttribute('stroke-width')))""")).reshape(10, 16)
        colours = page.evaluate("""() => [...document.querySelectorAll('#network line')]
            .slice(-160).map((l) => l.getAttribute('stroke'))""")
        assert np.allclose(widths, 0.3 + 3.5 * np.abs(nudges) / np.abs(nudges).max(), atol=0.01)
        assert all((c == "#3b82f6") == (v >= 0) for c, v in zip(colours, nudges.ravel()))
        text = page.inner_text("#walk-text")
        assert "fire together wire together" in text
        below = np.array(example["a"][2])
        bright, dim = int(np.argmax(below)), int(np.argmin(below))
        j = int(np.argmax(np.abs(example["dz"][3])))  # the output whose weights move most
        assert (f"to output {j}, the weight from neuron {bright} (a = {fmt(below[bright])}) gets {signed(nudges[j, bright])}, "
                f"from neuron {dim} (a = {fmt(below[dim])}) {signed(nudges[j, dim])}") in text
        assert abs(nudges[j, bright]) == np.abs(nudges[j]).max()  # what the words claim is so


# --- 3. fit for a projector ---

SMALLEST_TEXT = """() => {
  const found = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode, element = node.parentElement;
    if (!node.textContent.trim() || element.closest('title')) continue;
    const box = element.getBoundingClientRect(), style = getComputedStyle(element);
    if (!box.width || !box.height || style.visibility === 'hidden') continue;
    let size = parseFloat(style.fontSize);
    if (element.ownerSVGElement) { const m = element.getScreenCTM(); size *= Math.hypot(m.a, m.b); }
    found.push([size, node.textContent.trim().slice(0, 40)]);
  }
  found.sort((a, b) => a[0] - b[0]);
  return found.slice(0, 3);
}"""
# (the zoom's stepper view included: its graph's text is measured as drawn, through its scale)


def box(page, selector):
    return page.locator(selector).first.bounding_box()


def assert_readable_and_above_the_fold(page, state):
    smallest = page.evaluate(SMALLEST_TEXT)
    assert smallest[0][0] >= 18, (state, smallest)
    for selector in ("#network", "#network text.guess", "#summary", "#targets", "#network text.scale"):
        b = box(page, selector)
        assert b is not None and b["y"] >= 0 and b["y"] + b["height"] <= VIEWPORT["height"], (state, selector, b)
    header = box(page, "header")
    for button in page.locator("header button").all():
        b = button.bounding_box()
        assert b["x"] + b["width"] <= VIEWPORT["width"] and b["y"] + b["height"] <= header["y"] + header["height"]
    return smallest[0][0], header["height"]


def test_fit_for_a_projector_in_every_state(browser, data, trained):
    with running(session_with(model=trained, data=data)) as server:
        page = opened(browser, server)
        sizes = {"trained": assert_readable_and_above_the_fold(page, "trained")}
        page.click("#use-untrained")
        page.wait_for_function("document.getElementById('model-name').textContent.startsWith('untrained')")
        sizes["untrained"] = assert_readable_and_above_the_fold(page, "untrained")
        draw_stroke(page)
        sizes["drawing"] = assert_readable_and_above_the_fold(page, "drawing")
        page.click("#targets button[data-digit='3']")
        page.wait_for_timeout(300)
        # the lens of every first-layer neuron: beside the network, never over the input digit
        digit = box(page, "#network image")
        for j in range(16):
            page.hover(f"#network .neuron[data-layer='1'][data-neuron='{j}']")
            lens = box(page, "#lens")
            assert page.is_visible("#lens")
            assert lens["x"] >= digit["x"] + digit["width"] or lens["y"] >= digit["y"] + digit["height"] \
                or lens["y"] + lens["height"] <= digit["y"], (j, lens, digit)
        page.click("#network .neuron[data-layer='1'][data-neuron='2']")
        page.wait_for_selector("#zoom-check.ok")  # the zoom has answered
        page.mouse.move(2, 300)
        sizes["zoom"] = assert_readable_and_above_the_fold(page, "zoom")
        assert page.is_visible("#lens")  # the chosen neuron's lens stays, until training starts
        heights = [box(page, "header")["height"]]
        page.click("#train")
        page.wait_for_function("window.explorerTraining.costs.length > 20", timeout=30_000)
        assert page.is_hidden("#lens")
        for _ in range(5):
            sizes["training"] = assert_readable_and_above_the_fold(page, "training")
            heights.append(box(page, "header")["height"])
            page.wait_for_timeout(200)
        page.click("#pause")
        assert len(set(heights)) == 1, heights  # the header never wraps or jumps
        assert page.errors == []


def test_presenter_mode_larger_type_fewer_controls(browser, data):
    with running(session_with(data=data)) as server:
        page = opened(browser, server, "?presenter=1")
        assert page.evaluate("document.body.classList.contains('presenter')")
        assert page.evaluate("parseFloat(getComputedStyle(document.body).fontSize)") > 18
        smallest = page.evaluate(SMALLEST_TEXT)[0][0]
        assert smallest >= 18
        for hidden in ("#index", "#reset", "#use-untrained", "#zoom-panel", "#clear"):
            assert page.is_hidden(hidden), hidden
        page.keyboard.press("ArrowRight")
        assert page.inner_text("#walk-text").startswith("Step 1 of 5")
        page.keyboard.press("p")
        assert not page.evaluate("document.body.classList.contains('presenter')")
        assert page.is_visible("#index")


# --- the loaded model's own history ---

def saved_run(directory, net, epochs):
    """model.npz and the checkpoint.npz beside it, as demos/train_mnist.py leaves them."""
    from nn.optim import SGD
    from nn.train import save_checkpoint
    history = [{"epoch": e, "seconds": 0.1, "cost": 1.0 / e, "test_accuracy": 0.5 + 0.01 * e} for e in range(1, epochs + 1)]
    save_checkpoint(directory / "checkpoint.npz", net, SGD(net.parameters(), lr=3.0), {"seed": 0}, history)
    net.save(directory / "model.npz")
    return history


def test_own_history_is_the_checkpoint_of_these_very_weights(tmp_path, trained):
    from nn.explore.session import own_history
    from nn.fast import FastMLP
    history = saved_run(tmp_path, trained, 3)
    assert own_history(tmp_path / "model.npz", trained) == [
        {key: h[key] for key in ("epoch", "cost", "test_accuracy")} for h in history]
    other = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid", seed=5)
    assert own_history(tmp_path / "model.npz", other) is None  # a checkpoint of another run
    (tmp_path / "checkpoint.npz").write_bytes(b"not a checkpoint")
    assert own_history(tmp_path / "model.npz", trained) is None
    assert own_history(tmp_path / "nowhere" / "model.npz", trained) is None


def test_the_badge_and_chart_tell_the_loaded_models_own_history(browser, data, trained, tmp_path):
    from nn.explore.session import own_history
    saved_run(tmp_path, trained, 3)
    with running(Session(data, trained, own_history(tmp_path / "model.npz", trained))) as server:
        page = opened(browser, server)
        assert page.inner_text("#model-name").startswith("trained model (3 epochs) \u00b7")
        assert "the loaded model's own 3 epochs" in page.inner_text("#accuracy-caption")
        # the chart draws the model's own epochs in grey (#9ca3af), before those trained here
        grey = page.evaluate("""() => { const c = document.getElementById('accuracy-chart');
            const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0;
            for (let i = 0; i < d.length; i += 4) if (d[i] === 156 && d[i + 1] === 163 && d[i + 2] === 175) n++;
            return n; }""")
        assert grey > 3 * 40  # three squares of 8x8, and the line between them
