"""What the fast path's speed rests on, checked: where finiteness is checked, gradients taken without
copies, and optimizers that update in place (no timing here: see benchmarks/)."""
import tracemalloc
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff.tensor import Tensor
from nn.fast import FastMLP
from nn.losses import cross_entropy, squared_error
from nn.module import zero_grad
from nn.optim import SGD, Adam

# --- finiteness: checked where it can be lost ---

EXTREMES = st.sampled_from([32, 64]).flatmap(  # any finite floats of either width, huge ones included
    lambda bits: st.lists(st.floats(width=bits, allow_nan=False, allow_infinity=False), min_size=1, max_size=20)
    .map(lambda xs: np.array(xs, np.float32 if bits == 32 else np.float64)))


@settings(max_examples=200, deadline=None)
@given(EXTREMES)
def test_sigmoid_tanh_and_relu_of_any_finite_array_are_finite_so_they_need_no_scan(x):
    t = Tensor(x, x.dtype)
    for out in (t.sigmoid(), t.tanh(), t.relu()):
        assert np.isfinite(out.data).all() and np.isfinite(out._local_grads[0]).all(), (out.op, x)


def test_a_nan_in_the_networks_input_is_refused_naming_the_layer():
    net = FastMLP(4, [3, 2])
    x = np.ones((5, 4))
    x[2, 1] = np.nan
    with pytest.raises(ValueError, match=r"w·x\+b: the inputs must be finite, got nan"):
        net(x)


def test_an_overflowing_layer_is_named():
    net = FastMLP(4, [3, 2], dtype=np.float32)
    net.weights[0].data[...] = 3e38
    overflow = r"w·x\+b: the result .* overflows the range of float32"
    with warnings.catch_warnings(), pytest.raises(OverflowError, match=overflow):
        warnings.simplefilter("ignore")  # numpy's RuntimeWarning comes first: see Tensor.weighted_sum
        net(np.ones((2, 4), np.float32))


def test_a_network_input_that_is_not_numbers_is_a_type_error():
    with pytest.raises(TypeError, match="real numbers"):
        FastMLP(2, [1])(np.array([["a", "b"]]))


@pytest.mark.parametrize("cost", ["squared", "cross-entropy"])
def test_a_cost_that_overflows_is_named_with_no_warning_first(cost):
    outputs = Tensor(np.full((2, 3), 3e38, np.float32), np.float32)
    name = "squared-error" if cost == "squared" else "cross-entropy"
    with warnings.catch_warnings(), pytest.raises(OverflowError, match=name):
        warnings.simplefilter("error")
        if cost == "squared":
            squared_error(outputs, -np.full((2, 3), 3e38))
        else:
            cross_entropy(Tensor(np.array([[3e38, -3e38]], np.float32), np.float32), np.array([1]))


@pytest.mark.parametrize("bad, error, message", [
    (np.nan, ValueError, "must be finite, got nan"),
    (-np.inf, ValueError, "must be finite, got -inf"),
    (1e39, OverflowError, "1e\\+39 does not fit in float32"),  # finite in float64, not once cast
])
def test_targets_that_are_not_finite_are_named_though_only_the_cost_is_scanned(bad, error, message):
    outputs = Tensor(np.full((3, 2), 0.5, np.float32), np.float32)
    targets = np.zeros((3, 2))
    targets[1, 0] = bad
    with warnings.catch_warnings(), pytest.raises(error, match=message):
        warnings.simplefilter("error")
        squared_error(outputs, targets)


def test_a_batch_already_in_the_networks_dtype_is_used_as_it_is_and_stays_the_callers():
    net = FastMLP(4, [3, 2], dtype=np.float32)
    images = np.ones((5, 4), np.float32)
    outputs = net(images)
    first = outputs
    while first._children:  # down to the first layer's inputs
        first = first._children[0] if first.op != "w·x+b" else first._children[1]
    assert first.data is images  # no copy
    images[0, 0] = 2.0  # not locked: data passed in stays the caller's
    with pytest.raises(TypeError, match="must be a float type"):
        Tensor(np.array([1, 2]), np.int64)  # an array of the asked-for dtype is still checked


def test_large_but_finite_float32_gradients_are_no_error_nor_warning():
    """Finite gradients pass backward's check, however it tests them (a sum, a sum of squares, which
    overflows float32 beyond 1.8e19): a cheap test that fails is followed by the search, which finds nothing."""
    x = Tensor(np.ones(3, np.float32), np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        (x * 1e20).sum().backward()
    assert np.all(x.grad == np.float32(1e20))


# --- gradients: the first contribution is taken as it is, later ones are added into a new array ---

VIEWS = {  # ops whose contribution to their input is a view of another array
    "reshape": lambda x: x.reshape(6) * np.arange(6.0),
    "T": lambda x: x.T * np.arange(6.0).reshape(3, 2),
    "sum": lambda x: x.sum(axis=0) * np.arange(3.0),
    "mean": lambda x: x.mean() * 3.0,
}


@pytest.mark.parametrize("op", sorted(VIEWS))
def test_gradients_that_are_views_accumulate_across_passes_without_touching_the_graph(op):
    x = Tensor(np.arange(6.0).reshape(2, 3))
    costs = [VIEWS[op](x).sum() for _ in range(3)]
    costs[0].backward()
    once = x.grad.copy()
    interior = [node.grad.copy() for node in _interior(costs[0])]
    costs[1].backward()
    np.testing.assert_array_equal(x.grad, 2 * once)  # accumulated, as in PyTorch
    for node, before in zip(_interior(costs[0]), interior):
        np.testing.assert_array_equal(node.grad, before)  # the first graph's gradients untouched
    zero_grad([x])
    costs[2].backward()
    np.testing.assert_array_equal(x.grad, once)


def _interior(root):
    from autodiff.graph import topological_order
    return topological_order(root, leaves=False)


def test_a_leaf_used_twice_in_a_pass_gets_both_contributions_after_zero_grad():
    x = Tensor(np.array([1.0, 2.0]))
    zero_grad([x])
    assert x.grad == 0.0
    (x * x + x.T).sum().backward()
    np.testing.assert_array_equal(x.grad, 2 * x.data + 1)


# --- optimizers: the textbook formulas, computed in place ---

def adam_by_hand(p, grads, lr, b1=0.9, b2=0.999, eps=1e-8):
    m = v = 0.0
    for t, g in enumerate(grads, 1):
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v / (1 - b2**t)) + eps)
    return p


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.integers(0, 2**32 - 1))
def test_adam_in_place_equals_the_textbook_formula(steps, seed):
    rng = np.random.default_rng(seed)
    start, grads = rng.normal(size=(3, 4)), rng.normal(size=(steps, 3, 4))
    p = Tensor(start.copy())
    adam = Adam([p], lr=0.01)
    for g in grads:
        zero_grad([p])
        p.grad = p.grad + g
        adam.step()
    np.testing.assert_allclose(p.data, adam_by_hand(start, grads, 0.01), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("make, temporaries", [
    (lambda ps: Adam(ps, lr=0.01), 0),
    (lambda ps: SGD(ps, lr=0.01, momentum=0.9), 1),  # lr * velocity
    (lambda ps: SGD(ps, lr=0.01), 1),  # lr * grad
])
def test_a_step_allocates_no_more_than_its_temporaries(make, temporaries):
    p = Tensor(np.zeros((500, 400)))  # 1.6 MB
    optimizer = make([p])
    p.grad = np.ones((500, 400))
    optimizer.step()  # warm up
    tracemalloc.start()
    optimizer.step()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < (temporaries + 0.5) * p.data.nbytes, f"{peak / p.data.nbytes:.2f} arrays' worth allocated"
