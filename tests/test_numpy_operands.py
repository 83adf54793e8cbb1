"""A numpy array (or numpy number) on either side of a Tensor op: the same Tensor and gradients (issue 14, cause 2).

`x * w` with x an ndarray used to let numpy take the op: it made an object array of Tensors, one per
element of x, whose sums counted w again and again, and `x @ w` was numpy's gufunc error. numpy now
hands every operator to the Tensor (NEP 13), and what numpy cannot record for backward() (np.exp(w),
np.asarray(w), x *= w) is refused by name.
"""
import operator

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff.tensor import Tensor
from conftest import missing

try:
    import torch
except ImportError:
    torch = None

OPS = {  # name: (the operator, numbers inside its domain for the array x, for the Tensor w)
    "+": (operator.add, (-2.0, 2.0), (-2.0, 2.0)),
    "-": (operator.sub, (-2.0, 2.0), (-2.0, 2.0)),
    "*": (operator.mul, (-2.0, 2.0), (-2.0, 2.0)),
    "/": (operator.truediv, (-2.0, 2.0), (0.5, 2.0)),  # w is the divisor
    "**": (operator.pow, (0.5, 2.0), (-2.0, 2.0)),  # x is the base: positive, so that w can be learned
    "@": (operator.matmul, (-2.0, 2.0), (-2.0, 2.0)),
}

BROADCASTING = [((2, 3), (2, 3)), ((2, 3), (3,)), ((3,), (2, 3)), ((2, 1), (1, 3)), ((), (2, 3)), ((2, 3), ())]
MATRICES = [((2, 3), (3, 4)), ((1, 1), (1, 5)), ((4, 2), (2, 1))]


@st.composite
def cases(draw):
    """(op name, the numpy operand x, the Tensor's data w, the weights r of the cost sum(r * (x op w)))."""
    name = draw(st.sampled_from(sorted(OPS)))
    x_shape, w_shape = draw(st.sampled_from(MATRICES if name == "@" else BROADCASTING))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    _, x_range, w_range = OPS[name]
    x, w = rng.uniform(*x_range, x_shape), rng.uniform(*w_range, w_shape)
    kind = draw(st.sampled_from(["array", "float32 array", "numpy number"] if x.ndim == 0 else ["array", "float32 array"]))
    if kind == "float32 array":
        x = x.astype(np.float32)
    elif kind == "numpy number":
        x = np.float64(x)  # a numpy scalar, not a 0-d array: it has operators of its own
    out_shape = (x @ w).shape if name == "@" else np.broadcast_shapes(np.shape(x), w.shape)
    return name, x, w, rng.uniform(-1.0, 1.0, out_shape)


def value_and_gradient(name, left, w, r):
    """sum(r * (left op w)) and its gradient for w, with `left` on the left: an array, or a Tensor of it."""
    tensor = Tensor(w)
    out = OPS[name][0](left if not isinstance(left, Tensor) else left, tensor)
    assert isinstance(out, Tensor), f"{type(left).__name__} {name} Tensor gave {type(out).__name__}"
    (out * r).sum().backward()
    return out.data, tensor.grad


@settings(max_examples=200, deadline=None)
@given(cases())
def test_an_array_on_the_left_gives_what_the_same_array_as_a_constant_tensor_gives(case):
    """The reference is the order that always worked: the array made a Tensor that is not learned."""
    name, x, w, r = case
    out, grad = value_and_gradient(name, x, w, r)
    constant = Tensor(x, requires_grad=False)
    expected_out, expected_grad = value_and_gradient(name, constant, w, r)
    np.testing.assert_array_equal(out, expected_out)
    np.testing.assert_array_equal(grad, expected_grad)
    if name in ("+", "*"):  # and the right-hand order itself, w op x, where the math is the same
        tensor = Tensor(w)
        swapped = OPS[name][0](tensor, x)
        (swapped * r).sum().backward()
        np.testing.assert_array_equal(swapped.data, out)
        np.testing.assert_array_equal(tensor.grad, grad)


@settings(max_examples=200, deadline=None)
@given(cases())
def test_an_array_on_the_left_gives_pytorchs_values_and_gradients(case):
    if torch is None:
        missing("needs PyTorch: pip install torch==2.13.0 (CPU)")
    name, x, w, r = case
    out, grad = value_and_gradient(name, x, w, r)
    torch_w = torch.tensor(w, requires_grad=True)
    torch_out = OPS[name][0](torch.tensor(np.asarray(x, dtype=np.float64)), torch_w)
    (torch_out * torch.tensor(r)).sum().backward()
    np.testing.assert_allclose(out, torch_out.detach().numpy(), rtol=1e-6 if x.dtype == np.float32 else 1e-12)
    np.testing.assert_allclose(grad, torch_w.grad.numpy(), rtol=1e-12, atol=1e-12)


def test_the_example_of_the_issue_counts_w_once():
    x, w = np.array([[1.0, 2.0], [3.0, 4.0]]) * 0.5, Tensor(np.ones((2, 2)))
    cost = (x * w).sum()
    assert float(cost.data) == 5.0  # it was 9.0 as an object array of Tensors summed twice
    cost.backward()
    np.testing.assert_array_equal(w.grad, x)
    w.grad = 0.0
    (x @ w).sum().backward()  # it was numpy's gufunc error
    np.testing.assert_array_equal(w.grad, x.sum(axis=0)[:, None] * np.ones((2, 2)))


@pytest.mark.parametrize("use", [
    lambda x, w: np.exp(w), lambda x, w: np.add(x, w), lambda x, w: np.multiply(w, x),
    lambda x, w: np.matmul(x, w), lambda x, w: np.maximum(x, w),
])
def test_a_numpy_function_on_a_tensor_is_refused_naming_the_tensor(use):
    """numpy's functions cannot record an op for backward(): a Tensor's own ops can (w.exp(), x + w)."""
    x, w = np.ones((2, 2)), Tensor(np.ones((2, 2)))
    with pytest.raises(TypeError, match="Tensor"):
        use(x, w)


def test_an_in_place_op_on_an_array_is_refused_and_leaves_the_array_as_it_was():
    x, w = np.ones((2, 2)), Tensor(np.full((2, 2), 3.0))
    for name in ["__iadd__", "__isub__", "__imul__", "__itruediv__", "__ipow__", "__imatmul__"]:
        with pytest.raises(TypeError, match="Tensor"):
            getattr(x, name)(w)
    np.testing.assert_array_equal(x, np.ones((2, 2)))


@pytest.mark.parametrize("use", [
    np.asarray, np.array, lambda w: np.array([w, w]), lambda w: np.dot(np.ones((2, 2)), w),
    lambda w: np.concatenate([w, w]),
])
def test_making_a_numpy_array_of_a_tensor_is_refused_pointing_to_its_data(use):
    """An object array of Tensors adds them up element by element: silently not the op the user meant."""
    with pytest.raises(TypeError, match=r"Tensor.*\.data"):
        use(Tensor(np.ones((2, 2))))
