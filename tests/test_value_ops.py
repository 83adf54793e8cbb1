"""Each op on its own: forward value against math, derivative against finite differences.

Strategies stay inside each op's domain and away from where finite differences are ill-conditioned
(see conftest.py for the step size and tolerance): log and 1/x stay at least 0.01 and 0.1 from
their pole at 0, relu at least 1e-3 from its kink (the step is at most 1e-3 there), powers and exp
within sizes whose third derivative the tolerance covers.
"""
import math
import operator

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value
from conftest import assert_close_to_fd, central_difference


def floats(low, high):
    return st.floats(low, high)


def away_from_zero(smallest, largest):
    return floats(smallest, largest) | floats(-largest, -smallest)


def check_gradients(f, xs, scale=None):
    """backward() through f(Values) gives each input the finite-difference derivative of f.

    `scale` is the size of the numbers f adds up (default |f|), which sets the rounding to allow."""
    leaves = [Value(x) for x in xs]
    out = f(*leaves)
    out.backward()
    for i, leaf in enumerate(leaves):

        def f_moving_input_i(x):
            moved = list(xs)
            moved[i] = x
            return f(*map(Value, moved)).data

        numeric = central_difference(f_moving_input_i, xs[i])
        assert_close_to_fd(leaf.grad, numeric, abs(out.data) if scale is None else scale, what=f"d/d(input {i}) at {xs}")
    return out


def check_forward(out, expected):
    assert isinstance(out, Value)
    assert math.isclose(out.data, expected, rel_tol=1e-12, abs_tol=1e-300), (out.data, expected)


# --- functions of one input: name -> (the op, inputs inside its domain, an independent reference) ---
UNARY = {
    "neg": (operator.neg, floats(-1e3, 1e3), lambda x: -x),
    "exp": (Value.exp, floats(-30, 30), math.exp),
    "log": (Value.log, floats(1e-2, 1e3), math.log),
    "tanh": (Value.tanh, floats(-10, 10), lambda x: (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)),
    "sigmoid": (Value.sigmoid, floats(-20, 20), lambda x: 1 / (1 + math.exp(-x))),
    "relu": (Value.relu, away_from_zero(1e-3, 1e3), lambda x: max(x, 0.0)),
}


@pytest.mark.parametrize("name", UNARY)
@given(data=st.data())
def test_unary_op(name, data):
    op, domain, reference = UNARY[name]
    x = data.draw(domain, label="x")
    out = check_gradients(op, [x])
    assert math.isclose(out.data, reference(x), rel_tol=1e-12, abs_tol=1e-15)


@given(floats(0.1, 10), floats(-3, 3) | st.integers(-3, 3))
def test_power_of_a_positive_base(x, y):
    out = check_gradients(lambda v: v**y, [x])
    check_forward(out, x**y)


@given(away_from_zero(0.1, 10), st.integers(-4, 4))
def test_integer_power_of_either_sign(x, n):
    out = check_gradients(lambda v: v**n, [x])
    check_forward(out, float(x) ** n)


@pytest.mark.parametrize("n, grad", [(0, 0.0), (1, 1.0), (2, 0.0), (3, 0.0)])
def test_powers_of_zero(n, grad):
    x = Value(0.0)
    (x**n).backward()
    assert x.grad == grad  # d/dx x^n = n x^(n-1) at 0


# --- functions of two Values: name -> (the op, first operand, second operand, reference) ---
BINARY = {
    "+": (operator.add, floats(-1e3, 1e3), floats(-1e3, 1e3)),
    "-": (operator.sub, floats(-1e3, 1e3), floats(-1e3, 1e3)),
    "*": (operator.mul, floats(-1e3, 1e3), floats(-1e3, 1e3)),
    "/": (operator.truediv, floats(-10, 10), away_from_zero(0.1, 10)),
    "**": (operator.pow, floats(0.1, 10), floats(-3, 3)),  # a Value exponent: the base must be > 0
}


@pytest.mark.parametrize("name", BINARY)
@given(data=st.data())
def test_binary_op(name, data):
    op, first, second = BINARY[name]
    a, b = data.draw(first, label="a"), data.draw(second, label="b")
    out = check_gradients(op, [a, b])
    check_forward(out, op(a, b))


# --- a plain number on the left: 2 * v, 1 - v, 2 / v, 2 ** v ---
numbers = st.integers(-10, 10) | floats(-10, 10)
REFLECTED = {
    "c + v": (operator.add, numbers, floats(-1e3, 1e3)),
    "c - v": (operator.sub, numbers, floats(-1e3, 1e3)),
    "c * v": (operator.mul, numbers, floats(-1e3, 1e3)),
    "c / v": (operator.truediv, numbers, away_from_zero(0.1, 10)),
    "c ** v": (operator.pow, st.integers(1, 10) | floats(0.1, 10), floats(-3, 3)),
}


@pytest.mark.parametrize("name", REFLECTED)
@given(data=st.data())
def test_reflected_op(name, data):
    op, number, value = REFLECTED[name]
    c, v = data.draw(number, label="c"), data.draw(value, label="v")
    out = check_gradients(lambda leaf: op(c, leaf), [v])
    check_forward(out, op(c, v))


@given(floats(-1e3, 1e3), numbers)
def test_number_on_the_right(v, c):
    for op in (operator.add, operator.sub, operator.mul):
        out = check_gradients(lambda leaf: op(leaf, c), [v])
        check_forward(out, op(v, c))


# --- a neuron's w·x + b as one node ---
@given(st.integers(1, 6).flatmap(lambda n: st.lists(floats(-10, 10), min_size=2 * n + 1, max_size=2 * n + 1)))
def test_weighted_sum(xs):
    n = len(xs) // 2

    def neuron(*values):
        return Value.weighted_sum(values[:n], values[n : 2 * n], values[-1])

    terms = [w * x for w, x in zip(xs[:n], xs[n : 2 * n])] + [xs[-1]]
    out = check_gradients(neuron, xs, scale=sum(map(abs, terms)))  # terms may cancel: round on their size
    assert math.isclose(out.data, math.fsum(terms), rel_tol=1e-12, abs_tol=1e-15 * sum(map(abs, terms)))
    assert len(set(map(id, out._prev))) == 2 * n + 1  # one node, every weight, input and the bias as children


def test_weighted_sum_needs_one_weight_per_input():
    with pytest.raises(ValueError, match="2 weights but 3 inputs"):
        Value.weighted_sum([Value(1.0)] * 2, [Value(1.0)] * 3, Value(0.0))


# --- names ---
OPS = {
    "+": lambda a, b: a + b,
    "-": lambda a, b: a - b,
    "*": lambda a, b: a * b,
    "/": lambda a, b: a / b,
    "neg": lambda a, b: -a,
    "** number": lambda a, b: a**2,
    "** Value": lambda a, b: a**b,
    "exp": lambda a, b: a.exp(),
    "log": lambda a, b: a.log(),
    "tanh": lambda a, b: a.tanh(),
    "sigmoid": lambda a, b: a.sigmoid(),
    "relu": lambda a, b: a.relu(),
    "weighted_sum": lambda a, b: Value.weighted_sum([a], [b], a),
}


def test_every_node_names_its_op_and_leaves_have_none():
    a, b = Value(2.0, label="a"), Value(3.0)
    assert (a.op, b.op) == ("", "")
    assert (a.label, b.label) == ("a", "")
    names = {key: make(a, b).op for key, make in OPS.items()}
    assert all(isinstance(name, str) and name for name in names.values()), names
    assert len(set(names.values())) == len(names), f"two ops share a name: {names}"
    for function in ("exp", "log", "tanh", "sigmoid", "relu"):
        assert function in names[function]
