"""Every identity the nudges demo claims, checked across independent routes: the chain rule written
out in numpy (by_hand), the scalar engine's backward() (by_engine), and finite differences."""
import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import pictures
from conftest import assert_close_to_fd, central_difference
from nn.data import MnistError, one_hot
from nn.fast import FastMLP
from nn.nudges import (
    FUNCTIONS, all_weights, as_input, by_engine, by_hand, by_tensor, chosen_weights, first_index, first_mistake,
    in_float64, minibatch_by_engine, minibatch_by_tensor, nudges_per_example, sensitivity, sigmoid, softmax,
    weight_name)

REPO = Path(__file__).resolve().parent.parent
SPEC = importlib.util.spec_from_file_location("nudges_demo", REPO / "demos" / "nudges.py")
demo = importlib.util.module_from_spec(SPEC)
SPEC.loader.exec_module(demo)

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --- small random networks and fake digits ---


def network(nin, sizes, seed):
    """A sigmoid FastMLP with non-zero biases and weights large enough to matter."""
    net = FastMLP(nin, sizes, "sigmoid", "sigmoid", seed=seed)
    rng = np.random.default_rng(seed + 1)
    for w, b in zip(net.weights, net.biases):
        w.data *= 3.0
        b.data[...] = rng.uniform(-1, 1, b.shape)
    return net


def matrices(net):
    return [w.data.copy() for w in net.weights], [b.data.copy() for b in net.biases]


def fake_digits(n=10, seed=0):
    """(images uint8 (n, 784), labels) with black borders, like MNIST; the 2s are at 2 and 4."""
    rng = np.random.default_rng(seed)
    images = np.zeros((n, 28, 28), dtype=np.uint8)
    images[:, 6:22, 8:20] = rng.integers(0, 256, (n, 16, 12))
    labels = np.array([7, 3, 2, 0, 2, 5, 1, 9, 4, 6][:n], dtype=np.int64)
    return images.reshape(n, 784), labels


def cost_of(weights, biases, x, y):
    """The cost in plain numpy, a third route for finite differences."""
    a = x
    for w, b in zip(weights, biases):
        a = sigmoid(w @ a + b)
    return float(np.sum((a - y) ** 2))


examples = st.tuples(st.integers(0, 10_000), st.integers(2, 6), st.lists(st.integers(1, 5), min_size=1, max_size=3))


def example(seed, nin, hidden, nout=4):
    net = network(nin, hidden + [nout], seed)
    rng = np.random.default_rng(seed + 2)
    x, y = rng.uniform(0, 1, nin), one_hot(np.array([rng.integers(nout)]), nout)[0]
    return net, x, y


# --- any MLP: every activation, either cost, three routes and finite differences ---

kinds = st.tuples(st.sampled_from(["sigmoid", "tanh", "relu"]), st.sampled_from(["sigmoid", "linear", "tanh"]),
                  st.sampled_from(["squared", "cross-entropy"]))


def any_network(seed, nin, hidden, kind, nout=4):
    activation, output, cost = kind
    net = FastMLP(nin, hidden + [nout], activation, output, seed=seed)
    rng = np.random.default_rng(seed + 1)
    for w, b in zip(net.weights, net.biases):
        w.data *= 3.0
        b.data[...] = rng.uniform(-1, 1, b.shape)
    x, y = rng.uniform(0, 1, nin), one_hot(np.array([rng.integers(nout)]), nout)[0]
    return net, x, y, dict(activation=activation, output=output, cost=cost)


def any_cost(weights, biases, x, y, activation, output, cost):
    """The cost in plain numpy, written apart from by_hand: the route for finite differences."""
    a = x
    for i, (w, b) in enumerate(zip(weights, biases)):
        a = FUNCTIONS[output if i == len(weights) - 1 else activation](w @ a + b)
    return float(np.sum((a - y) ** 2)) if cost == "squared" else float(-np.log(softmax(a)[np.argmax(y)]))


def assert_agree(actual, desired):
    """Equal up to rounding, on the scale of the whole array: tanh's 1 - a² near a = ±1 keeps few digits."""
    desired = np.asarray(desired)
    np.testing.assert_allclose(actual, desired, rtol=1e-9, atol=1e-12 * max(np.max(np.abs(desired)), 1e-3))


@settings(max_examples=40)
@given(examples, kinds)
def test_any_network_the_hand_chain_rule_the_scalar_engine_and_the_fast_path_agree(params, kind):
    net, x, y, network = any_network(*params, kind)
    hand = by_hand(*matrices(net), x, y, **network)
    cost = network["cost"]
    for engine in (by_engine(net.to_scalar(), x, y, cost), by_tensor(net, x, y, cost)):
        assert engine.cost == pytest.approx(hand.cost, rel=1e-12, abs=1e-300)
        for l in range(len(hand.a)):
            # a saturated sigmoid (2.4e-6) by two formulas differs by a few ulps of 1, not of itself
            np.testing.assert_allclose(engine.a[l], hand.a[l], rtol=1e-12,
                                       atol=1e-15 * max(1.0, float(np.max(np.abs(hand.a[l])))))
            assert_agree(engine.da[l], hand.da[l])
        for l in range(1, len(hand.a)):
            for field in ("dz", "dw", "db"):
                assert_agree(getattr(engine, field)[l], getattr(hand, field)[l])


def a_weight(data, weights):
    """(l, j, k), drawn: weight k of neuron j in layer l (from 1)."""
    l = data.draw(st.integers(1, len(weights)))
    return l, data.draw(st.integers(0, weights[l - 1].shape[0] - 1)), data.draw(st.integers(0, weights[l - 1].shape[1] - 1))


@settings(max_examples=30)
@given(examples, kinds, st.data())
def test_any_network_the_gradient_is_the_slope_of_the_cost(params, kind, data):
    net, x, y, network = any_network(*params, kind)
    weights, biases = matrices(net)
    hand = by_hand(weights, biases, x, y, **network)
    l, j, k = a_weight(data, weights)

    def cost_with_weight(value):
        changed = [w.copy() for w in weights]
        changed[l - 1][j, k] = value
        return any_cost(changed, biases, x, y, **network)

    if network["activation"] == "relu":  # a kink within the step would make the difference lie
        zs = [w @ a + b for w, b, a in zip(weights, biases, hand.a)]
        if min(np.min(np.abs(z)) for z in zs[:-1]) < 1e-3:
            return
    assert hand.cost == pytest.approx(any_cost(weights, biases, x, y, **network), rel=1e-12)
    assert_close_to_fd(hand.dw[l][j, k], central_difference(cost_with_weight, weights[l - 1][j, k]),
                       max(1.0, hand.cost), "w")


@settings(max_examples=15)
@given(examples, kinds, st.integers(1, 5))
def test_any_network_the_fast_paths_minibatch_gradient_is_the_average(params, kind, n):
    net, _, _, network = any_network(*params, kind)
    rng = np.random.default_rng(params[0])
    xs, ys = rng.uniform(0, 1, (n, net.sizes[0])), one_hot(rng.integers(0, 4, n), 4)
    cost, dw, db = minibatch_by_tensor(net, xs, ys, network["cost"])
    scalar_cost, scalar_dw, _ = minibatch_by_engine(net.to_scalar(), xs, ys, network["cost"])
    hands = [by_hand(*matrices(net), x, y, **network) for x, y in zip(xs, ys)]
    assert cost == pytest.approx(np.mean([h.cost for h in hands]), rel=1e-12)
    assert scalar_cost == pytest.approx(cost, rel=1e-12)
    for l in range(1, len(dw)):
        assert_agree(dw[l], np.mean([h.dw[l] for h in hands], axis=0))
        assert_agree(scalar_dw[l], dw[l])
        assert_agree(db[l], np.mean([h.db[l] for h in hands], axis=0))


def test_a_float32_model_is_explained_in_float64_with_the_same_weights():
    net = FastMLP(5, [3, 2], "relu", "linear", dtype=np.float32)
    twin = in_float64(net)
    assert twin.dtype == np.float64 and (twin.activation, twin.output) == ("relu", "linear")
    for a, b in zip(net.parameters(), twin.parameters()):
        np.testing.assert_array_equal(a.data.astype(np.float64), b.data)


def test_the_example_is_the_first_misread_digit_then_any_misread_one():
    labels = np.array([5, 2, 1, 2, 2, 3])
    assert first_mistake(np.array([5, 2, 1, 2, 7, 1]), labels, 2) == 4  # the 2 at 4, not the 3 at 5
    assert first_mistake(np.array([5, 2, 4, 2, 2, 3]), labels, 2) == 2  # every 2 right: the first mistake
    assert first_mistake(labels, labels, 2) is None


# --- one example: hand chain rule against the engine ---


@settings(max_examples=30)
@given(examples)
def test_hand_chain_rule_equals_the_engine(params):
    net, x, y = example(*params)
    hand, engine = by_hand(*matrices(net), x, y), by_engine(net.to_scalar(), x, y)
    assert engine.cost == pytest.approx(hand.cost, rel=1e-12)
    for l in range(len(hand.a)):
        np.testing.assert_allclose(engine.a[l], hand.a[l], rtol=1e-12)
        np.testing.assert_allclose(engine.da[l], hand.da[l], rtol=1e-9, atol=1e-15)
    for l in range(1, len(hand.a)):
        for field in ("dz", "dw", "db"):
            np.testing.assert_allclose(getattr(engine, field)[l], getattr(hand, field)[l], rtol=1e-9, atol=1e-15)


@settings(max_examples=20)
@given(examples, st.data())
def test_weight_and_bias_gradients_match_finite_differences(params, data):
    net, x, y = example(*params)
    weights, biases = matrices(net)
    engine = by_engine(net.to_scalar(), x, y)
    l, j, k = a_weight(data, weights)

    def cost_with_weight(value):
        changed = [w.copy() for w in weights]
        changed[l - 1][j, k] = value
        return cost_of(changed, biases, x, y)

    def cost_with_bias(value):
        changed = [b.copy() for b in biases]
        changed[l - 1][j] = value
        return cost_of(weights, changed, x, y)

    scale = max(1.0, engine.cost)
    assert_close_to_fd(engine.dw[l][j, k], central_difference(cost_with_weight, weights[l - 1][j, k]), scale, "w")
    assert_close_to_fd(engine.db[l][j], central_difference(cost_with_bias, biases[l - 1][j]), scale, "b")


@settings(max_examples=30)
@given(examples)
def test_each_output_wants_a_nudge_in_proportion_to_its_distance_from_the_target(params):
    net, x, y = example(*params)
    engine = by_engine(net.to_scalar(), x, y)
    np.testing.assert_allclose(-engine.da[-1], -2 * (engine.a[-1] - y), rtol=1e-12)


@settings(max_examples=30)
@given(examples, st.data())
def test_a_neurons_bias_weights_and_wishes(params, data):
    """Bias nudge = error term; weight nudges = error term · previous activations; wishes = error term · weights."""
    net, x, y = example(*params)
    weights, biases = matrices(net)
    hand, engine = by_hand(weights, biases, x, y), by_engine(net.to_scalar(), x, y)
    last = len(weights)
    j = data.draw(st.integers(0, weights[-1].shape[0] - 1))
    dz = hand.dz[last][j]
    assert engine.db[last][j] == pytest.approx(dz, rel=1e-12, abs=1e-300)
    np.testing.assert_allclose(engine.dw[last][j], dz * hand.a[last - 1], rtol=1e-12, atol=1e-300)
    # the wish of neuron j alone for a_k: how C moves when only neuron j sees a_k change
    k = data.draw(st.integers(0, weights[-1].shape[1] - 1))

    def cost_when_j_sees(value):
        seen = hand.a[last - 1].copy()
        seen[k] = value
        a = sigmoid(weights[-1] @ hand.a[last - 1] + biases[-1])
        a[j] = sigmoid(weights[-1][j] @ seen + biases[-1][j])
        return float(np.sum((a - y) ** 2))

    wish = -dz * weights[-1][j, k]
    assert_close_to_fd(-wish, central_difference(cost_when_j_sees, hand.a[last - 1][k]), max(1.0, hand.cost), "wish")


@settings(max_examples=30)
@given(examples)
def test_the_sum_of_every_outputs_wishes_is_the_engines_gradient(params):
    net, x, y = example(*params)
    weights, biases = matrices(net)
    hand, engine = by_hand(weights, biases, x, y), by_engine(net.to_scalar(), x, y)
    last = len(weights)
    wishes = -hand.dz[last][:, None] * weights[-1]  # row j: output j's wishes
    np.testing.assert_allclose(wishes.sum(axis=0), -engine.da[last - 1], rtol=1e-9, atol=1e-15)


# --- several examples: the average is the mini-batch gradient ---


@settings(max_examples=15)
@given(examples, st.integers(1, 6))
def test_the_average_of_per_example_nudges_is_the_minibatch_gradient(params, n):
    net, _, _ = example(*params)
    weights, biases = matrices(net)
    rng = np.random.default_rng(params[0])
    nin, nout = weights[0].shape[1], weights[-1].shape[0]
    xs, ys = rng.uniform(0, 1, (n, nin)), one_hot(rng.integers(0, nout, n), nout)
    cost, dw, db = minibatch_by_engine(net.to_scalar(), xs, ys)
    hands = [by_hand(weights, biases, x, y) for x, y in zip(xs, ys)]
    assert cost == pytest.approx(np.mean([h.cost for h in hands]), rel=1e-12)
    for l in range(1, len(dw)):
        np.testing.assert_allclose(dw[l], np.mean([h.dw[l] for h in hands], axis=0), rtol=1e-9, atol=1e-15)
        np.testing.assert_allclose(db[l], np.mean([h.db[l] for h in hands], axis=0), rtol=1e-9, atol=1e-15)
    chosen = chosen_weights(dw)
    table = nudges_per_example(weights, biases, xs, ys, chosen)
    np.testing.assert_allclose(table.mean(axis=1), [-dw[l][j, k] for l, j, k in chosen], rtol=1e-9, atol=1e-15)


def test_the_engine_starts_each_pass_from_zero_gradients():
    """Leaf gradients accumulate: a second call must not add to the first."""
    net, x, y = example(0, 3, [2])
    mlp = net.to_scalar()
    first, second = by_engine(mlp, x, y), by_engine(mlp, x, y)
    for l in range(1, len(first.dw)):
        np.testing.assert_array_equal(first.dw[l], second.dw[l])


# --- sensitivity ---


@settings(max_examples=50)
@given(st.integers(0, 10_000), st.floats(0.0, 0.9))
def test_the_sensitivity_ratio_is_the_ratio_of_gradient_sizes(seed, zeros):
    rng = np.random.default_rng(seed)
    dw = [None, rng.normal(size=(3, 5)) * 10.0 ** rng.uniform(-6, 0, (3, 5)), rng.normal(size=(2, 3))]
    dw[1][rng.uniform(size=(3, 5)) < zeros] = 0.0
    s = sensitivity(dw)
    sizes = {(l, j, k): abs(dw[l][j, k]) for l in (1, 2) for j, k in np.ndindex(dw[l].shape)}
    moving = sorted(size for size in sizes.values() if size > 0)
    assert sizes[s.largest] == max(sizes.values())
    assert sizes[s.typical] == moving[(len(moving) - 1) // 2]
    assert s.ratio == sizes[s.largest] / sizes[s.typical]
    assert (s.moving, s.total) == (len(moving), 21)


def test_sensitivity_needs_some_gradient():
    with pytest.raises(ValueError, match="zero"):
        sensitivity([None, np.zeros((2, 3))])


def test_chosen_weights_are_each_layers_largest_then_a_typical_one():
    dw = [None, np.array([[0.1, -5.0], [0.2, 0.0]]), np.array([[3.0, -0.3]])]
    # the non-zero sizes, sorted: 0.1 0.2 0.3 3 5; the median, 0.3, is w(2)_0,1
    assert chosen_weights(dw) == [(1, 0, 1), (2, 0, 0), (2, 0, 1)]


# --- naming, choosing the example, pixels ---


def test_weight_names_say_layer_neuron_and_input():
    assert weight_name((1, 3, 407)) == "w(1)_3,407: layer 1, neuron 3, from pixel 407 (row 14, column 15)"
    assert weight_name((3, 2, 6)) == "w(3)_2,6: layer 3, neuron 2, from neuron 6 of layer 2"
    names, grads = all_weights([None, np.arange(6.0).reshape(2, 3), np.array([[7.0, 8.0]])])
    assert names[4] == (1, 1, 1) and grads[4] == 4.0 and names[-1] == (2, 0, 1) and grads[-1] == 8.0
    every = [(1, j, k) for j in range(2) for k in range(3)] + [(2, 0, 0), (2, 0, 1)]
    assert [names[i] for i in range(len(names))] == every and len(names) == len(grads) == 8


def test_the_first_2_and_a_clear_error_without_one():
    assert first_index(np.array([5, 0, 4, 2, 2]), 2) == 3
    with pytest.raises(ValueError, match="no 2"):
        first_index(np.array([1, 3]), 2)


def test_pixels_become_activations_from_0_to_1():
    np.testing.assert_array_equal(as_input(np.array([[0, 255], [51, 102]], dtype=np.uint8)), [0.0, 1.0, 0.2, 0.4])


# --- the demo, end to end ---


def run(capsys, tmp_path, *extra, train=None):
    train = fake_digits() if train is None else train
    status = demo.main(["--out", str(tmp_path / "out"), *extra], train=train)
    return status, capsys.readouterr().out


def differences(text):
    return [float(x) for x in re.findall(r"matches [^:]*: max difference (\S+)", text)]


def guesses(net, images):
    """The network's reading of each image, by a plain numpy forward pass (not the demo's predict)."""
    weights, biases = matrices(net)
    a = images.astype(np.float64) / 255
    for i, (w, b) in enumerate(zip(weights, biases)):
        a = FUNCTIONS[net.output if i == len(weights) - 1 else net.activation](a @ w.T + b)
    return a.argmax(axis=1)


def test_the_demo_tells_the_story_and_every_check_passes(capsys, tmp_path):
    images, labels = fake_digits()
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "none.npz"), train=(images, labels))
    assert status == 0
    assert "freshly initialised (seed 0), as there is no trained model at" in text
    net = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid", seed=0)
    assert guesses(net, images)[2] != 2  # the untrained network misreads the first 2: it is still the example
    assert re.search(r"training image #2, a 2 that the network reads as a \d \(the first 2 it misreads\)", text)
    assert "the scalar engine's backward(), on the network built as 13,002 Values" in text
    found = differences(text)
    assert len(found) == 6 and max(found) < 1e-12
    match = re.search(r"the cost is ([\d,.]+) times more sensitive", text)
    assert match
    # the sentence's ratio, recomputed from the gradient of the same mini-batch by hand
    weights, biases = matrices(net)
    batch = list(range(demo.EXAMPLES))  # the first 2 is #2, so the batch is the first eight
    hands = [by_hand(weights, biases, as_input(images[i]), one_hot(labels[[i]])[0]) for i in batch]
    dw = [np.mean([h.dw[l] for h in hands], axis=0) for l in (1, 2, 3)]
    sizes = np.abs(np.concatenate([g.ravel() for g in dw]))
    moving = np.sort(sizes[sizes > 0])
    ratio = sizes.max() / moving[(len(moving) - 1) // 2]
    assert float(match.group(1).replace(",", "")) == pytest.approx(ratio, rel=5e-3)
    pictures = sorted((tmp_path / "out").iterdir())
    assert [p.name for p in pictures] == sorted(
        ["outputs.png", "output_neuron.png", "wishes.png", "first_layer.png", "minibatch.png"])
    for picture in pictures:  # complete PNGs, no temporary files left behind
        assert picture.read_bytes().startswith(PNG_SIGNATURE)
        import matplotlib.image

        assert matplotlib.image.imread(picture).ndim == 3


def no_pictures(monkeypatch):
    """Drawing takes most of a run's time; the tests of the data and the model do not need it."""
    monkeypatch.setattr(demo, "save", lambda figure, path: None)


def test_a_trained_model_is_used_and_named(capsys, tmp_path, monkeypatch):
    no_pictures(monkeypatch)
    net = network(784, [16, 16, 10], seed=5)
    net.save(tmp_path / "model.npz")
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "model.npz"))
    assert status == 0
    assert f"trained: weights from {tmp_path / 'model.npz'}" in text
    images, labels = fake_digits()
    index = int(re.search(r"training image #(\d+)", text).group(1))
    hand = by_hand(*matrices(net), as_input(images[index]), one_hot(labels[[index]])[0])
    assert f"one example is C = Σ_j (a_j - y_j)² = {hand.cost:.4g}.\n" in text  # this network's cost, not a fresh one


@pytest.mark.parametrize("content, problem", [(b"not a zip file", "not a readable .npz"),
                                              (b"PK\x03\x04truncated", "not a readable .npz")])
def test_a_corrupt_model_is_a_clear_error(capsys, tmp_path, content, problem):
    path = tmp_path / "model.npz"
    path.write_bytes(content)
    with pytest.raises(SystemExit) as exit:
        run(capsys, tmp_path, "--model", str(path))
    assert exit.value.code != 0 and str(path) in str(exit.value.code) and problem in str(exit.value.code)


def test_a_corrupt_model_from_the_command_line_exits_without_a_traceback(tmp_path):
    path = tmp_path / "model.npz"
    path.write_bytes(b"\x00" * 100)
    result = subprocess.run([sys.executable, str(REPO / "demos" / "nudges.py"), "--model", str(path),
                             "--out", str(tmp_path / "out")], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode != 0
    assert str(path) in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_data_comes_from_load_mnist(capsys, tmp_path, monkeypatch):
    images, labels = fake_digits()
    asked = []

    def load_mnist(directory=None, cache_dir=None):
        asked.append(directory)
        return images, labels, images[:3], labels[:3]

    monkeypatch.setattr(demo, "load_mnist", load_mnist)
    no_pictures(monkeypatch)
    status = demo.main(["--out", str(tmp_path / "out"), "--model", str(tmp_path / "none.npz"),
                        "--data-dir", str(tmp_path / "mnist")])
    assert status == 0 and asked == [str(tmp_path / "mnist")]
    assert "training image #2" in capsys.readouterr().out


def test_bad_data_is_a_clear_error(capsys, tmp_path, monkeypatch):
    def load_mnist(directory=None, cache_dir=None):
        raise MnistError("train-images-idx3-ubyte: truncated")

    monkeypatch.setattr(demo, "load_mnist", load_mnist)
    with pytest.raises(SystemExit) as exit:
        demo.main(["--out", str(tmp_path / "out"), "--model", str(tmp_path / "none.npz")])
    assert "truncated" in str(exit.value.code)


def test_a_set_without_a_2_shows_the_first_example_the_network_misreads(capsys, tmp_path, monkeypatch):
    no_pictures(monkeypatch)
    images, labels = fake_digits()
    labels = np.where(labels == 2, 8, labels)
    first = int(np.flatnonzero(guesses(FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid"), images) != labels)[0])
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "none.npz"), train=(images, labels))
    assert status == 0
    assert f"training image #{first}, a {labels[first]} that the network reads as a" in text
    assert "(the set holds no 2; the first example it misreads)" in text


def test_a_disagreement_between_the_routes_is_reported_not_hidden(capsys, tmp_path, monkeypatch):
    real = demo.by_engine

    def off_by_a_little(mlp, x, y, cost):
        result = real(mlp, x, y, cost)
        result.da[-1] = result.da[-1] * 1.001
        return result

    monkeypatch.setattr(demo, "by_engine", off_by_a_little)
    no_pictures(monkeypatch)
    with pytest.raises(SystemExit) as exit:
        run(capsys, tmp_path, "--model", str(tmp_path / "none.npz"))
    assert "-2(a - y) does NOT match the scalar engine's gradient" in str(exit.value.code)


# --- any MLP, a trained one's example, small numbers, pictures a projector can show ---


def picture_log(monkeypatch):
    """Every figure the demo saves, with its file: to measure what a person will see."""
    saved, real = [], demo.save

    def save(figure, path):
        real(figure, path)
        saved.append((figure, path))

    monkeypatch.setattr(demo, "save", save)
    return saved


def confident(nin=784, hidden=(8,), nout=10, sure_of=2, **kinds):
    """A network that reads every image as `sure_of`, and is almost certain of it: its nudges are tiny."""
    net = FastMLP(nin, list(hidden) + [nout], **kinds, seed=3)
    net.biases[-1].data[:] = -12.0
    net.biases[-1].data[sure_of] = 12.0
    return net


def test_a_trained_network_is_shown_an_example_it_misreads(capsys, tmp_path, monkeypatch):
    no_pictures(monkeypatch)
    images, labels = fake_digits()
    net = network(784, [16, 16, 10], seed=5)
    net.save(tmp_path / "model.npz")
    read = guesses(net, images)
    expected = next(i for i in range(len(labels)) if labels[i] == 2 and read[i] != 2)
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "model.npz"), train=(images, labels))
    assert status == 0
    assert f"training image #{expected}, a 2 that the network reads as a {read[expected]} (the first 2 it misreads)" in text
    # a network that reads every 2 right is shown the first example it gets wrong
    confident(activation="sigmoid", output="sigmoid").save(tmp_path / "sure.npz")
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "sure.npz"), train=(images, labels))
    assert "training image #0, a 7 that the network reads as a 2 (it reads every 2 right; the first example it misreads)" in text


def test_an_example_read_right_says_its_nudges_are_small_and_shows_them(capsys, tmp_path, monkeypatch):
    saved = picture_log(monkeypatch)
    net = confident(activation="sigmoid", output="sigmoid")
    net.save(tmp_path / "sure.npz")
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "sure.npz"), "--example", "2")
    assert status == 0
    assert "a 2 that the network reads right (chosen with --example)" in text
    assert "The network already reads this 2 right, so its cost is small" in text
    hand = by_hand(*matrices(net), as_input(fake_digits()[0][2]), one_hot(np.array([2]))[0])
    assert np.max(np.abs(hand.dw[-1])) < 1e-4  # the nudges really are tiny ...
    # ... and still shown: no number that is not 0 printed as a signed 0.0000 or 0.000, in the text or the pictures
    assert not re.findall(r"[+-]0\.0+(?![0-9e])", text), re.findall(r".*[+-]0\.0+(?![0-9e]).*", text)
    scale = re.search(r"nudges \(×1e(-\d+)\):", text)
    assert scale  # the table says its scale ...
    row = re.search(rf"^ +0 +\S+ +(\S+) +(\S+)", text.split("nudges (×1e")[1], re.M)
    assert float(row.group(1)) * 10.0 ** int(scale.group(1)) == pytest.approx(-hand.dw[-1][2, 0], rel=1e-3)  # ... truly
    for figure, path in saved:
        for _, words in pictures.texts_at_projector_width(figure, 100, figure.get_figwidth() * 100):
            assert not re.search(r"[+-]0\.0+(?![0-9e])", words), (path.name, words)


@pytest.mark.parametrize("hidden, activation, output, cost, engine", [
    ([5, 3], "tanh", "sigmoid", "squared", "the scalar engine"),
    ([6], "relu", "linear", "cross-entropy", "the fast path"),
    ([7, 4, 3], "relu", "sigmoid", "squared", "the fast path"),
])
def test_any_mlp_of_784_inputs_and_up_to_10_outputs(capsys, tmp_path, monkeypatch, hidden, activation, output, cost,
                                                     engine):
    no_pictures(monkeypatch)
    monkeypatch.setattr(demo, "SCALAR_LIMIT", 4500)  # wider networks go to the fast path, as wide ones do
    nout = 10 if output == "sigmoid" else 6  # six outputs: the examples of 6 to 9 are not for this network
    net = FastMLP(784, hidden + [nout], activation, output, seed=1, dtype=np.float32)
    net.save(tmp_path / "model.npz")
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "model.npz"))
    assert status == 0
    assert f"{'-'.join(map(str, [784, *hidden, nout]))}, {activation} hidden layers, {output} outputs" in text
    assert f"Computed by {engine}'s backward()" in text
    found = differences(text)
    assert len(found) == (6 if engine == "the scalar engine" else 7) and max(found) < 1e-9
    if engine == "the fast path":
        assert "matches the scalar engine's gradient (the output layer alone, as Values" in text
    images, labels = fake_digits()
    batch = [int(i) for i in re.findall(r"#(\d+): a \d", text.split("5. One example")[1].splitlines()[5])]
    assert all(labels[i] < nout for i in batch) and len(batch) == min(demo.EXAMPLES, np.sum(labels < nout))


def test_a_model_with_other_inputs_or_too_many_outputs_is_a_clear_error(capsys, tmp_path):
    for sizes, what in (([16, 10], "784 inputs"), ([16, 12], "2 to 10 outputs")):
        FastMLP(784 if what != "784 inputs" else 100, sizes, "relu", "linear").save(tmp_path / "other.npz")
        with pytest.raises(SystemExit) as exit:
            run(capsys, tmp_path, "--model", str(tmp_path / "other.npz"))
        assert what in str(exit.value.code) and "other.npz" in str(exit.value.code)


def test_an_example_the_network_cannot_read_is_a_clear_error(capsys, tmp_path):
    FastMLP(784, [8, 4], "relu", "linear").save(tmp_path / "four.npz")
    for example in ("0", "99"):  # a 7, for a network of the classes 0 to 3; beyond the set
        with pytest.raises(SystemExit) as exit:
            run(capsys, tmp_path, "--model", str(tmp_path / "four.npz"), "--example", example)
        assert f"--example {example}" in str(exit.value.code) and "classes 0 to 3" in str(exit.value.code)


@pytest.mark.parametrize("model", ["untrained", "wide"])
def test_every_picture_is_readable_on_a_projector_and_signed_images_are_centred(capsys, tmp_path, monkeypatch, model):
    """Each PNG's smallest text, shown 1024 px wide, is at least 14 px; signed images sit on a scale centred on 0."""
    saved = picture_log(monkeypatch)
    if model == "wide":
        monkeypatch.setattr(demo, "SCALAR_LIMIT", 100)
        FastMLP(784, [40, 30, 10], "relu", "linear", seed=2).save(tmp_path / "model.npz")
    status, _ = run(capsys, tmp_path, "--model", str(tmp_path / "model.npz"))
    assert status == 0 and len(saved) == 5
    for figure, path in saved:
        import matplotlib.image

        width_px = matplotlib.image.imread(path).shape[1]
        size, words = pictures.smallest_text(figure, width_px / figure.get_figwidth(), width_px)
        print(f"{path.name}: smallest text {size:.1f} px at 1024 ({words!r})")
        assert size >= pictures.READABLE, (path.name, words, size)
        assert pictures.signed_images_are_centred_with_a_colour_bar(figure) == [], path.name
    assert {path.name for _, path in saved} == {"outputs.png", "output_neuron.png", "wishes.png", "first_layer.png",
                                                "minibatch.png"}


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 1.0), st.sampled_from([1, 7, 64, 1000]))
def test_the_example_is_searched_a_chunk_at_a_time_as_over_the_whole_set(seed, right, chunk):
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (120, 784), dtype=np.uint8)
    net = FastMLP(784, [6, 10], "relu", "linear", seed=seed)
    read = guesses(net, images)
    labels = np.where(rng.uniform(size=120) < right, read, rng.integers(0, 10, 120))
    expected = first_mistake(read, labels, 2)
    if expected is None and not (labels == 2).any():  # nothing misread and no 2 to show: said by name
        with pytest.raises(ValueError, match="no 2"):
            demo.choose_example(net, images, labels, chunk=chunk)
        return
    index, why = demo.choose_example(net, images, labels, chunk=chunk)
    assert index == (expected if expected is not None else first_index(labels, 2))
    if expected is None:
        assert "it reads every example right" in why


def test_a_network_whose_gradient_is_all_zero_says_so(capsys, tmp_path, monkeypatch):
    """Every ReLU of the hidden layer off for every example: no weight can change the cost, and the story says so."""
    no_pictures(monkeypatch)
    net = FastMLP(784, [4, 10], "relu", "linear", seed=0)
    net.biases[0].data[:] = -100.0
    net.save(tmp_path / "dead.npz")
    status, text = run(capsys, tmp_path, "--model", str(tmp_path / "dead.npz"))
    assert status == 0
    assert "No neuron of layer 1 is pushed at all" in text and "pushes neuron" not in text
    assert "Nothing: every weight's gradient is 0 for this mini-batch" in text
