"""Many examples, one step (nn/explore/average.py): the average of the examples' wishes is the gradient.

Checked against references that share no code with it: the numpy chain rule of nn.nudges.by_hand,
one example at a time, and central finite differences of the batch's cost.
"""
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from nn.data import one_hot, scaled
from nn.explore.average import average, disagreement, each_example, gradients
from nn.explore.wants import Kind, unpacked
from nn.fast import FastMLP
from nn.nudges import by_hand
from nn.train import COSTS

from explore_fixtures import bar_digits, lively_network


def arrays(net):
    return [w.data for w in net.weights], [b.data for b in net.biases]


@pytest.mark.parametrize("count", [1, 2, 7])
def test_each_example_and_the_average_equal_the_numpy_chain_rule(count):
    net = lively_network()
    images, labels = bar_digits(count, seed=count)
    xs = scaled(images, np.float64)
    weights, biases = arrays(net)
    result = average(weights, biases, Kind(), xs, labels, 3.0)
    hand = [by_hand(weights, biases, x, y) for x, y in zip(xs, one_hot(labels, 10))]
    assert np.allclose(result["costs"], [h.cost for h in hand], rtol=1e-12, atol=1e-12)
    assert np.allclose(unpacked(result["output_nudges"]), [-h.da[3] for h in hand], rtol=1e-10, atol=1e-12)
    assert np.allclose(unpacked(result["below_nudges"]), [-h.da[2] for h in hand], rtol=1e-10, atol=1e-12)
    for e, z1 in enumerate(unpacked(result["z1_nudges"])):  # times the example's pixels: its weight nudges
        assert np.allclose(np.outer(z1, xs[e]), -hand[e].dw[1], rtol=1e-12, atol=1e-15)
    mean = -np.mean([h.dw[1] for h in hand], axis=0)
    assert np.allclose(unpacked(result["dw1_average"]), mean, rtol=1e-5, atol=1e-7)
    assert result["check"]["agree"] and result["check"]["max_difference"] < 1e-12


@pytest.mark.parametrize("activation,output,cost", [("sigmoid", "sigmoid", "squared"), ("relu", "linear", "cross-entropy"),
                                                    ("tanh", "sigmoid", "squared")])
def test_the_average_is_the_batch_cost_gradient_by_finite_differences(activation, output, cost):
    """−(the average nudge) is ∂(mean cost)/∂w, whatever the activations and the cost."""
    net = FastMLP(784, [5, 4], activation, output, seed=1)
    images, labels = bar_digits(6, seed=4)
    labels = labels % 4  # a network of 4 outputs
    xs = scaled(images, np.float64)
    weights, biases = arrays(net)
    result = average(weights, biases, Kind(activation, output, cost), xs, labels, 0.5)
    batch = lambda ws: float(COSTS[cost](FastMLP.from_state(state(net, ws))(xs), labels).data)
    rng = np.random.default_rng(0)
    moving = np.flatnonzero(xs.max(axis=0) > 0)  # weights from dark pixels have no gradient
    for j, k in zip(rng.integers(0, 5, 8), rng.choice(moving, 8)):
        h = 1e-6
        up, down = [w.copy() for w in weights], [w.copy() for w in weights]
        up[0][j, k] += h
        down[0][j, k] -= h
        numeric = (batch(up) - batch(down)) / (2 * h)
        assert -unpacked(result["dw1_average"])[j, k] == pytest.approx(numeric, rel=1e-4, abs=1e-7)


def state(net, weights):
    values = net.state()
    return {**values, **{f"w{i}": w for i, w in enumerate(weights)}}


def test_a_small_step_by_the_average_lowers_the_batch_cost_as_the_gradient_says():
    """First order: C(w − ηg) ≈ C(w) − η|g|², and each example's cost after is its own, recomputed."""
    net = lively_network()
    images, labels = bar_digits(10, seed=5)
    xs = scaled(images, np.float64)
    weights, biases = arrays(net)
    eta = 1e-4
    result = average(weights, biases, Kind(), xs, labels, eta)
    hand = [by_hand(weights, biases, x, y) for x, y in zip(xs, one_hot(labels, 10))]
    g = [np.mean([h.dw[l] for h in hand], axis=0) for l in (1, 2, 3)] + [np.mean([h.db[l] for h in hand], axis=0)
                                                                        for l in (1, 2, 3)]
    predicted = result["batch_cost"] - eta * sum(float(np.sum(x * x)) for x in g)
    assert result["batch_cost_after"] < result["batch_cost"]
    assert result["batch_cost_after"] == pytest.approx(predicted, rel=1e-6)
    stepped = [w - eta * d for w, d in zip(weights, g[:3])], [b - eta * d for b, d in zip(biases, g[3:])]
    after = [by_hand(*stepped, x, y).cost for x, y in zip(xs, one_hot(labels, 10))]
    assert np.allclose(result["costs_after"], after, rtol=1e-10)
    assert np.array_equal(weights[0], net.weights[0].data)  # the network itself is untouched


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_each_examples_wishes_from_the_batch_arrays_are_its_own_backward_alone(data):
    """Row e of the batch's chain rule is example e's own: its cost and nudges equal a backward() of the
    Tensor engine on that example alone, whatever the network, its activations and cost, and the batch."""
    sizes = data.draw(st.lists(st.integers(1, 6), min_size=1, max_size=3), label="hidden and output sizes")
    kind = Kind(data.draw(st.sampled_from(["sigmoid", "tanh", "relu"])), data.draw(st.sampled_from(["sigmoid", "linear"])),
                data.draw(st.sampled_from(["squared", "cross-entropy"])))
    n = data.draw(st.integers(1, 12), label="examples")
    seed = data.draw(st.integers(0, 2**32 - 1), label="seed")
    rng = np.random.default_rng(seed)
    sizes = [7] + sizes
    weights = [rng.normal(0, 1.5, (m, k)) for k, m in zip(sizes, sizes[1:])]
    biases = [rng.normal(0, 1, m) for m in sizes[1:]]
    xs = rng.uniform(0, 1, (n, 7))
    labels = rng.integers(0, sizes[-1], n)
    costs, a, da, dz = each_example(weights, biases, kind, xs, labels)
    for e in range(n):
        cost, _, dw_alone, db_alone = gradients(weights, biases, kind, xs[e:e + 1], labels[e:e + 1])
        assert costs[e] == pytest.approx(cost, rel=1e-12, abs=1e-300)
        dw = [np.outer(dz[l][e], a[l - 1][e]) for l in range(1, len(weights) + 1)]  # its wishes, by the rows
        db = [dz[l][e] for l in range(1, len(weights) + 1)]
        for mine, alone in zip(dw + db, dw_alone + db_alone):
            assert np.allclose(mine, alone, rtol=1e-10, atol=1e-14)


@given(st.lists(st.lists(st.floats(-1, 1), min_size=5, max_size=5), min_size=2, max_size=5))
def test_the_tug_of_war_is_a_weight_pulled_both_ways(rows):
    c, a = np.array(rows)[:, :2], np.array(rows)[:, 2:]  # example e's nudge to w_jk: c[e, j] · a[e, k]
    nudges = c[:, :, None] * a[:, None, :]
    labels = np.arange(len(rows))
    found = disagreement([(c, a)], labels)
    tug = np.minimum(nudges.max(axis=0), -nudges.min(axis=0))
    if tug.max() <= 0:
        assert found is None
        return
    j, k = found["neuron"], found["input"]
    assert found["strength"] == tug.max() == tug[j, k]
    assert found["up"]["nudge"] == nudges[:, j, k].max() > 0 > nudges[:, j, k].min() == found["down"]["nudge"]
    assert labels[found["up"]["example"]] == found["up"]["label"]
    assert found["average"] == pytest.approx(nudges[:, j, k].mean())


# --- through the explorer's server: POST /api/average ---

from explore_fixtures import Client, bar_data, running, session_with  # noqa: E402


@pytest.fixture
def client():
    with running(session_with(lively_network(), bar_data(300, 100))) as server:
        yield Client(server.url)


def test_the_average_of_two_picked_digits_is_the_mean_of_their_own_answers(client):
    """The page's "+ This example" twice: the average equals the mean of what /api/example said of each."""
    status, both = client.post("/api/average", {"examples": [{"set": "test", "index": 3}, {"set": "test", "index": 8}]})
    assert status == 200, both
    singles = []
    for index in (3, 8):
        _, digit = client.post("/api/digit", {"set": "test", "index": index})
        _, one = client.post("/api/example", {"pixels": digit["pixels"], "target": digit["label"]})
        singles.append(one)
        assert both["labels"][len(singles) - 1] == digit["label"]
    mean_gradient = np.mean([unpacked(one["dw1"]) for one in singles], axis=0)
    assert np.allclose(-unpacked(both["dw1_average"]), mean_gradient, rtol=1e-5, atol=1e-7)
    assert np.allclose(both["output_average"], np.mean([-np.array(one["da"][3]) for one in singles], axis=0))
    assert both["costs"] == pytest.approx([one["cost"] for one in singles], rel=1e-12)


def test_a_mini_batch_of_100_agrees_with_the_batch_backward_and_a_step_moves_the_network(client):
    status, batch = client.post("/api/average", {"examples": [{"set": "test", "index": 0}], "fill": 100})
    assert status == 200 and len(batch["labels"]) == 100 and len(batch["examples"]) == 100
    assert batch["check"]["agree"], batch["check"]
    _, before = client.get("/api/state")
    status, stepped = client.post("/api/average", {"examples": batch["examples"], "apply": True})
    assert status == 200 and stepped["applied"]
    _, after = client.get("/api/state")
    moved = unpacked(after["w1"]) - unpacked(before["w1"])
    expected = stepped["learning_rate"] * unpacked(stepped["dw1_average"])  # the nudge, times the rate
    assert np.allclose(moved, expected, atol=2e-6)  # float32 images of float64 numbers
    assert after["training"]["steps"] == before["training"]["steps"] + 1


@pytest.mark.parametrize("body,words", [
    ({"examples": [{"drawing": {"size": 28, "ink": "AA=="}}]}, "target"),
    ({"examples": [{"pixels": [0.5] * 784}]}, "target"),
    ({"examples": []}, "no examples"),
    ({"examples": [{"set": "test", "index": 10**6}]}, "index"),
    ({"examples": "3"}, "list"),
    ({"examples": [{"set": "test", "index": 0}] * 101}, "at most 100"),
    ({"examples": [{"set": "test", "index": 0}], "fill": 5000}, "fill"),
])
def test_bad_averages_get_400_naming_the_problem(client, body, words):
    status, answer = client.post("/api/average", body)
    assert status == 400 and words in answer["error"], answer


def test_the_mini_batch_table_never_shows_a_step_that_the_weights_have_moved_past(client):
    """After a step by the average, the last training step's table would be rebuilt from the wrong weights
    (the weights now, plus that step's lr·gradient): its check fails and its numbers are nobody's. It says so."""
    assert client.post("/api/train", {"action": "step"})[0] == 200
    status, table = client.get("/api/batch")
    assert status == 200 and table["max_difference"] < 1e-9  # the step's own table is true
    assert client.post("/api/average", {"examples": [{"set": "test", "index": 0}], "apply": True})[0] == 200
    status, answer = client.get("/api/batch")
    assert status == 400 and "no training step since the weights were last set" in answer["error"], answer
    assert client.post("/api/train", {"action": "step"})[0] == 200  # a new training step has a table again
    status, table = client.get("/api/batch")
    assert status == 200 and table["max_difference"] < 1e-9
