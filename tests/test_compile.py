"""A recorded step (autodiff/compile.py) replays the plain graph exactly: the same weights, bit for bit, the same errors."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import render
from autodiff.compile import compile
from autodiff.tensor import Tensor
from nn.fast import FastMLP
from nn.losses import cross_entropy, squared_error
from nn.optim import SGD, Adam

OPTIMIZERS = {
    "sgd": lambda ps: SGD(ps, lr=0.5),
    "momentum": lambda ps: SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: Adam(ps, lr=0.01),
}


def network(sizes, activation, cost, dtype, seed):
    return FastMLP(sizes[0], sizes[1:], activation, "sigmoid" if cost == "squared" else "linear", seed=seed,
                   dtype=dtype)


def batch(rng, size, nin, nout, cost, dtype):
    x = rng.random((size, nin)).astype(dtype)
    labels = rng.integers(0, nout, size)
    return x, (np.eye(nout, dtype=dtype)[labels] if cost == "squared" else labels)


def the_cost(net, cost):
    return (lambda x, y: squared_error(net(x), y)) if cost == "squared" else (lambda x, y: cross_entropy(net(x), y))


def train(sizes, activation, cost, optimizer, dtype, seed, batch_sizes, compiled):
    """Weights and costs after a step per batch, on the plain graph or replayed."""
    net = network(sizes, activation, cost, dtype, seed)
    opt = OPTIMIZERS[optimizer](net.parameters())
    f, rng, costs = the_cost(net, cost), np.random.default_rng(seed), []
    step = compile(f)
    for size in batch_sizes:
        x, y = batch(rng, size, sizes[0], sizes[-1], cost, dtype)
        if compiled:
            costs.append(step(x, y))
        else:
            loss = f(x, y)
            opt.zero_grad()
            loss.backward()
            costs.append(float(loss.data))
        opt.step()
    return [p.data.copy() for p in net.parameters()], costs, step.recordings


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(1, 12), min_size=2, max_size=4),
       activation=st.sampled_from(["sigmoid", "tanh", "relu"]), cost=st.sampled_from(["squared", "cross-entropy"]),
       optimizer=st.sampled_from(sorted(OPTIMIZERS)), dtype=st.sampled_from([np.float32, np.float64]),
       seed=st.integers(0, 2**16), batch_sizes=st.lists(st.sampled_from([1, 3, 8]), min_size=1, max_size=12))
def test_replayed_steps_give_the_plain_graphs_weights_bit_for_bit(sizes, activation, cost, optimizer, dtype, seed,
                                                                   batch_sizes):
    sizes = sizes[:-1] + [max(sizes[-1], 2)]  # two classes at least
    plain, plain_costs, _ = train(sizes, activation, cost, optimizer, dtype, seed, batch_sizes, compiled=False)
    replayed, costs, _ = train(sizes, activation, cost, optimizer, dtype, seed, batch_sizes, compiled=True)
    assert costs == plain_costs
    for a, b in zip(plain, replayed):
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()


def test_a_step_is_recorded_twice_then_replayed_and_recorded_again_for_a_new_shape():
    sizes = [6, 5, 3]
    _, _, recordings = train(sizes, "sigmoid", "squared", "sgd", np.float32, 0, [4] * 10, compiled=True)
    assert recordings == 2  # the second recording checks the first
    _, _, recordings = train(sizes, "sigmoid", "squared", "sgd", np.float32, 0, [4] * 5 + [2] * 5 + [4] * 5,
                             compiled=True)
    assert recordings == 4  # batches of 2 record (twice); batches of 4 again find their tape


def test_a_new_structure_records_again_when_the_key_says_so():
    net = network([6, 5, 3], "sigmoid", "cross-entropy", np.float64, 0)
    step = compile(the_cost(net, "cross-entropy"), key=lambda: net.activation)
    x, y = batch(np.random.default_rng(0), 4, 6, 3, "cross-entropy", np.float64)
    for _ in range(3):
        step(x, y)
    net.activation = "tanh"
    cost = step(x, y)
    assert step.recordings == 3
    assert cost == float(the_cost(net, "cross-entropy")(x, y).data)  # the tanh network's cost


def test_an_array_made_from_the_arguments_outside_the_graph_is_refused():
    net = network([6, 5, 3], "sigmoid", "squared", np.float64, 0)
    step = compile(lambda x, labels: squared_error(net(x), np.eye(3)[labels]))  # one-hot made in Python
    rng = np.random.default_rng(0)
    step(rng.random((4, 6)), np.array([0, 1, 2, 0]))
    with pytest.raises(ValueError, match="computed from the arguments outside the Tensor ops"):
        step(rng.random((4, 6)), np.array([2, 2, 1, 0]))


def replaying(activation, cost, dtype):
    """A 6-5-3 network, its compiled step past its two recordings (so replaying), and the batches' generator."""
    net = network([6, 5, 3], activation, cost, dtype, 0)
    step, rng = compile(the_cost(net, cost)), np.random.default_rng(0)
    for _ in range(3):
        step(*batch(rng, 4, 6, 3, cost, dtype))
    return net, step, rng


def test_nan_targets_are_named_in_a_replayed_step():
    _, step, rng = replaying("sigmoid", "squared", np.float64)
    x, targets = batch(rng, 4, 6, 3, "squared", np.float64)
    targets[1, 2] = np.nan
    with pytest.raises(ValueError, match="Tensor data must be finite, got nan"):
        step(x, targets)
    assert step.recordings == 2  # raised by the replay, from the cost's rule


def test_overflow_in_w_x_plus_b_is_named_in_a_replayed_step():
    net, step, rng = replaying("relu", "cross-entropy", np.float32)
    x, labels = batch(rng, 4, 6, 3, "cross-entropy", np.float32)
    net.weights[0].data[...] = 1.0  # six inputs of 1e38 each: their sum does not fit in float32
    with pytest.raises(OverflowError, match=r"w·x\+b: the result on shapes \(5, 6\), \(4, 6\), \(5,\) overflows"):
        step(np.full_like(x, 1e38), labels)
    assert step.recordings == 2


def test_an_overflowing_gradient_is_named_as_the_plain_graph_names_it():
    """The replay's gradient check fails; the step is done again on the plain graph, whose search names the op."""
    w = Tensor(np.full((2, 3), 1e-30), np.float32)
    b = Tensor(np.zeros(2), np.float32)
    step = compile(lambda x, k: (Tensor.weighted_sum(w, x, b) * k).sum())
    x = np.ones((4, 3), np.float32)
    for _ in range(3):
        step(x, np.ones((4, 2), np.float32))
    with pytest.raises(OverflowError, match=r"backward: the gradient overflows at op 'w·x\+b'"):  # (k.T @ x)
        step(x * np.float32(1e30), np.full((4, 2), 1e30, np.float32))  # a finite cost: 3 x 1e30 x 8


def test_diverging_training_stops_with_a_replayed_step():
    from nn.guard import Diverged, Watch

    net = network([6, 5, 3], "relu", "cross-entropy", np.float32, 0)
    opt = SGD(net.parameters(), lr=1e4)
    watch, step, rng = Watch(cross_entropy, opt, []), compile(the_cost(net, "cross-entropy")), np.random.default_rng(0)
    with pytest.raises(Diverged, match="the cost rose to"):
        with watch.epoch(1, net):
            for _ in watch.batches(range(50)):
                watch.check(step(*batch(rng, 8, 6, 3, "cross-entropy", np.float32)))
                opt.step()
    assert step.recordings == 2


def test_the_plain_graph_still_draws_and_steps_after_replays():
    net = network([4, 3, 2], "sigmoid", "squared", np.float64, 0)
    f = the_cost(net, "squared")
    step, rng = compile(f), np.random.default_rng(0)
    for _ in range(4):
        step(*batch(rng, 2, 4, 2, "squared", np.float64))
    loss = f(*batch(rng, 2, 4, 2, "squared", np.float64))
    steps = list(loss.backward_steps())
    assert steps[0].node is loss and len(steps) == 5  # the cost, then sigmoid and w·x+b per layer
    source = render.draw_dot(loss).source
    assert "sigmoid" in source and "squared-error" in source


def test_a_step_that_returns_no_cost_is_refused():
    step = compile(lambda x: Tensor(x) * 2.0)
    with pytest.raises(TypeError, match="compile: the step must return a Tensor holding one number"):
        step(np.ones(3))


def test_arguments_that_are_neither_arrays_nor_numbers_are_refused():
    net = network([3, 2], "sigmoid", "squared", np.float64, 0)
    step = compile(lambda x, t: squared_error(net(x), np.asarray(t)))
    with pytest.raises(TypeError, match="compile: a step's arguments must be numpy arrays or numbers, got list"):
        step(np.ones((1, 3)), [[0.0, 1.0]])


@settings(max_examples=60, deadline=None)
@given(dtype=st.sampled_from([np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint32, np.uint64]),
       labels=st.lists(st.integers(-130, 130), min_size=1, max_size=6))
def test_the_video_cost_on_labels_accepts_exactly_the_digits(dtype, labels):
    """compiled_step's labels check (one pass, labels read as unsigned) agrees with one_hot's, which names the fault."""
    from nn.data import one_hot
    from nn.train import compiled_step, squared_error_cost

    info = np.iinfo(dtype)
    labels = np.array([min(max(v, info.min), info.max) for v in labels], dtype)
    net = network([3, 4], "sigmoid", "squared", np.float64, 0)
    step, x = compiled_step(net, squared_error_cost), np.ones((len(labels), 3))
    if labels.min() >= 0 and labels.max() < 4:
        assert step(x, labels) == float(squared_error(net(x), one_hot(labels, 4)).data)
    else:
        with pytest.raises(ValueError, match=r"labels must lie in 0\.\.3"):
            step(x, labels)
    with pytest.raises(ValueError, match="1-D array of labels"):
        step(np.ones((1, 3)), labels.reshape(1, -1))


# Graphs of every kind of edge the tape writes: a local derivative that is a function (matmul, sum, mean,
# reshape, .T), an array of the child's shape, one that is broadcast (a bias), and a node used twice.
PIECES = {
    "a * x": lambda a, b, c, x: a * x,
    "(a * x) * a": lambda a, b, c, x: (a * x) * a,  # a used twice: its gradient sums two shares
    "a + b": lambda a, b, c, x: a + b,  # b broadcast over the rows
    "x @ c": lambda a, b, c, x: (x @ c) @ c.T,  # c used twice, once through a transpose
    "tanh(a - x)": lambda a, b, c, x: (a - x).tanh(),
    "relu(a) / 2": lambda a, b, c, x: a.relu() / 2.0,
    "exp(a * b)": lambda a, b, c, x: (a * b * 0.1).exp(),
    "a.T.T": lambda a, b, c, x: a.T.T * x,
    "reshape": lambda a, b, c, x: a.reshape(4, 3).reshape(3, 4) * b,
    "rows": lambda a, b, c, x: a.sum(axis=1, keepdims=True) * x,
    "mean": lambda a, b, c, x: a.mean(axis=0) + b,
}


@settings(max_examples=60, deadline=None)
@given(pieces=st.lists(st.sampled_from(sorted(PIECES)), min_size=1, max_size=4), seed=st.integers(0, 2**16),
       dtype=st.sampled_from([np.float32, np.float64]))
def test_any_graph_replays_to_the_plain_graphs_gradients_bit_for_bit(pieces, seed, dtype):
    rng = np.random.default_rng(seed)
    a, b, c = (Tensor(rng.standard_normal(shape), dtype) for shape in [(3, 4), (4,), (4, 3)])

    def f(x):
        total = None
        for piece in pieces:
            term = PIECES[piece](a, b, c, x).sum()
            total = term if total is None else total + term
        return total

    step = compile(f)
    for _ in range(4):
        x = rng.standard_normal((3, 4)).astype(dtype)
        cost = step(x)
        replayed = [np.array(p.grad, copy=True) for p in (a, b, c)]
        for p in (a, b, c):
            p.grad = np.zeros_like(p.data)
        loss = f(x)
        loss.backward()
        assert cost == float(loss.data)
        for p, g in zip((a, b, c), replayed):
            expected = np.broadcast_to(p.grad, p.data.shape)
            assert g.dtype == expected.dtype and g.tobytes() == np.ascontiguousarray(expected).tobytes(), pieces
    assert step.recordings == 2


def test_a_tape_is_straight_line_code_that_calls_the_ops_rules():
    """What a replay runs can be read: each op's rule, forward, then each edge of the chain rule, backward."""
    net = network([4, 3, 2], "sigmoid", "squared", np.float64, 0)
    step, rng = compile(the_cost(net, "squared")), np.random.default_rng(0)
    for _ in range(2):
        step(*batch(rng, 2, 4, 2, "squared", np.float64))
    source = step.source()
    assert source.startswith("def replay(args):")
    assert source.count("weighted_sum(") == 2 and source.count("sigmoid(") == 2 and "squared_error(" in source
    assert source.index("squared_error(") < source.index("# backward")
