"""Tensor on its own: input checks, clear errors, float32, the backward walk, finite differences.

test_fast_equals_scalar.py checks every op against the scalar engine; this file checks what only a
Tensor has (shapes, dtypes, whole-array gradients) against hand computations and finite differences.
"""
import sys
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff.graph import topological_order
from autodiff.tensor import Tensor

# --- bad input ---


@pytest.mark.parametrize("data", ["abc", ["a", "b"], [1.0, "2"], None, {"a": 1}, [1 + 2j], object()])
def test_non_numeric_data_is_a_type_error(data):
    with pytest.raises(TypeError):
        Tensor(data)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_or_inf_is_a_value_error(bad):
    with pytest.raises(ValueError, match="finite"):
        Tensor([1.0, bad])
    with pytest.raises(ValueError, match="finite"):
        Tensor([1.0, 2.0]) * bad  # a number in an op is checked too


def test_a_string_operand_is_a_type_error():
    with pytest.raises(TypeError):
        Tensor([1.0, 2.0]) + "3"


MISMATCHED = {  # op: (how to apply it, the names an error may give it)
    "+": (lambda a, b: a + b, ("+",)),
    "-": (lambda a, b: a - b, ("-",)),
    "*": (lambda a, b: a * b, ("*",)),
    "/": (lambda a, b: a / b, ("/", "div")),
    "**": (lambda a, b: a**b, ("**", "pow")),
    "@": (lambda a, b: a @ b, ("@", "matmul")),
}


@pytest.mark.parametrize("op", sorted(MISMATCHED))
@pytest.mark.parametrize("shapes", [((2, 3), (4,)), ((3, 2), (2, 3, 4)), ((2,), (3,))])
def test_mismatched_shapes_raise_an_error_naming_both_shapes_and_the_op(op, shapes):
    apply, names = MISMATCHED[op]
    a, b = (Tensor(np.full(shape, 2.0)) for shape in shapes)
    with pytest.raises(ValueError) as raised:
        apply(a, b)
    message = str(raised.value)
    assert str(shapes[0]) in message and str(shapes[1]) in message, message
    assert any(name in message for name in names), message


def test_weighted_sum_names_the_shapes_that_do_not_fit():
    w, x, b = Tensor(np.ones((3, 4))), Tensor(np.ones((2, 5))), Tensor(np.ones(3))
    with pytest.raises(ValueError, match=r"w·x\+b.*\(3, 4\).*\(2, 5\)"):
        Tensor.weighted_sum(w, x, b)


def test_reshape_to_a_different_size_names_both_shapes():
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*5"):
        Tensor(np.ones((2, 3))).reshape(5)


@pytest.mark.parametrize("op", ["sum", "mean"])
@pytest.mark.parametrize("axis", [2, -3])
def test_an_axis_out_of_range_is_an_error_naming_the_op(op, axis):
    with pytest.raises((ValueError, IndexError)) as raised:
        getattr(Tensor(np.ones((2, 3))), op)(axis=axis)
    assert op in str(raised.value), str(raised.value)


DOMAIN_ERRORS = [  # (what, the op, error type, the names it may give the op)
    ("log(0)", lambda: Tensor([1.0, 0.0]).log(), ValueError, ("log",)),
    ("log(-1)", lambda: Tensor([-1.0]).log(), ValueError, ("log",)),
    ("x / 0", lambda: Tensor([1.0, 2.0]) / Tensor([3.0, 0.0]), ZeroDivisionError, ("div", "/")),
    ("x / number 0", lambda: Tensor([1.0]) / 0, ZeroDivisionError, ("div", "/")),
    ("number / 0", lambda: 1.0 / Tensor([0.0]), ZeroDivisionError, ("div", "/")),
    ("0 ** -1", lambda: Tensor([0.0]) ** -1, ZeroDivisionError, ("pow", "**")),
    ("-1 ** 0.5", lambda: Tensor([-1.0]) ** 0.5, ValueError, ("pow", "**")),
    ("0 ** 0.5", lambda: Tensor([0.0]) ** 0.5, ValueError, ("pow", "**")),
    ("-2 ** tensor", lambda: Tensor([-2.0]) ** Tensor([2.0]), ValueError, ("pow", "**")),
    ("exp(1000)", lambda: Tensor([1000.0]).exp(), OverflowError, ("exp",)),
    ("1e200 * 1e200", lambda: Tensor([1e200]) * Tensor([1e200]), OverflowError, ("*",)),
    ("1e300 ** 2", lambda: Tensor([1e300]) ** 2, OverflowError, ("pow", "**")),
]


@pytest.mark.parametrize("case", DOMAIN_ERRORS, ids=[case[0] for case in DOMAIN_ERRORS])
def test_outside_an_ops_domain_the_error_names_the_op_with_no_warning_first(case):
    _, apply, error, names = case
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning from numpy before the error is noise
        with pytest.raises(error) as raised:
            apply()
    assert any(name in str(raised.value) for name in names), str(raised.value)


def test_backward_needs_a_single_number():
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        (Tensor(np.ones((2, 3))) * 2).backward()


def test_matmul_with_an_array_takes_it_as_a_constant_like_the_other_ops():
    a, b = np.arange(6.0).reshape(2, 3), np.arange(12.0).reshape(3, 4)
    x = Tensor(a)
    out = x @ b
    np.testing.assert_array_equal(out.data, a @ b)
    out.sum().backward()
    np.testing.assert_array_equal(x.grad, np.ones((2, 4)) @ b.T)  # d sum(x @ b) / dx = 1 bᵀ


# --- float32 on request, everywhere ---

FLOAT32_OPS = {  # every op on (2, 3) data in (0.5, 2): inside every op's domain
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / b,
    "**": lambda a, b: a**b, "neg": lambda a, b: -a, "exp": lambda a, b: a.exp(), "log": lambda a, b: a.log(),
    "tanh": lambda a, b: a.tanh(), "sigmoid": lambda a, b: a.sigmoid(), "relu": lambda a, b: (a - 1).relu(),
    "** number": lambda a, b: a**1.5, "number **": lambda a, b: 2.0**a,
    "numbers": lambda a, b: (2 + a) * 3.5 - 1 / b + np.float64(0.5) * a - a / 7,
    "broadcast": lambda a, b: a + b.sum(axis=0, keepdims=True) * b.mean(axis=1, keepdims=True),
    "@": lambda a, b: a @ b.T, "sum": lambda a, b: a.sum(axis=1), "mean": lambda a, b: b.mean(axis=0),
    "reshape": lambda a, b: a.reshape(3, 2), "T": lambda a, b: a.T,
    "w·x+b": lambda a, b: Tensor.weighted_sum(a, b, a.sum(axis=1)),
}


@pytest.mark.parametrize("op", sorted(FLOAT32_OPS))
def test_float32_stays_float32_in_every_value_and_gradient(op):
    rng = np.random.default_rng(0)
    a, b = (Tensor(rng.uniform(0.5, 2, (2, 3)), dtype=np.float32) for _ in range(2))
    cost = FLOAT32_OPS[op](a, b).sum()
    cost.backward()
    for node in topological_order(cost):
        assert node.dtype == np.float32, f"{node!r} holds {node.dtype}"
        if node.requires_grad:  # numbers in the expression are constants, with no gradient
            assert node.grad.dtype == np.float32, f"the gradient of {node!r} is {node.grad.dtype}"


# --- the backward walk ---


def test_a_broadcast_operand_receives_the_sum_of_its_contributions():
    rng = np.random.default_rng(1)
    x, b, w = Tensor(rng.normal(size=(4, 3))), Tensor(rng.normal(size=3)), rng.normal(size=(4, 3))
    ((x + b) * w).sum().backward()  # b is added to every row
    np.testing.assert_allclose(b.grad, w.sum(axis=0), rtol=1e-12)
    np.testing.assert_allclose(x.grad, w, rtol=1e-12)


def test_leaf_gradients_accumulate_and_data_gets_none():
    x, data = Tensor([1.0, 2.0, 3.0]), Tensor([4.0, 5.0, 6.0], requires_grad=False)
    for passes in (1, 2):
        (x * data).sum().backward()
        np.testing.assert_array_equal(x.grad, passes * data.data)  # d sum(x * data) / dx = data
    assert np.all(data.grad == 0.0)


def test_backward_steps_end_with_the_gradients_of_backward():
    def gradients(run):
        rng = np.random.default_rng(2)
        x, w = Tensor(rng.normal(size=(3, 2))), Tensor(rng.normal(size=(2, 4)))
        run(((x @ w).tanh() * x.sum(axis=1, keepdims=True)).mean())
        return x.grad, w.grad

    stepped = gradients(lambda cost: list(cost.backward_steps()))
    direct = gradients(lambda cost: cost.backward())
    for a, b in zip(stepped, direct):
        np.testing.assert_array_equal(a, b)


def test_a_chain_much_deeper_than_the_recursion_limit():
    x = Tensor([0.5, -0.5])
    y = x
    for _ in range(3 * sys.getrecursionlimit()):
        y = y * 1.0
    y.sum().backward()
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


# --- finite differences: an independent reference for whole-array ops ---


def numeric_gradient(f, array, step=1e-6):
    """d f / d array, one central difference per element."""
    grad = np.zeros_like(array)
    for index in np.ndindex(array.shape):
        up, down = array.copy(), array.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (f(up) - f(down)) / (2 * step)
    return grad


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(0, 2**32 - 1))
def test_a_network_like_expression_matches_finite_differences(batch, nin, nout, seed):
    rng = np.random.default_rng(seed)
    arrays = [rng.uniform(-1, 1, shape) for shape in [(nout, nin), (batch, nin), (nout,), (nout, batch)]]

    def cost(w, x, b, v):  # every whole-array op, each once
        z = Tensor.weighted_sum(w, x, b).sigmoid()
        return ((z @ v).T.reshape(-1) ** 2).sum(axis=0, keepdims=True).mean() + (x.T.exp() @ x).mean(axis=1).sum()

    tensors = [Tensor(a) for a in arrays]
    cost(*tensors).backward()
    for i, tensor in enumerate(tensors):

        def cost_at(array):
            values = [Tensor(a) for a in arrays]
            values[i] = Tensor(array)
            return float(cost(*values).data)

        np.testing.assert_allclose(tensor.grad, numeric_gradient(cost_at, arrays[i]), rtol=1e-6, atol=1e-8)


# --- the fused costs refuse what does not fit ---


def test_cross_entropy_names_labels_that_do_not_fit():
    from nn.losses import cross_entropy

    logits = Tensor(np.zeros((3, 4)))
    for labels, words in [([0, 1, 4], "labels must be integers from 0 to 3"), ([0, 1], "(3, 4)"),
                          ([0.5, 1, 2], "labels must be integers")]:
        with pytest.raises(ValueError, match="cross-entropy") as raised:
            cross_entropy(logits, labels)
        assert words in str(raised.value)


def test_squared_error_names_both_shapes_when_they_do_not_fit():
    from nn.losses import squared_error

    for targets in (np.zeros((3, 5)), np.zeros((1, 4))):
        with pytest.raises(ValueError, match="squared-error") as raised:
            squared_error(Tensor(np.zeros((3, 4))), targets)
        assert "(3, 4)" in str(raised.value) and str(targets.shape) in str(raised.value)


@pytest.mark.parametrize("dtype,far", [(np.float32, -100.0), (np.float64, -1000.0)])
def test_a_saturated_sigmoid_is_0_and_warns_of_nothing(dtype, far):
    """exp(-x) overflows for x far below 0, and 1 / (1 + inf) = 0 is the right limit: no error, so no warning."""
    import warnings

    x = Tensor(np.array([[far, 0.0, -far]]), dtype)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = x.sigmoid()
        s.sum().backward()
    assert s.data.tolist() == [[0.0, 0.5, 1.0]] and x.grad.tolist() == [[0.0, 0.25, 0.0]]
