"""The explorer's JSON API, every endpoint, against both engines and an independent numpy computation.

The server runs in a thread on a free port with small fake digits (explore_fixtures.py): no
network, no MNIST download. The numbers it sends must equal the scalar engine's backward(), the
Tensor engine's, and the chain rule written out below in plain numpy (itself checked against
finite differences); bad requests must get a 400 with a JSON message and leave the server serving.
"""
import base64
import json
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explore_fixtures import Client, bar_data, lively_network, running, session_with
from mnist_fixtures import idx_files, write_files
from nn.explore import __main__ as cli
from nn.explore.preprocess import to_mnist
from nn.explore.wants import unpacked
from nn.fast import FastMLP
from nn.nudges import by_engine

REPO = Path(__file__).resolve().parent.parent
STATIC = REPO / "nn" / "explore" / "static"


# --- the independent reference: forward and backward in plain numpy, written out here ---


def reference(weights, biases, x, target):
    """{cost, a, da, dz, dw, db} for one example, by the chain rule: σ(z) = 1 / (1 + e^-z), C = Σ (a - y)²."""
    a = [x]
    for w, b in zip(weights, biases):
        a.append(1.0 / (1.0 + np.exp(-(w @ a[-1] + b))))
    y = np.eye(10)[target]
    n = len(weights)
    da, dz, dw, db = {n: 2 * (a[n] - y)}, {}, {}, {}
    for l in range(n, 0, -1):
        dz[l] = da[l] * a[l] * (1 - a[l])
        dw[l], db[l] = np.outer(dz[l], a[l - 1]), dz[l]
        da[l - 1] = weights[l - 1].T @ dz[l]
    return {"cost": float(np.sum((a[n] - y) ** 2)), "a": a, "da": da, "dz": dz, "dw": dw, "db": db}


def matrices(net):
    return [w.data.copy() for w in net.weights], [b.data.copy() for b in net.biases]


def test_the_reference_agrees_with_finite_differences():
    weights, biases = matrices(lively_network())
    x = bar_data()[0][0] / 255
    ref = reference(weights, biases, x, 4)
    h = 1e-6
    for l, j, k in [(1, 3, 100), (2, 5, 7), (3, 4, 11), (3, 0, 2)]:
        up, down = [w.copy() for w in weights], [w.copy() for w in weights]
        up[l - 1][j, k] += h
        down[l - 1][j, k] -= h
        numeric = (reference(up, biases, x, 4)["cost"] - reference(down, biases, x, 4)["cost"]) / (2 * h)
        assert abs(ref["dw"][l][j, k] - numeric) <= 1e-6 * abs(numeric) + 1e-9


@pytest.fixture(scope="module")
def model():
    return lively_network()


@pytest.fixture(scope="module")
def server(model):
    with running(session_with(model)) as server:
        yield server


@pytest.fixture
def client(server):
    return Client(server.url)


# --- /api/example: the heart ---


@settings(max_examples=6, deadline=None)
@given(index=st.integers(0, 199), target=st.integers(0, 9))
def test_example_equals_both_engines_and_numpy(server, model, index, target):
    client = Client(server.url)
    x = bar_data()[2][index] / 255
    status, got = client.post("/api/example", {"pixels": x.tolist(), "target": target})
    assert status == 200
    weights, biases = matrices(model)
    ref = reference(weights, biases, x, target)
    scalar = by_engine(model.to_scalar(), x, np.eye(10)[target])
    close = lambda mine, theirs, tol=1e-12: np.testing.assert_allclose(mine, theirs, rtol=tol, atol=tol)  # noqa: E731
    close(unpacked(got["image"]), x, 1e-7)  # float32 on the wire
    for numbers in (ref, {"cost": scalar.cost, **{key: dict(enumerate(getattr(scalar, key))) for key in
                                                  ("a", "da", "dz", "dw", "db")}}):
        close(got["cost"], numbers["cost"])
        for l in (1, 2, 3):
            close(got["a"][l], numbers["a"][l])
            close(got["da"][l], numbers["da"][l])
            close(got["dz"][l], numbers["dz"][l])
            close(got["db"][l], numbers["db"][l])
        close(unpacked(got["dw"][2]), numbers["dw"][2])
        close(unpacked(got["dw"][3]), numbers["dw"][3])
        close(unpacked(got["dw1"]), numbers["dw"][1], 1e-6)
        close(unpacked(got["da"][0]), numbers["da"][0], 1e-6)
    assert got["guess"] == int(np.argmax(ref["a"][3])) and got["target"] == target
    # each output's wish for the layer below, and their sum: ∂C/∂a of that layer
    for l in (2, 3):
        wishes = unpacked(got["wishes"][l])
        close(wishes, ref["dz"][l][:, None] * weights[l - 1])
        close(wishes.sum(axis=0), ref["da"][l - 1])
    assert got["check"]["agree"] and got["check"]["max_difference"] < 1e-12


@pytest.mark.parametrize("body", [{}, {"target": None}])
def test_without_a_target_only_what_the_network_reads(server, model, body):
    """A drawing nobody has labelled: the activations and the guess, and no nudge against a target nobody chose."""
    x = bar_data()[2][7] / 255
    status, got = Client(server.url).post("/api/example", {"pixels": x.tolist(), **body})
    assert status == 200
    ref = reference(*matrices(model), x, 0)
    for l in (1, 2, 3):
        np.testing.assert_allclose(got["a"][l], ref["a"][l], rtol=1e-12, atol=1e-12)
    assert got["target"] is None and got["guess"] == int(np.argmax(ref["a"][3]))
    assert not {"cost", "da", "dz", "dw", "db", "dw1", "wishes"} & set(got)


def test_a_drawing_is_preprocessed_then_examined(client):
    drawing = np.zeros((112, 112), dtype=np.uint8)
    drawing[20:90, 50:60] = 255  # a "1" off to the side
    drawing[20:90, 60] = 128  # with a grey edge
    status, got = client.post("/api/example", {"drawing": {"size": 112, "ink": ink(drawing)}, "target": 1})
    assert status == 200
    np.testing.assert_allclose(unpacked(got["image"]), to_mnist(drawing / 255), atol=1e-7)


def ink(drawing):
    return base64.b64encode(np.asarray(drawing, dtype=np.uint8).tobytes()).decode()


# --- preprocessing: MNIST's steps, checked against what each step must do ---


def test_preprocessing_scales_a_square_by_block_averages():
    """A 100x100 ink square drawn at 5 pad pixels per box pixel becomes a 20x20 box: exactly block averages."""
    rng = np.random.default_rng(0)
    ink = rng.uniform(0.2, 1.0, (100, 100))
    drawing = np.zeros((140, 140))
    drawing[13:113, 31:131] = ink
    image = to_mnist(drawing).reshape(28, 28)
    blocks = ink.reshape(20, 5, 20, 5).mean(axis=(1, 3))
    rows, columns = np.nonzero(image)
    top, left = rows.min(), columns.min()
    np.testing.assert_allclose(image[top:top + 20, left:left + 20], blocks, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(top=st.integers(0, 150), left=st.integers(0, 150), height=st.integers(3, 120), width=st.integers(3, 120),
       thickness=st.integers(1, 12))
def test_preprocessing_fits_20x20_and_centres_the_mass(top, left, height, width, thickness):
    drawing = np.zeros((280, 280))
    drawing[top:top + height, left:left + width] = 1.0
    drawing[top + thickness:top + height - thickness, left + thickness:left + width - thickness] = 0.0  # a ring
    image = to_mnist(drawing).reshape(28, 28)
    assert image.min() >= 0 and image.max() <= 1
    rows, columns = np.nonzero(image > 1e-12)
    assert rows.max() - rows.min() < 20 and columns.max() - columns.min() < 20  # the 20x20 box
    assert max(rows.max() - rows.min(), columns.max() - columns.min()) >= 18  # filled along its long side
    y, x = np.indices(image.shape)
    centre = (y * image).sum() / image.sum(), (x * image).sum() / image.sum()
    assert abs(centre[0] - 13.5) <= 0.5 + 1e-9 and abs(centre[1] - 13.5) <= 0.5 + 1e-9


def test_preprocessing_does_not_care_where_or_how_big():
    """The same shape drawn at another place and twice the size gives the same image."""
    small, big = np.zeros((280, 280)), np.zeros((280, 280))
    small[10:60, 30:50] = 1.0
    small[10:20, 30:90] = 1.0
    big[100:200, 120:160] = 1.0
    big[100:120, 120:240] = 1.0
    np.testing.assert_allclose(to_mnist(small), to_mnist(big), atol=1e-12)
    assert np.any((to_mnist(small) > 0) & (to_mnist(small) < 1))  # edges not on box pixels are grey: anti-aliased


def test_a_blank_drawing_is_a_blank_image():
    assert not to_mnist(np.zeros((50, 50))).any()


# --- /api/digit ---


def test_digits_by_index_label_and_wrong(client, model):
    data = bar_data()
    status, got = client.post("/api/digit", {"set": "test", "index": 17})
    assert status == 200 and got["index"] == 17 and got["label"] == data[3][17] and got["count"] == 200
    np.testing.assert_allclose(got["pixels"], data[2][17] / 255)
    status, got = client.post("/api/digit", {"set": "train", "label": 7, "start": 50})
    assert got["index"] == 50 + int(np.flatnonzero(data[1][50:] == 7)[0]) and got["label"] == 7
    weights, biases = matrices(model)
    guesses = [int(np.argmax(reference(weights, biases, x / 255, 0)["a"][3])) for x in data[2]]
    wrong = [i for i in range(200) if guesses[i] != data[3][i]]
    status, got = client.post("/api/digit", {"set": "test", "wrong": True, "start": 5})
    assert got["index"] == next(i for i in wrong if i >= 5)
    status, got = client.post("/api/digit", {"set": "test", "wrong": True, "label": 3})
    assert got["label"] == 3 and got["index"] in wrong


# --- /api/neuron: zooming in, the same numbers as the layer view ---


@pytest.mark.parametrize("layer, neuron", [(3, 4), (2, 9), (1, 6)])
def test_a_neurons_steps_match_the_layer_view(client, model, layer, neuron):
    x = bar_data()[2][0] / 255
    status, got = client.post("/api/neuron", {"pixels": x.tolist(), "target": 2, "layer": layer, "neuron": neuron})
    assert status == 200
    ref = reference(*matrices(model), x, 2)
    weights = matrices(model)[0]
    scalar = got["scalar_engine"]
    np.testing.assert_allclose(scalar["dz"], ref["dz"][layer][neuron], rtol=1e-12)
    np.testing.assert_allclose(scalar["db"], ref["db"][layer][neuron], rtol=1e-12)
    np.testing.assert_allclose(unpacked(scalar["dw"]), ref["dw"][layer][neuron], rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(unpacked(scalar["da_below"]), ref["dz"][layer][neuron] * weights[layer - 1][neuron],
                               rtol=1e-12)
    assert got["max_difference"] < 1e-12
    steps = got["steps"]
    assert len(steps) == (4 if layer == 3 else 2)  # C_j = (a - y)², a - y, σ, w·x + b; or σ, w·x + b
    for i, step in enumerate(steps):
        assert step["dot"].lstrip().startswith("digraph")
        assert step["text"].startswith(f"Step {i + 1} / {len(steps)}:")
        assert step["dot"].count("gold") == 1  # the step's node is highlighted
    dz = f"{ref['dz'][layer][neuron]:.4g}"
    assert f"∂C/∂z({layer})_{neuron} = {dz}" in steps[-1]["text"]  # the same number, in words


@pytest.mark.needs("dot")
def test_each_step_is_valid_dot(client):
    import graphviz

    x = bar_data()[2][0] / 255
    _, got = client.post("/api/neuron", {"pixels": x.tolist(), "target": 2, "layer": 2, "neuron": 1})
    for step in got["steps"]:
        assert "<svg" in graphviz.Source(step["dot"]).pipe(format="svg", encoding="utf-8")


# --- /api/state, /api/train, /api/batch ---


def test_state_sends_the_weights(client, model):
    status, got = client.get("/api/state")
    assert status == 200 and got["sizes"] == [784, 16, 16, 10] and got["model"] == "loaded"
    weights, biases = matrices(model)
    np.testing.assert_allclose(unpacked(got["w1"]), weights[0], rtol=1e-6)
    np.testing.assert_array_equal(unpacked(got["w"][2]), weights[1])
    np.testing.assert_array_equal(got["b"][3], biases[2])


def test_training_steps_are_the_demos_sgd(model):
    """One step is SGD at rate 3.0 on the first shuffled batch of 100, computed here in numpy; the
    mini-batch table's average is the step's gradient; untrained and loaded switch the weights."""
    from nn.data import shuffled_batches

    data = bar_data()
    with running(session_with(model, data)) as server:
        client = Client(server.url)
        before = matrices(model)
        status, got = client.post("/api/train", {"action": "step"})
        assert status == 200 and got["training"]["steps"] == 1
        batch = shuffled_batches(len(data[0]), 100, np.random.default_rng([0, 1]))[0]
        grads = [reference(*before, x / 255, int(t)) for x, t in zip(data[0][batch], data[1][batch])]
        np.testing.assert_allclose(got["training"]["costs"], [np.mean([g["cost"] for g in grads])], rtol=1e-12)
        for l in (2, 3):
            mean = np.mean([g["dw"][l] for g in grads], axis=0)
            np.testing.assert_allclose(unpacked(got["w"][l]), before[0][l - 1] - 3.0 * mean, rtol=1e-10, atol=1e-12)

        status, table = client.get("/api/batch")
        assert status == 200 and table["indices"] == batch.tolist()
        assert table["max_difference"] < 1e-12
        for row, name in zip(table["table"], table["weights"]):
            l, j, k = map(int, re.match(r"w\((\d)\)_(\d+),(\d+)", name).groups())
            np.testing.assert_allclose(row, [-g["dw"][l][j, k] for g in grads], rtol=1e-10, atol=1e-15)
            np.testing.assert_allclose(np.mean(row), -np.mean([g["dw"][l][j, k] for g in grads]), rtol=1e-10, atol=1e-15)

        status, got = client.post("/api/train", {"action": "untrained"})
        untrained = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid", seed=0)
        assert got["model"] == "untrained" and got["training"]["steps"] == 0
        np.testing.assert_array_equal(unpacked(got["w"][3]), untrained.weights[2].data)
        accuracy = np.mean(np.argmax([reference(*matrices(untrained), x / 255, 0)["a"][3] for x in data[2]], axis=1)
                           == data[3])
        assert got["training"]["accuracy"] == [[0, pytest.approx(accuracy)]]  # epoch 0: before any training
        status, got = client.post("/api/train", {"action": "loaded"})
        np.testing.assert_array_equal(unpacked(got["w"][3]), before[0][2])


def test_training_in_the_background_learns():
    with running(session_with()) as server:
        client = Client(server.url)
        _, state = client.get("/api/state")
        assert state["model"] == "untrained" and state["has_loaded"] is False
        assert client.post("/api/train", {"action": "start"})[0] == 200
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            _, state = client.get("/api/state")
            if state["training"]["accuracy"][-1][1] > 0.9:  # after 12 to 17 epochs of 10 steps
                break
            time.sleep(0.05)
        assert client.post("/api/train", {"action": "pause"})[1]["training"]["running"] is False
        training = state["training"]
        accuracy = [a for _, a in training["accuracy"]]
        assert [e for e, _ in training["accuracy"]] == list(range(len(accuracy)))  # from epoch 0, each epoch
        assert accuracy[0] < 0.3 and accuracy[-1] > 0.9
        assert np.mean(training["costs"][-10:]) < np.mean(training["costs"][:10])
        _, later = client.get(f"/api/state?since={training['steps']}")
        assert later["training"]["costs"] == [] or later["training"]["steps"] > training["steps"]
        assert client.post("/api/train", {"action": "loaded"})[0] == 400  # nothing was loaded


def test_several_tabs_at_once_while_training(model):
    """Four clients asking at once while training runs: every answer whole, every check passing."""
    from concurrent.futures import ThreadPoolExecutor

    pixels = (bar_data()[2][:4] / 255).tolist()
    with running(session_with(model)) as server:
        assert Client(server.url).post("/api/train", {"action": "start"})[0] == 200

        def tab(i):
            client = Client(server.url)
            answers = [client.post("/api/example", {"pixels": pixels[i], "target": i}) for _ in range(15)]
            answers += [client.get(f"/api/state?since={5 * i}") for _ in range(5)]
            return answers

        with ThreadPoolExecutor(4) as pool:
            answers = [a for tab_answers in pool.map(tab, range(4)) for a in tab_answers]
        _, state = Client(server.url).get("/api/state")
    assert all(status == 200 for status, _ in answers)
    assert all(got["check"]["agree"] for _, got in answers if "check" in got)
    assert state["training"]["steps"] > 0


# --- bad requests: 400 with a JSON message, and the server keeps serving ---

GOOD = {"pixels": [0.5] * 784, "target": 3}
BAD = [
    ("/api/example", b"not json", "not JSON"),
    ("/api/example", b"[1, 2]", "JSON object"),
    ("/api/example", {"target": 3}, "pixels"),
    ("/api/example", {"pixels": [0.5] * 783, "target": 3}, "784"),
    ("/api/example", {"pixels": [0.5] * 783 + [1.5], "target": 3}, "[0, 1]"),
    ("/api/example", {"pixels": [0.5] * 783 + [-0.1], "target": 3}, "[0, 1]"),
    ("/api/example", {"pixels": [0.5] * 783 + ["x"], "target": 3}, "numbers"),
    ("/api/example", {"pixels": [0.5] * 783 + [True], "target": 3}, "numbers"),
    ("/api/example", json.dumps({"pixels": [0.5] * 783 + [float("nan")], "target": 3}).encode(), "[0, 1]"),
    ("/api/example", {"pixels": "0.5", "target": 3}, "784"),
    ("/api/example", {"pixels": [0.5] * 784, "target": 10}, "target"),
    ("/api/example", {"pixels": [0.5] * 784, "target": "3"}, "target"),
    ("/api/example", {"pixels": [0.5] * 784, "target": 2.0}, "target"),
    ("/api/example", {"drawing": {"size": 27, "ink": ink(np.zeros(729))}, "target": 3}, "size"),
    ("/api/example", {"drawing": {"size": 281, "ink": ink(np.zeros(281 * 281))}, "target": 3}, "size"),
    ("/api/example", {"drawing": {"size": 30, "ink": ink(np.zeros(899))}, "target": 3}, "900"),
    ("/api/example", {"drawing": {"size": 30, "ink": "not base64!"}, "target": 3}, "base64"),
    ("/api/example", {"drawing": {"size": 30, "ink": [0] * 900}, "target": 3}, "base64"),
    ("/api/example", {"drawing": {"size": 30}, "target": 3}, "ink"),
    ("/api/example", {"drawing": [0] * 900, "target": 3}, "drawing"),
    ("/api/neuron", {**GOOD, "layer": 0, "neuron": 0}, "layer"),
    ("/api/neuron", {**GOOD, "layer": 4, "neuron": 0}, "layer"),
    ("/api/neuron", {**GOOD, "layer": 2, "neuron": 16}, "neuron"),
    ("/api/neuron", {**GOOD, "layer": 3, "neuron": -1}, "neuron"),
    ("/api/digit", {"set": "test", "index": 200}, "index"),
    ("/api/digit", {"set": "test", "index": -1}, "index"),
    ("/api/digit", {"set": "valid", "index": 0}, "set"),
    ("/api/digit", {"set": "test", "label": 11}, "label"),
    ("/api/digit", {"set": "test", "start": 200, "label": 1}, "start"),
    ("/api/digit", {"set": "test", "wrong": "yes"}, "wrong"),
    ("/api/train", {"action": "explode"}, "action"),
    ("/api/train", {}, "action"),
]


@pytest.mark.parametrize("path, body, words", BAD, ids=[f"{i}-{w}" for i, (_, _, w) in enumerate(BAD)])
def test_bad_requests_get_400_json(client, path, body, words):
    status, got = client.post(path, body)
    assert status == 400
    assert words in got["error"]
    assert client.post("/api/example", GOOD)[0] == 200  # still serving


def test_other_bad_requests(client):
    status, headers, raw = client.request("POST", "/api/example", b"", {"Content-Type": "application/json"})
    assert status == 400 and "not JSON" in json.loads(raw)["error"]  # an empty body
    with socket.create_connection((client.host, client.port), timeout=30) as raw_socket:  # no Content-Length
        raw_socket.sendall(f"POST /api/example HTTP/1.1\r\nHost: {client.host}:{client.port}\r\n\r\n".encode())
        answer = raw_socket.makefile("rb").read()
    assert answer.startswith(b"HTTP/1.1 400") and b"Content-Length" in answer.partition(b"\r\n\r\n")[2]
    assert client.get("/api/state?since=abc")[0] == 400
    assert client.get("/api/nothing")[0] == 404
    assert client.post("/api/nothing", {})[0] == 404
    with running(session_with()) as fresh:
        status, got = Client(fresh.url).get("/api/batch")
        assert status == 400 and "no training step" in got["error"]


# --- only the page's own files ---


def test_serves_the_page_and_the_vendored_graphviz(client):
    status, headers, raw = client.request("GET", "/")
    assert status == 200 and raw == (STATIC / "index.html").read_bytes() and headers["Content-Type"].startswith("text/html")
    for path in ("/vendor/viz-global.js", "/vendor/draw_dot.js"):
        status, headers, raw = client.request("GET", path)
        assert status == 200 and headers["Content-Type"].startswith("text/javascript")
    assert raw == (REPO / "autodiff" / "web" / "draw_dot.js").read_bytes()
    for path in sorted(STATIC.rglob("*.js")):
        status, _, raw = client.request("GET", "/" + path.relative_to(STATIC).as_posix())
        assert status == 200 and raw == path.read_bytes()


@pytest.mark.parametrize("path", [
    "/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd", "/..%2f..%2fetc%2fpasswd", "/js/../../server.py",
    "/js/%2e%2e/%2e%2e/server.py", "//etc/passwd", "/%2fetc%2fpasswd", "/index.html%00.js", "/server.py",
    "/vendor/fetch.py", "/vendor/../../value.py", "/%252e%252e/etc/passwd", "/static/index.html", "/.git/config",
    "/js/", "/vendor/", "\\..\\..\\etc\\passwd",
])
def test_nothing_else_is_served(client, path):
    status, headers, raw = client.request("GET", path)
    assert status == 404
    assert b"root:" not in raw and b"import" not in raw
    assert "error" in json.loads(raw)


# --- the command line: start-up errors, and a real start and Ctrl-C ---


def test_a_broken_model_file_is_named(tmp_path, capsys):
    broken = tmp_path / "model.npz"
    broken.write_bytes(b"this is not a zip file")
    with pytest.raises(SystemExit) as exit:
        cli.main(["--model", str(broken), "--no-browser", "--port", "0"], data=bar_data())
    assert str(broken) in str(exit.value) and "not a readable" in str(exit.value)
    with pytest.raises(SystemExit) as exit:
        cli.main(["--model", str(tmp_path / "none.npz"), "--no-browser"], data=bar_data())
    assert "none.npz" in str(exit.value)
    for sizes in ([100, 30, 10], [784, 30, 12]):  # not 28x28 pixels in, or more than 10 classes out
        other = tmp_path / "other.npz"
        FastMLP(sizes[0], sizes[1:], "relu", "linear").save(other)
        with pytest.raises(SystemExit) as exit:
            cli.main(["--model", str(other), "--no-browser"], data=bar_data())
        assert str(other) in str(exit.value) and "-".join(map(str, sizes)) in str(exit.value)


def test_a_port_in_use_suggests_another():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SystemExit) as exit:
            cli.main(["--port", str(port), "--no-browser"], data=bar_data())
    assert f"port {port} is in use" in str(exit.value) and "--port" in str(exit.value)


def test_the_command_serves_and_stops_cleanly_on_ctrl_c(tmp_path):
    """python -m nn.explore with MNIST files from a directory: prints its URL, serves, and Ctrl-C ends it with no traceback."""
    data = bar_data(60, 20)
    arrays = [data[0].reshape(-1, 28, 28), data[1], data[2].reshape(-1, 28, 28), data[3]]
    directory = write_files(tmp_path / "mnist", idx_files(arrays, gz=True))
    model = tmp_path / "model.npz"
    lively_network().save(model)
    command = [sys.executable, "-m", "nn.explore", "--model", str(model), "--port", "0", "--no-browser",
               "--data-dir", str(directory)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
    try:
        first = process.stdout.readline()
        assert "784-16-16-10 network, loaded from" in first
        url = re.search(r"http://\S+", process.stdout.readline()).group(0)
        status, state = Client(url).get("/api/state")
        assert status == 200 and state["model"] == "loaded" and state["counts"] == {"train": 60, "test": 20}
    finally:
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    assert "Traceback" not in err and "stopped" in err
