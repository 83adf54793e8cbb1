"""nn on Values: micrograd's Neuron/Layer/MLP, checked against numpy, finite differences and training."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import Value
from nn import MLP, Layer, Module, Neuron
from conftest import assert_close_to_fd, central_difference

NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0.0),
    "sigmoid": lambda z: 1 / (1 + np.exp(-z)),
    "tanh": np.tanh,
    "linear": lambda z: z,
}


def weight_matrices(model):
    """(W, b) per layer as numpy arrays, read from the parameters: row j is neuron j."""
    return [
        (np.array([[w.data for w in n.w] for n in layer.neurons]), np.array([n.b.data for n in layer.neurons]))
        for layer in model.layers
    ]


def numpy_forward(model, x, hidden, output):
    """The same network computed independently, with numpy."""
    a = np.asarray(x, dtype=float)
    matrices = weight_matrices(model)
    for i, (W, b) in enumerate(matrices):
        a = NUMPY_ACTIVATIONS[hidden if i < len(matrices) - 1 else output](W @ a + b)
    return a


def data(outputs):
    return [v.data for v in (outputs if isinstance(outputs, list) else [outputs])]


def parameter_count(nin, nouts):
    sizes = [nin, *nouts]
    return sum((fan_in + 1) * fan_out for fan_in, fan_out in zip(sizes, sizes[1:]))  # weights + a bias each


# --- shapes and parameters ---


def test_the_3blue1brown_network_has_13002_parameters():
    model = MLP(784, [16, 16, 10], activation="sigmoid", output="sigmoid")
    assert len(model.parameters()) == 784 * 16 + 16 + 16 * 16 + 16 + 16 * 10 + 10 == 13_002


@given(st.integers(1, 30), st.lists(st.integers(1, 12), min_size=1, max_size=4))
def test_parameter_count_matches_the_formula(nin, nouts):
    params = MLP(nin, nouts).parameters()
    assert len(params) == parameter_count(nin, nouts)
    assert len({id(p) for p in params}) == len(params), "a parameter is listed twice"
    assert all(isinstance(p, Value) and p.op == "" for p in params)


def test_zero_grad_clears_every_parameter():
    model = MLP(3, [4, 2])
    sum(model([1.0, -2.0, 0.5])).backward()
    assert any(p.grad != 0.0 for p in model.parameters())
    model.zero_grad()
    assert all(p.grad == 0.0 for p in model.parameters())


def test_a_module_without_parameters():
    class Constant(Module):
        pass

    assert Constant().parameters() == []
    Constant().zero_grad()


def test_one_output_is_a_value_several_are_a_list():
    x = [0.5, -1.0]
    assert isinstance(MLP(2, [3, 1])(x), Value)
    out = MLP(2, [3, 2])(x)
    assert isinstance(out, list) and len(out) == 2 and all(isinstance(v, Value) for v in out)
    assert isinstance(Layer(2, 1)(x), Value)
    assert len(Layer(2, 5)(x)) == 5


# --- the computation, against numpy ---


@given(st.lists(st.floats(-3, 3), min_size=3, max_size=3))
def test_micrograd_defaults_relu_hidden_and_linear_output(x):
    model = MLP(3, [5, 4, 2], seed=1)
    np.testing.assert_allclose(data(model(x)), numpy_forward(model, x, "relu", "linear"), rtol=1e-12, atol=1e-12)


def test_the_linear_output_goes_negative():
    model, rng = MLP(3, [5, 4, 1], seed=1), np.random.default_rng(0)
    outputs = [model(list(x)).data for x in rng.uniform(-3, 3, size=(50, 3))]
    assert min(outputs) < 0 < max(outputs)


VIDEO_NETWORK = MLP(784, [16, 16, 10], activation="sigmoid", output="sigmoid", seed=3)


@settings(max_examples=20)  # each example is a forward pass through 13,002 parameters
@given(st.integers(0, 2**32 - 1))
def test_the_3blue1brown_network_against_numpy(seed):
    model, pixels = VIDEO_NETWORK, np.random.default_rng(seed).uniform(0, 1, size=784)
    out = data(model(list(pixels)))
    np.testing.assert_allclose(out, numpy_forward(model, pixels, "sigmoid", "sigmoid"), rtol=1e-12)
    assert all(0 < y < 1 for y in out)


@pytest.mark.parametrize("nonlin, activation", [(True, "relu"), (False, "linear")])
def test_neuron(nonlin, activation):
    neuron = Neuron(4, nonlin=nonlin)
    w = np.array([v.data for v in neuron.w])
    for x in (np.sign(w), -np.sign(w)):  # a positive and a negative weighted sum
        expected = NUMPY_ACTIVATIONS[activation](w @ x + neuron.b.data)
        assert neuron(list(x)).data == pytest.approx(expected, rel=1e-12, abs=1e-15)
        assert neuron([Value(xi) for xi in x]).data == pytest.approx(expected, rel=1e-12, abs=1e-15)
    assert len(neuron.parameters()) == 5


def test_layer_is_nout_neurons_on_the_same_inputs():
    layer, x = Layer(3, 4), [0.2, -0.7, 1.1]
    assert len(layer.neurons) == 4 and all(len(n.w) == 3 for n in layer.neurons)
    assert data(layer(x)) == [n(x).data for n in layer.neurons]


# --- initialisation ---


def test_same_seed_same_weights_other_seed_other_weights():
    def weights(seed):
        return [p.data for p in MLP(5, [4, 3], seed=seed).parameters()]

    assert weights(7) == weights(7)
    assert weights(7) != weights(8)
    assert weights(0) == [p.data for p in MLP(5, [4, 3]).parameters()]  # seed=0 by default


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_initialisation_does_not_saturate_a_sigmoid_net_on_pixels(seed):
    """With 784 inputs in [0, 1], weights in micrograd's uniform(-1, 1) give |w·x| around 9, where
    a sigmoid's slope is 1e-4: nothing would learn. The first layer must start in the steep middle."""
    model = MLP(784, [16, 16, 10], activation="sigmoid", output="sigmoid", seed=seed)
    W, b = weight_matrices(model)[0]
    pixels = np.random.default_rng(100 + seed).uniform(0, 1, size=(784, 20))
    z = W @ pixels + b[:, None]
    assert np.abs(z).max() < 2.0, np.abs(z).max()


# --- gradients through a whole network ---


def test_network_gradients_match_finite_differences():
    model = MLP(3, [4, 3, 2], activation="tanh", output="sigmoid", seed=5)
    x, target = [0.3, -1.2, 0.8], [1.0, 0.0]

    def cost():
        return sum((y - t) ** 2 for y, t in zip(model(x), target))

    model.zero_grad()
    loss = cost()
    loss.backward()
    for i, p in enumerate(model.parameters()):
        original = p.data

        def cost_at(value):
            p.data = value
            return cost().data

        numeric = central_difference(cost_at, original)
        p.data = original
        assert_close_to_fd(p.grad, numeric, abs(loss.data), what=f"parameter {i}")


# --- a script written for micrograd runs with our imports ---


def test_a_micrograd_script_runs_unchanged():
    """micrograd's README expression and its demo's training loop, written against micrograd's API:
    only the imports differ (micrograd.engine.Value -> autodiff.Value, micrograd.nn.MLP -> nn.MLP)."""
    a = Value(-4.0)
    b = Value(2.0)
    c = a + b
    d = a * b + b**3
    c += c + 1
    c += 1 + c + (-a)
    d += d * 2 + (b + a).relu()
    d += 3 * d + (b - a).relu()
    e = c - d
    f = e**2
    g = f / 2.0
    g += 10.0 / f
    g.backward()
    # the figures micrograd's README prints (its tests check them against PyTorch)
    assert (f"{g.data:.4f}", f"{a.grad:.4f}", f"{b.grad:.4f}") == ("24.7041", "138.8338", "645.5773")
    assert g._prev and isinstance(g._prev, set) and g._op == g.op  # what micrograd's graph drawing reads

    # two classes of 2-D points: inside or outside a circle, labels -1 / +1 as numpy ints
    rng = np.random.default_rng(0)
    X = rng.uniform(-1, 1, size=(40, 2))
    y = np.where((X**2).sum(axis=1) < 0.4, 1, -1)
    model = MLP(2, [16, 16, 1])

    def loss():
        inputs = [list(map(Value, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * scorei).relu() for yi, scorei in zip(y, scores)]  # the max-margin hinge
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum((p * p for p in model.parameters()))
        accuracy = [(yi > 0) == (scorei.data > 0) for yi, scorei in zip(y, scores)]
        return data_loss + reg_loss, sum(accuracy) / len(accuracy)

    first, _ = loss()
    for k in range(40):
        total_loss, accuracy = loss()
        model.zero_grad()
        total_loss.backward()
        learning_rate = 1.0 - 0.9 * k / 40
        for p in model.parameters():
            p.data -= learning_rate * p.grad
    last, accuracy = loss()
    assert last.data < 0.5 * first.data, (first.data, last.data)
    assert accuracy >= 0.85


# --- losses and optimisers: training lowers the cost ---


@given(
    st.integers(1, 4).flatmap(
        lambda n: st.tuples(
            st.lists(st.lists(st.floats(-5, 5), min_size=3, max_size=3), min_size=n, max_size=n),
            st.lists(st.lists(st.floats(-5, 5), min_size=3, max_size=3), min_size=n, max_size=n),
        )
    )
)
def test_squared_error_is_the_mean_of_summed_squares(case):
    from nn.losses import squared_error

    outputs, targets = case
    values = [[Value(o) for o in row] for row in outputs]
    cost = squared_error(values, targets)
    o, t = np.array(outputs), np.array(targets)
    assert cost.data == pytest.approx(((o - t) ** 2).sum(axis=1).mean(), rel=1e-12, abs=1e-12)
    cost.backward()
    grads = np.array([[v.grad for v in row] for row in values])
    np.testing.assert_allclose(grads, 2 * (o - t) / len(outputs), rtol=1e-12, atol=1e-12)


def test_squared_error_by_hand():
    from nn.losses import squared_error

    outputs = [[Value(1.0), Value(2.0)], [Value(0.0), Value(-1.0)]]
    cost = squared_error(outputs, [[0, 0], [1, 1]])  # ((1 + 4) + (1 + 4)) / 2
    assert cost.data == 5.0


def log_softmax(z):
    z = np.asarray(z, dtype=float)
    shifted = z - z.max()
    return shifted - np.log(np.exp(shifted).sum())


@given(
    st.integers(2, 5).flatmap(
        lambda k: st.lists(
            st.tuples(st.lists(st.floats(-30, 30), min_size=k, max_size=k), st.integers(0, k - 1)),
            min_size=1,
            max_size=4,
        )
    )
)
def test_cross_entropy_against_numpy(examples):
    from nn.losses import cross_entropy

    logits = [[Value(z) for z in zs] for zs, _ in examples]
    labels = [label for _, label in examples]
    cost = cross_entropy(logits, labels)
    expected = np.mean([-log_softmax(zs)[label] for zs, label in examples])
    assert cost.data == pytest.approx(expected, rel=1e-9, abs=1e-12)
    cost.backward()
    for (zs, label), row in zip(examples, logits):
        onehot = np.eye(len(zs))[label]
        expected_grad = (np.exp(log_softmax(zs)) - onehot) / len(examples)  # softmax minus the target
        np.testing.assert_allclose([v.grad for v in row], expected_grad, rtol=1e-9, atol=1e-12)


def test_cross_entropy_does_not_overflow_on_large_logits():
    from nn.losses import cross_entropy

    assert cross_entropy([[Value(1000.0), Value(0.0)]], [0]).data == pytest.approx(0.0, abs=1e-12)
    assert cross_entropy([[Value(1000.0), Value(0.0)]], [1]).data == pytest.approx(1000.0)


def test_sgd_step_and_zero_grad():
    from nn.optim import SGD

    a, b = Value(1.0), Value(-2.0)
    a.grad, b.grad = 0.5, -4.0
    optimizer = SGD([a, b], lr=0.1)
    optimizer.step()
    assert (a.data, b.data) == (1.0 - 0.1 * 0.5, -2.0 - 0.1 * -4.0)
    optimizer.zero_grad()
    assert (a.grad, b.grad) == (0.0, 0.0)


def test_sgd_momentum_speeds_up_along_a_constant_gradient():
    from nn.optim import SGD

    p = Value(0.0)
    optimizer = SGD([p], lr=0.1, momentum=0.9)
    positions = [p.data]
    for _ in range(2):
        p.grad = 1.0
        optimizer.step()
        positions.append(p.data)
    first, second = positions[1] - positions[0], positions[2] - positions[1]
    assert first == pytest.approx(-0.1) and second == pytest.approx(-0.1 * 1.9)


def toy_classification(n=24, seed=0):
    """Four features, three classes: the label is the largest of three fixed linear scores."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(0, 1, size=(n, 4))
    labels = (X @ rng.normal(size=(4, 3))).argmax(axis=1)
    return [list(x) for x in X], [int(label) for label in labels]


def cross_entropy_cost(model, X, labels):
    from nn.losses import cross_entropy

    return cross_entropy([model(x) for x in X], labels)


def squared_error_cost(model, X, labels):
    from nn.losses import squared_error

    return squared_error([model(x) for x in X], [list(np.eye(3)[label]) for label in labels])


@pytest.mark.parametrize(
    "cost, network, lr, momentum",
    [
        (squared_error_cost, dict(activation="sigmoid", output="sigmoid"), 2.0, 0.0),  # the video's network
        (cross_entropy_cost, dict(), 0.1, 0.9),  # micrograd's: relu hidden, linear output
    ],
)
def test_training_lowers_the_cost(cost, network, lr, momentum):
    from nn.optim import SGD

    X, labels = toy_classification()
    model = MLP(4, [8, 3], **network)
    optimizer = SGD(model.parameters(), lr=lr, momentum=momentum)
    costs = []
    for _ in range(30):
        c = cost(model, X, labels)
        costs.append(c.data)
        optimizer.zero_grad()
        c.backward()
        optimizer.step()
    assert costs[-1] < 0.5 * costs[0], costs


@pytest.mark.parametrize("cost", [squared_error_cost, cross_entropy_cost])
def test_a_small_step_lowers_the_cost_by_lr_times_the_squared_gradient(cost):
    """To first order, C(p - lr·g) = C(p) - lr·|g|²: the gradient points uphill, by exactly that much."""
    from nn.optim import SGD

    X, labels = toy_classification()
    model = MLP(4, [8, 3], activation="tanh", output="linear", seed=2)
    before = cost(model, X, labels)
    model.zero_grad()
    before.backward()
    squared_gradient = sum(p.grad**2 for p in model.parameters())
    lr = 1e-5
    SGD(model.parameters(), lr=lr).step()
    drop = before.data - cost(model, X, labels).data
    assert math.isclose(drop, lr * squared_gradient, rel_tol=1e-3)


# --- constructors refuse nonsense by name (issue 10, cause 9) ---

from nn.fast import FastMLP  # noqa: E402


@pytest.mark.parametrize("make", [MLP, FastMLP], ids=["MLP", "FastMLP"])
@pytest.mark.parametrize("args, kwargs, error, named", [
    ((2, []), {}, ValueError, "nouts must name at least one layer"),
    ((2, [0]), {}, ValueError, r"nouts\[0\] must be at least 1, got 0"),
    ((2, [3, -1]), {}, ValueError, r"nouts\[1\] must be at least 1"),
    ((2, [3]), {"activation": "softmax"}, ValueError, "unknown activation 'softmax'"),  # unused by one layer, still checked
    ((2, [3]), {"output": "softmax"}, ValueError, "unknown activation 'softmax'"),
    ((0, [3]), {}, ValueError, "nin must be at least 1, got 0"),
    (("2", [3]), {}, TypeError, "nin must be a whole number of neurons, got str '2'"),
    ((2.0, [3]), {}, TypeError, "nin must be a whole number"),
    ((True, [3]), {}, TypeError, "nin must be a whole number"),
    ((2, 3), {}, TypeError, "nouts must be a list of layer sizes .* got int 3"),
    ((2, "3"), {}, TypeError, "nouts must be a list of layer sizes"),
    ((2, [3]), {"seed": -1}, ValueError, "seed must be a whole number >= 0"),
    ((2, [3]), {"seed": 1.5}, ValueError, "seed must be a whole number >= 0"),
    ((10**6, [10**6, 10]), {}, ValueError, r"make 1,000,011,000,010 parameters, about .* TiB of memory; this machine has"),
])
def test_constructors_refuse_nonsense_naming_the_argument(make, args, kwargs, error, named):
    with pytest.raises(error, match=named):
        make(*args, **kwargs)


@pytest.mark.parametrize("dtype", [np.int64, np.int32, np.bool_, np.complex128, np.float16, "text"])
def test_fastmlp_takes_only_float32_or_float64(dtype):
    with pytest.raises(TypeError, match="dtype must be float32 or float64"):
        FastMLP(2, [3], dtype=dtype)


def test_good_arguments_of_every_kind_are_accepted():
    assert MLP(np.int64(2), (3, np.int32(1)), seed=np.uint8(4)).layers[1].neurons[0].activation == "linear"
    assert FastMLP(2, range(1, 3), seed=None, dtype="float32").sizes == [2, 1, 2]
