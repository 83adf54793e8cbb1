"""Bad input gets a clear error that names the problem, never a silent NaN or infinity."""
import math
import operator
import re
import warnings
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from autodiff import Value

NOT_NUMBERS = ["1.5", None, 1 + 2j, [1.0]]
NOT_FINITE = [math.nan, math.inf, -math.inf, np.nan, np.float64("inf")]


def type_name(x):
    return type(x).__name__


# --- what a Value may hold ---


@pytest.mark.parametrize("bad", NOT_NUMBERS, ids=type_name)
def test_non_numbers_are_refused_with_their_type(bad):
    with pytest.raises(TypeError, match=type_name(bad)):
        Value(bad)


@pytest.mark.parametrize("bad", NOT_FINITE, ids=repr)
def test_nan_and_infinity_are_refused(bad):
    with pytest.raises(ValueError, match="(?i)nan|inf"):
        Value(bad)


@pytest.mark.parametrize("good", [3, 2.5, np.float32(0.5), np.float64(-1.25), np.int64(7), Fraction(1, 4)], ids=repr)
def test_any_real_number_is_accepted_as_a_float(good):
    v = Value(good)
    assert type(v.data) is float and v.data == float(good)


# --- the other operand of an op is checked the same way ---

BINARY = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "**": operator.pow,
}


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("bad", NOT_NUMBERS, ids=type_name)
def test_a_bad_other_operand_is_refused_on_either_side(op, bad):
    f, v = BINARY[op], Value(2.0)
    with pytest.raises(TypeError, match=type_name(bad)):
        f(v, bad)
    if isinstance(bad, (str, list)) and op in "+*":
        return  # "a" + v and [1] * v are str's and list's own ops, which refuse a Value themselves
    with pytest.raises(TypeError, match=type_name(bad)):
        f(bad, v)


@pytest.mark.parametrize("op", BINARY)
@pytest.mark.parametrize("bad", NOT_FINITE[:3], ids=repr)
def test_a_non_finite_other_operand_is_refused_on_either_side(op, bad):
    f, v = BINARY[op], Value(2.0)
    with pytest.raises(ValueError):
        f(v, bad)
    with pytest.raises(ValueError):
        f(bad, v)


# --- outside an op's domain: the error names the op and the number ---


def written(x):
    """The ways a message may write the number x."""
    return {repr(x), str(x), f"{x:g}", f"{x:.6g}"}


def assert_names(error, op_names, numbers):
    message = str(error.value)
    assert any(name in message for name in op_names), f"{message!r} does not name the op ({op_names})"
    for x in numbers:
        assert any(form in message for form in written(x)), f"{message!r} does not show {x}"


DOMAIN_ERRORS = {  # case: (the computation, names the op may go by, numbers the message must show)
    "log of a negative": (lambda: Value(-2.5).log(), ["log"], [-2.5]),
    "log of zero": (lambda: Value(0.0).log(), ["log"], [0.0]),
    "negative ** fraction": (lambda: Value(-2.5) ** 0.5, ["pow", "**"], [-2.5, 0.5]),
    "negative ** Value fraction": (lambda: Value(-2.5) ** Value(1.5), ["pow", "**"], [-2.5, 1.5]),
    "zero ** negative": (lambda: Value(0.0) ** -1.5, ["pow", "**"], [0.0, -1.5]),
    "zero ** negative Value": (lambda: Value(0.0) ** Value(-2.0), ["pow", "**"], [0.0, -2.0]),
    "zero ** negative, reflected": (lambda: 0 ** Value(-3.0), ["pow", "**"], [0.0, -3.0]),
    "division by zero": (lambda: Value(7.25) / Value(0.0), ["div", "/"], [7.25, 0.0]),
    "division by the number zero": (lambda: Value(7.25) / 0, ["div", "/"], [7.25, 0.0]),
    "division by zero, reflected": (lambda: 7.25 / Value(0.0), ["div", "/"], [7.25, 0.0]),
    "exp overflows": (lambda: Value(800.0).exp(), ["exp"], [800.0]),
    "* overflows": (lambda: Value(3e200) * Value(-2e200), ["*", "mul"], [3e200, -2e200]),
    "+ overflows": (lambda: Value(1.5e308) + 1.5e308, ["+", "add"], [1.5e308]),
    "** overflows": (lambda: Value(10.0) ** 400, ["pow", "**"], [10.0, 400.0]),
    "** Value overflows": (lambda: 10 ** Value(400.0), ["pow", "**"], [10.0, 400.0]),
}


@pytest.mark.parametrize("case", DOMAIN_ERRORS)
def test_outside_the_domain_the_error_names_the_op_and_the_operand(case):
    compute, op_names, numbers = DOMAIN_ERRORS[case]
    with pytest.raises((ValueError, ArithmeticError)) as error:
        compute()
    assert_names(error, op_names, numbers)


# Over all finite floats, each op either gives a finite value whose local derivatives are finite
# too, or refuses with an error that names it: a gradient must never be silently inf or NaN.
any_float = st.floats(allow_nan=False, allow_infinity=False)
OPS = {  # name: (the op, how its error may name it)
    "+": (operator.add, ["+", "add"]),
    "-": (operator.sub, ["-", "sub"]),
    "*": (operator.mul, ["*", "mul"]),
    "/": (operator.truediv, ["/", "div"]),
    "** Value": (operator.pow, ["**", "pow"]),
    "** number": (lambda a, b: a ** b.data, ["**", "pow"]),
    "exp": (lambda a, b: a.exp(), ["exp"]),
    "log": (lambda a, b: a.log(), ["log"]),
    "tanh": (lambda a, b: a.tanh(), ["tanh"]),
    "sigmoid": (lambda a, b: a.sigmoid(), ["sigmoid"]),
    "relu": (lambda a, b: a.relu(), ["relu"]),
    "w·x+b": (lambda a, b: Value.weighted_sum([a], [b], Value(1.0)), ["w·x+b", "weighted_sum"]),
}


@pytest.mark.parametrize("name", OPS)
@given(any_float, any_float)
@example(1.0, 1e-200)  # the result fits in a float, its derivative -1/y² does not
@example(1e300, 1.02)  # x ** y fits, its derivative x ** y · log(x) does not
@example(1e-300, -1.0)
@example(10 ** (-308 / 3), -2.0)  # x ** (y - 1) just fits, y · x ** (y - 1) does not
@example(1e-310, 1.0)  # log(x) fits, 1 / x does not
def test_an_op_gives_finite_derivatives_or_a_clear_error(name, x, y):
    op, op_names = OPS[name]
    a, b = Value(x), Value(y)
    try:
        out = op(a, b)
    except (ValueError, ArithmeticError) as error:
        message = str(error)
        assert any(n in message for n in op_names), f"{message!r} does not name the op"
        assert any(form in message for form in written(x) | written(y)), f"{message!r} shows no operand"
        return
    out.backward()
    assert math.isfinite(out.data)
    assert math.isfinite(a.grad) and math.isfinite(b.grad), f"{name}({x!r}, {y!r}): gradients {a.grad}, {b.grad}"


# --- sigmoid and tanh: stable everywhere a float may reasonably go ---


@given(st.floats(-1e4, 1e4))
def test_sigmoid_and_tanh_are_stable_for_large_inputs(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for squash, low, high, steepest in ((Value.sigmoid, 0.0, 1.0, 0.25), (Value.tanh, -1.0, 1.0, 1.0)):
            v = Value(x)
            out = squash(v)
            out.backward()
            assert low <= out.data <= high
            assert 0.0 <= v.grad <= steepest
    # sigmoid(x) = (1 + tanh(x/2)) / 2, an independent formula; near 0 it loses digits, hence abs_tol
    assert math.isclose(Value(x).sigmoid().data, (1 + math.tanh(x / 2)) / 2, rel_tol=1e-12, abs_tol=1e-15)


@pytest.mark.parametrize("x", [-1e4, -745.0, -710.0, 710.0, 745.0, 1e4])
def test_sigmoid_and_tanh_saturate_cleanly_at_the_extremes(x):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert Value(x).sigmoid().data == pytest.approx(1.0 if x > 0 else 0.0, abs=1e-300)
        assert Value(x).tanh().data == (1.0 if x > 0 else -1.0)


def test_error_messages_are_one_line_of_plain_words():
    with pytest.raises(ValueError) as error:
        Value(-1.0).log()
    assert re.fullmatch(r"[^\n]{10,200}", str(error.value))


# --- backward checks what it produces (issue 10, cause 1) ---

from autodiff.tensor import Tensor  # noqa: E402

huge = st.floats(1e150, 1e250) | st.floats(-1e250, -1e150)


@given(x=st.floats(1e-300, 1e-250), a=huge, b=huge)  # every forward value finite, the gradient maybe not
def test_a_gradient_that_overflows_is_an_error_naming_the_op_in_both_engines(x, a, b):
    """d/dx ((x * a) * b) = a * b: either it is a finite float, or backward says where it overflowed."""
    expected = a * b  # the reference: Python's own float product
    for engine in ("Value", "Tensor"):
        leaf = Value(x, label="x") if engine == "Value" else Tensor(np.full((2, 3), x), label="x")
        y = (leaf * a) * b
        y = y if engine == "Value" else y.sum()
        if math.isfinite(expected):
            y.backward()
            assert np.all(leaf.grad == expected)
        else:
            with pytest.raises(OverflowError, match=r"backward: the gradient overflows at op '\*' on \(an input 'x'"):
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own word on the overflow
                    y.backward()


def test_two_paths_of_plus_and_minus_infinity_are_caught_not_nan():
    x = Value(1e-200, label="x")
    y = (x * 1e200) * 1e200 + (x * -1e200) * 1e200  # the forward pass is 0.0, every value finite
    with pytest.raises(OverflowError, match=r"op '\*' on \(an input 'x' = 1e-200, an input = -?1e\+200\)"):
        y.backward()


def test_gradients_that_overflow_only_when_summed_name_the_leaf():
    x = Value(1e-300, label="x")
    y = x * 1e308 + x * 1e308  # each contribution is 1e308, their sum is not a float
    with pytest.raises(OverflowError, match="gradient of an input 'x' = 1e-300 overflows .* summed"):
        y.backward()


def test_a_matrix_product_whose_gradient_overflows_is_named():
    w = Tensor(np.full((3, 2), 1e200), label="w")
    x = Tensor(np.full((4, 3), 1e-100), label="x")
    y = (x @ w).sum() * 1e200  # forward: 3e100 per element, fine; d/dx = 1e200 * 2e200
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        with pytest.raises(OverflowError, match=r"backward: the gradient overflows at op '@'"):
            y.backward()


def test_large_but_finite_gradients_are_no_error():
    x = Value(1e-300, label="x")
    y = x * 1e307 + x * 1e307  # the sum of bounds is 2e307: fine
    y.backward()
    assert x.grad == 2e307


# --- in-place changes between forward and backward (cause 10) ---


def test_changing_an_array_a_graph_needs_before_backward_is_refused():
    x, w = Tensor([1.0], label="x"), Tensor([1.0], label="w")
    y = (x * w).sum()
    for change in (lambda: w.data.__setitem__(..., 2.0), lambda: w.data.__iadd__(1.0),
                   lambda: x.data.__imul__(3.0)):
        with pytest.raises(ValueError, match="read-only"):
            change()
    y.backward()
    assert x.grad.tolist() == [1.0] and w.grad.tolist() == [1.0]  # the gradient of what was computed
    w.data[...] = 2.0  # after backward, the arrays are the user's again
    z = (x * w).sum()
    x.grad = np.zeros(1)
    z.backward()
    assert x.grad.tolist() == [2.0]  # the new value, not a stale 1.0


def test_data_passed_in_is_not_locked():
    images = np.ones((2, 3))
    net = Tensor(np.ones((4, 3)), label="w")
    pending = Tensor.weighted_sum(net, Tensor(images, requires_grad=False), Tensor(np.zeros(4)))  # forward only
    images[0, 0] = 5.0  # the caller's array is still the caller's
    with pytest.raises(ValueError, match="read-only"):
        net.data[0, 0] = 5.0  # the parameter waits for the backward() of the graph still held
    del pending


def test_a_values_derivatives_are_taken_when_it_is_computed():
    """Value's local derivatives are numbers recorded by the forward pass: a later change to .data
    cannot make backward disagree with the forward pass it belongs to (there is nothing to refuse)."""
    x, w = Value(1.0), Value(1.0)
    y = x * w
    w.data = 2.0
    y.backward()
    assert x.grad == 1.0 == y.data  # d(x * w)/dx for the w that made y


# --- messages that tell the truth (cause 11) ---


def test_a_float32_cast_that_overflows_says_so():
    with pytest.raises(OverflowError, match="1e\\+39 does not fit in float32"):
        Tensor([1.0, 1e39], np.float32)
    with pytest.raises(ValueError, match="must be finite, got inf"):
        Tensor([1.0, np.inf], np.float32)


def test_a_tensor_must_hold_floats():
    with pytest.raises(TypeError, match="Tensor dtype must be a float type .* got int64"):
        Tensor([1, 2], np.int64)


@pytest.mark.parametrize("cost", ["squared", "cross-entropy"])
def test_an_empty_batch_of_values_is_called_empty(cost):
    from nn import losses
    with pytest.raises(ValueError, match="the batch is empty"):
        (losses.squared_error if cost == "squared" else losses.cross_entropy)([], [])


@pytest.mark.parametrize("cost", ["squared", "cross-entropy", "mean"])
def test_an_empty_batch_is_called_empty(cost):
    outputs = Tensor(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="empty|no elements"):
        if cost == "squared":
            outputs.squared_error(np.zeros((0, 3)))
        elif cost == "cross-entropy":
            outputs.cross_entropy(np.zeros(0, dtype=np.int64))
        else:
            outputs.mean()
