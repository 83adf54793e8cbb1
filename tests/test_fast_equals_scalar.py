"""The vectorized engine equals the scalar one: Tensor against Value, FastMLP against MLP.

The scalar engine is the reference: every Tensor op is rebuilt element by element from Values
(broadcasting done by hand, with np.broadcast_to on an array of Value objects), both graphs are
reduced to one cost with a random weight per output element (so every element receives its own
upstream gradient), both are differentiated, and values and gradients are compared element by
element.
"""
import operator

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import BroadcastableShapes, array_shapes, mutually_broadcastable_shapes

from autodiff import Value
from autodiff.tensor import Tensor
from nn import losses
from nn.fast import FastMLP
from nn.mlp import ACTIVATIONS, MLP

RTOL = 1e-9


def assert_close(actual, expected, what):
    """Equal to RTOL, relative to each element or, for sums that cancel, to the largest element.

    The engines add in different orders (numpy's pairwise sums and BLAS against Python's left to
    right), so a sum that cancels to nearly 0 keeps an error of order RTOL times its terms.
    """
    expected = np.asarray(expected, dtype=np.float64)
    scale = np.max(np.abs(expected), initial=0.0)
    np.testing.assert_allclose(actual, expected, rtol=RTOL, atol=RTOL * scale, err_msg=what)


# --- data in each op's domain ---


def anything(rng, shape):
    """Reals in [-3, 3], a fifth of them small integers: zeros (relu's kink) and integer powers."""
    return np.where(rng.random(shape) < 0.2, rng.integers(-2, 3, shape), rng.uniform(-3, 3, shape))


def nonzero(rng, shape):
    return rng.choice([-1.0, 1.0], shape) * rng.uniform(0.5, 3, shape)


def positive(rng, shape):
    return rng.uniform(0.2, 3, shape)


def wide(rng, shape):
    """Where sigmoid saturates."""
    return rng.uniform(-40, 40, shape)


# --- the ops: each function works on Values and on Tensors alike ---

UNARY = {  # name: (op, domain of its input)
    "neg": (operator.neg, anything),
    "exp": (lambda x: x.exp(), anything),
    "log": (lambda x: x.log(), positive),
    # not saturated: math.tanh and np.tanh may differ in the last bit, which 1 - t² turns into a
    # relative error of 1e-7 where t rounds to within a few bits of 1
    "tanh": (lambda x: x.tanh(), anything),
    "sigmoid": (lambda x: x.sigmoid(), wide),
    "relu": (lambda x: x.relu(), anything),
    "**2": (lambda x: x**2, anything),
    "**3": (lambda x: x**3, anything),
    "**0": (lambda x: x**0, anything),
    "**-1": (lambda x: x**-1, nonzero),
    "**-2": (lambda x: x**-2.0, nonzero),
    "**0.5": (lambda x: x**0.5, positive),
    "**-1.5": (lambda x: x**-1.5, positive),
    "+ 2.5": (lambda x: x + 2.5, anything),
    "- 2": (lambda x: x - 2, anything),
    "* -1.5": (lambda x: x * -1.5, anything),
    "/ 4": (lambda x: x / 4, anything),
    "2.5 +": (lambda x: 2.5 + x, anything),  # the reflected ops
    "2 -": (lambda x: 2 - x, anything),
    "-1.5 *": (lambda x: -1.5 * x, anything),
    "3 /": (lambda x: 3 / x, nonzero),
    "1.7 **": (lambda x: 1.7**x, anything),
    "np.float64 *": (lambda x: np.float64(0.75) * x, anything),
}

BINARY = {  # name: (op, domain of the left operand, domain of the right one)
    "+": (operator.add, anything, anything),
    "-": (operator.sub, anything, anything),
    "*": (operator.mul, anything, anything),
    "/": (operator.truediv, anything, nonzero),
    "**": (operator.pow, positive, anything),
}


# --- the scalar engine, element by element ---


def value_grid(array):
    """An object array of fresh Values holding the numbers of `array`."""
    grid = np.empty(array.shape, dtype=object)
    for index in np.ndindex(array.shape):
        grid[index] = Value(float(array[index]))
    return grid


def elementwise(op, *grids):
    """op applied to Values, the operands broadcast to a common shape as numpy would."""
    shape = np.broadcast_shapes(*(g.shape for g in grids))
    operands = [np.broadcast_to(g, shape) for g in grids]
    out = np.empty(shape, dtype=object)
    for index in np.ndindex(shape):
        out[index] = op(*(o[index] for o in operands))
    return out


def datas(grid):
    return np.array([v.data for v in grid.flat]).reshape(grid.shape)


def grads(grid):
    return np.array([v.grad for v in grid.flat]).reshape(grid.shape)


def check_same(tensor_op, value_op, arrays, seed):
    """tensor_op on Tensors equals value_op on grids of Values: outputs, a weighted cost, input gradients."""
    tensors = [Tensor(a) for a in arrays]
    grids = [value_grid(a) for a in arrays]
    out_t = tensor_op(*tensors)
    out_v = np.asarray(value_op(*grids), dtype=object)  # a lone Value (a full sum) becomes a 0-d grid
    assert out_t.shape == out_v.shape
    assert_close(out_t.data, datas(out_v), "forward values")

    weights = np.random.default_rng(seed + 1).normal(size=out_t.shape)
    cost_t = (out_t * weights).sum()
    cost_v = sum(v * float(w) for v, w in zip(out_v.flat, weights.flat))
    cost_t.backward()
    cost_v.backward()
    assert_close(cost_t.data, cost_v.data, "cost")
    for i, (t, g) in enumerate(zip(tensors, grids)):
        assert t.grad.shape == t.shape, f"operand {i}: gradient of shape {t.grad.shape} for shape {t.shape}"
        assert_close(t.grad, grads(g), f"gradient of operand {i}")


seeds = st.integers(0, 2**32 - 1)
shapes = array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=4)
broadcastable_pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=4)
EXAMPLE_SEED = 12345


# --- elementwise ops ---


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(UNARY)), shapes, seeds)
def test_unary_ops_and_ops_with_numbers_equal_the_scalar_engine(name, shape, seed):
    op, domain = UNARY[name]
    check_same(op, lambda grid: elementwise(op, grid), [domain(np.random.default_rng(seed), shape)], seed)


def pair(a, b):
    return BroadcastableShapes(input_shapes=(a, b), result_shape=np.broadcast_shapes(a, b))


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(BINARY)), broadcastable_pairs, seeds)
@example("+", pair((3, 1), (4,)), EXAMPLE_SEED)
@example("*", pair((2, 3), (1, 3)), EXAMPLE_SEED)
@example("/", pair((), (2, 2)), EXAMPLE_SEED)
@example("**", pair((2, 1, 3), (4, 1)), EXAMPLE_SEED)
@example("-", pair((1,), (3, 2)), EXAMPLE_SEED)
def test_binary_ops_with_broadcasting_equal_the_scalar_engine(name, broadcast, seed):
    op, left, right = BINARY[name]
    rng = np.random.default_rng(seed)
    a_shape, b_shape = broadcast.input_shapes
    arrays = [left(rng, a_shape), right(rng, b_shape)]
    check_same(op, lambda a, b: elementwise(op, a, b), arrays, seed)


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(sorted(BINARY)), shapes, seeds)
def test_an_operand_used_twice_gets_both_contributions(name, shape, seed):
    op, left, right = BINARY[name]
    domain = positive if name in ("/", "**") else anything
    data = domain(np.random.default_rng(seed), shape)
    check_same(lambda t: op(t, t), lambda grid: elementwise(lambda v: op(v, v), grid), [data], seed)


@settings(max_examples=50, deadline=None)
@given(broadcastable_pairs, seeds)
def test_a_chain_of_ops_reusing_intermediate_results_equals_the_scalar_engine(broadcast, seed):
    rng = np.random.default_rng(seed)
    a_shape, b_shape = broadcast.input_shapes
    arrays = [anything(rng, a_shape), positive(rng, b_shape)]

    def program(a, b):  # the same text runs on Values and on Tensors
        h = (a * b.log() - 1.5).tanh()
        z = h * h.sigmoid() + (2 - h) / b  # h and b are each used several times
        return (z.relu() + z.exp() * 0.1) ** 2

    check_same(program, lambda a, b: elementwise(program, a, b), arrays, seed)


# --- ops that mix elements ---

sides = st.integers(1, 4)


@settings(max_examples=60, deadline=None)
@given(sides, sides, sides, seeds)
def test_matmul_equals_sums_of_scalar_products(n, k, m, seed):
    rng = np.random.default_rng(seed)

    def matmul(a, b):
        out = np.empty((n, m), dtype=object)
        for i in range(n):
            for j in range(m):
                out[i, j] = sum(a[i, t] * b[t, j] for t in range(k))
        return out

    check_same(operator.matmul, matmul, [anything(rng, (n, k)), anything(rng, (k, m))], seed)


@settings(max_examples=60, deadline=None)
@given(sides, sides, sides, seeds)
def test_weighted_sum_equals_one_scalar_weighted_sum_per_neuron_and_example(nout, nin, batch, seed):
    rng = np.random.default_rng(seed)

    def weighted_sum(w, x, b):
        out = np.empty((batch, nout), dtype=object)
        for e in range(batch):
            for j in range(nout):
                out[e, j] = Value.weighted_sum(list(w[j]), list(x[e]), b[j])
        return out

    arrays = [anything(rng, (nout, nin)), anything(rng, (batch, nin)), anything(rng, (nout,))]
    check_same(Tensor.weighted_sum, weighted_sum, arrays, seed)


@st.composite
def reductions(draw):
    """A shape, an axis of it (or None for all of them) and keepdims."""
    shape = draw(shapes)
    axis = draw(st.none() | st.integers(-len(shape), len(shape) - 1)) if shape else None
    return shape, axis, draw(st.booleans())


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(["sum", "mean"]), reductions(), seeds)
@example("sum", ((3, 4), 0, False), EXAMPLE_SEED)
@example("mean", ((2, 3, 4), -1, True), EXAMPLE_SEED)
@example("mean", ((2, 3), None, True), EXAMPLE_SEED)
def test_sum_and_mean_over_an_axis_equal_the_scalar_engine(name, reduction, seed):
    shape, axis, keepdims = reduction
    data = anything(np.random.default_rng(seed), shape)
    count = data.size if axis is None else shape[axis]

    def scalar(grid):  # numpy's reduction over an object array adds the Values themselves
        total = grid.sum(axis=axis, keepdims=keepdims)
        return total if name == "sum" else elementwise(lambda v: v / count, np.asarray(total, dtype=object))

    check_same(lambda t: getattr(t, name)(axis=axis, keepdims=keepdims), scalar, [data], seed)


@st.composite
def reshapes(draw):
    """A shape and another one with as many elements."""
    shape = draw(shapes)
    size = int(np.prod(shape))
    others = [shape[::-1], (size,), (1, size), (size, 1), shape + (1,), (-1,)]
    return shape, draw(st.sampled_from(others))


@settings(max_examples=40, deadline=None)
@given(reshapes(), seeds)
def test_reshape_moves_values_and_gradients_like_the_scalar_grid(reshape, seed):
    shape, new = reshape
    data = anything(np.random.default_rng(seed), shape)
    check_same(lambda t: t.reshape(new), lambda grid: grid.reshape(new), [data], seed)


@settings(max_examples=40, deadline=None)
@given(shapes, seeds)
def test_transpose_moves_values_and_gradients_like_the_scalar_grid(shape, seed):
    data = anything(np.random.default_rng(seed), shape)
    check_same(lambda t: t.T, lambda grid: grid.T, [data], seed)


# --- bad input: the Tensor refuses exactly what the Values refuse ---

TROUBLE = [0.0, -0.5, 0.5, -1.0, 1.0, -2.0, 3.0, 800.0, 1e200, -1e200]  # poles, negatives, overflow

OP_NAMES = {  # the names an error may give an op by
    "+": ("+",), "-": ("-",), "*": ("*",), "/": ("/", "div"), "**": ("**", "pow"),
    "neg": ("neg",), "exp": ("exp",), "log": ("log",), "tanh": ("tanh",), "sigmoid": ("sigmoid",),
    "relu": ("relu",),
}


def names_of(name):
    """The op a test op is built on: "3 /" is a division, "**-1" a power."""
    if name in OP_NAMES:
        return OP_NAMES[name]
    for symbol in ("**", "/", "*", "+", "-"):
        if symbol in name:
            return OP_NAMES[symbol]
    raise KeyError(name)


def scalar_errors(op, *grids):
    """The types of error that op raises on the elements of the grids (empty if none does)."""
    shape = np.broadcast_shapes(*(g.shape for g in grids))
    errors = set()
    for index in np.ndindex(shape):
        try:
            op(*(np.broadcast_to(g, shape)[index] for g in grids))
        except (ArithmeticError, ValueError) as error:
            errors.add(type(error))
    return errors


def check_same_errors(name, op, arrays):
    expected = scalar_errors(op, *(value_grid(a) for a in arrays))
    if not expected:
        op(*(Tensor(a) for a in arrays))  # must not raise either
        return
    with pytest.raises((ArithmeticError, ValueError)) as raised:
        op(*(Tensor(a) for a in arrays))
    assert raised.type in expected, f"Tensor raised {raised.type.__name__}, Value raises {expected}"
    message = str(raised.value)
    assert any(n in message for n in names_of(name)), f"{message!r} does not name the op {name}"


troubled = st.lists(st.sampled_from(TROUBLE), min_size=1, max_size=4).map(np.array)


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(UNARY)), troubled)
@example("log", np.array([1.0, 0.0]))
@example("**-1", np.array([0.0]))
@example("**0.5", np.array([-1.0]))
@example("exp", np.array([800.0]))
def test_unary_ops_fail_where_the_scalar_engine_fails_with_the_same_error(name, data):
    check_same_errors(name, UNARY[name][0], [data])


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(sorted(BINARY)), troubled, troubled)
@example("/", np.array([1.0]), np.array([0.0]))
@example("**", np.array([0.0]), np.array([-1.0]))
@example("**", np.array([-1.0]), np.array([0.5]))
@example("*", np.array([1e200]), np.array([1e200]))
def test_binary_ops_fail_where_the_scalar_engine_fails_with_the_same_error(name, a, b):
    check_same_errors(name, BINARY[name][0], [a.reshape(-1, 1), b])  # (n, 1) with (m,): every pair meets


# --- whole networks: FastMLP against MLP ---

COSTS = ["squared error, one-hot targets", "squared error, random targets", "cross-entropy"]


def scalar_arrays(mlp, attribute):
    """An MLP's weights (or their gradients) in FastMLP's layout: per layer a (nout, nin) matrix, then a bias."""
    arrays = []
    for layer in mlp.layers:
        arrays.append(np.array([[getattr(w, attribute) for w in n.w] for n in layer.neurons]))
        arrays.append(np.array([getattr(n.b, attribute) for n in layer.neurons]))
    return arrays


def as_list(output):
    """A scalar MLP's output as a list: like micrograd's, a one-neuron layer returns a lone Value."""
    return output if isinstance(output, list) else [output]


def random_layers(sizes, rng):
    """Weights and biases at the initialisation's scale, ±1/sqrt(nin).

    Larger ones saturate tanh and sigmoid units, whose gradients (1 - t², s(1 - s)) then cancel
    catastrophically and turn a last-bit difference between math.tanh and np.tanh into a relative
    difference of 1e-6: a property of floating point, not of either engine.
    """
    bounds = [1 / np.sqrt(nin) for nin in sizes[:-1]]
    return [(rng.uniform(-b, b, (nout, nin)), rng.uniform(-b, b, nout)) for nin, nout, b in zip(sizes, sizes[1:], bounds)]


@st.composite
def networks(draw):
    nin = draw(st.integers(1, 8))
    nouts = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    activation, output = draw(st.sampled_from(sorted(ACTIVATIONS))), draw(st.sampled_from(sorted(ACTIVATIONS)))
    return nin, nouts, activation, output


@settings(max_examples=120, deadline=None)
@given(networks(), st.sampled_from(COSTS), st.integers(1, 6), st.booleans(), seeds)
def test_fast_mlp_cost_and_gradients_equal_the_scalar_mlp(network, cost, batch, from_scalar, seed):
    nin, nouts, activation, output = network
    rng = np.random.default_rng(seed)
    mlp = MLP(nin, nouts, activation, output, seed=seed)
    fast = FastMLP(nin, nouts, activation, output, seed=seed)
    for scalar, vectorized in zip(scalar_arrays(mlp, "data"), (p.data for p in fast.parameters())):
        np.testing.assert_array_equal(scalar, vectorized, "the same seed must give the same weights")

    # New random weights and nonzero biases, in one engine, then copied to the other.
    layers = random_layers([nin] + nouts, rng)
    if from_scalar:
        for layer, (w, b) in zip(mlp.layers, layers):
            for neuron, row, bias in zip(layer.neurons, w, b):
                for v, x in zip(neuron.w, row):
                    v.data = float(x)
                neuron.b.data = float(bias)
        fast = FastMLP.from_scalar(mlp)
    else:
        for p, array in zip(fast.parameters(), (a for layer in layers for a in layer)):
            p.data[...] = array
        mlp = fast.to_scalar()

    k = nouts[-1]
    x = rng.uniform(-2, 2, (batch, nin))
    labels = rng.integers(0, k, batch)
    targets = np.eye(k)[labels] if cost.startswith("squared error, one-hot") else rng.uniform(-1, 1, (batch, k))
    outputs = [as_list(mlp(list(example))) for example in x.tolist()]
    if cost == "cross-entropy":
        cost_v, cost_t = losses.cross_entropy(outputs, labels.tolist()), losses.cross_entropy(fast(x), labels)
    else:
        cost_v, cost_t = losses.squared_error(outputs, targets.tolist()), losses.squared_error(fast(x), targets)

    cost_v.backward()
    cost_t.backward()
    assert_close(cost_t.data, cost_v.data, "cost")
    names = [f"{kind} of layer {i}" for i in range(len(nouts)) for kind in ("weights", "biases")]
    for name, scalar, p in zip(names, scalar_arrays(mlp, "grad"), fast.parameters()):
        assert p.grad.shape == scalar.shape, name
        assert_close(p.grad, scalar, f"gradient of the {name}")
