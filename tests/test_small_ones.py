"""Issue 14, cause 15: small inputs that still deserve a name (and two micrograd habits to accept).

- Tensor sum(axis=1.5), reshape('a') gave numpy's words, not the op's.
- MLP(2, [3])({0: 1., 1: 2.}) read the dict's keys as the inputs.
- Layer(2, 0) built a layer whose repr failed; Neuron(0) a neuron of infinite weights' bound.
- A micrograd-style closure that adds NaN was reported as "has no _backward".
- micrograd's c._backward = ... on a leaf made with Value(1.0, (), 'const') was refused.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value
from autodiff.tensor import Tensor
from nn.mlp import MLP, Layer, Neuron

# --- Tensor: the op names what it cannot use ---

not_axes = st.one_of(st.floats(allow_nan=True).filter(lambda x: not float(x).is_integer() if math.isfinite(x) else True),
                     st.text(min_size=1, max_size=2), st.booleans(), st.just([0, 0]), st.just((1, -1)), st.just((0, 1.0)))


@pytest.mark.parametrize("op", ["sum", "mean"])
@given(axis=not_axes)
def test_an_axis_that_is_not_a_whole_number_of_one_axis_is_named_by_the_op(op, axis):
    with pytest.raises((ValueError, TypeError)) as raised:
        getattr(Tensor(np.ones((2, 3))), op)(axis=axis)
    assert str(raised.value).startswith(f"{op}: axis"), str(raised.value)


@pytest.mark.parametrize("shape", [("a",), (1.5,), ((2, "a"),), (None, 6), ((2.0, 3),), (True, 6), (-1, -1), (7,), (),
                                   (np.array([2.0, 3.0]),)])
def test_a_shape_reshape_cannot_use_is_named_by_the_op(shape):
    with pytest.raises((ValueError, TypeError), match=r"^reshape: "):
        Tensor(np.ones((2, 3))).reshape(*shape)


def test_good_axes_and_shapes_of_every_kind_still_work():
    t = Tensor(np.arange(6.0).reshape(2, 3))
    assert t.sum(axis=np.int64(1)).shape == (2,) and t.mean(axis=(0, -1)).shape == ()
    assert t.reshape((3, 2)).shape == (3, 2) and t.reshape(np.int32(6)).shape == (6,) and t.reshape(-1, 2).shape == (3, 2)
    assert t.reshape(np.array([3, 2])).shape == (3, 2) and t.reshape([6]).shape == (6,)


# --- the scalar network: inputs, sizes ---


@pytest.mark.parametrize("inputs, words", [
    ({0: 1.0, 1: 2.0}, "dict"), ({1.0, 2.0}, "set"), ("ab", "str"), (2.0, "float"), (None, "NoneType"),
])
@pytest.mark.parametrize("call", [lambda x: MLP(2, [3])(x), lambda x: Layer(2, 3)(x), lambda x: Neuron(2)(x)],
                         ids=["MLP", "Layer", "Neuron"])
def test_inputs_that_are_not_a_list_in_order_are_refused_by_name(call, inputs, words):
    with pytest.raises(TypeError, match=rf"inputs must be a list .* got {words}"):
        call(inputs)


def test_inputs_as_a_tuple_an_array_or_a_generator_are_read_in_order():
    net, x = MLP(2, [3, 1]), [0.5, -1.0]
    expected = net(x).data
    for given_inputs in [tuple(x), np.array(x), (v for v in x), iter(x)]:
        assert net(given_inputs).data == expected


@pytest.mark.parametrize("make, words", [
    (lambda: Layer(2, 0), r"nout must be at least 1, got 0"),
    (lambda: Layer(0, 2), r"nin must be at least 1, got 0"),
    (lambda: Layer(2, -1), r"nout must be at least 1"),
    (lambda: Layer(2.5, 2), r"nin must be a whole number"),
    (lambda: Layer(2, 2, seed=-1), r"seed must be a whole number >= 0"),
    (lambda: Neuron(0), r"nin must be at least 1, got 0"),
    (lambda: Neuron("2"), r"nin must be a whole number"),
    (lambda: Neuron(2, seed=1.5), r"seed must be a whole number >= 0"),
])
def test_a_layer_or_neuron_of_no_size_is_refused_by_name(make, words):
    with pytest.raises((ValueError, TypeError), match=words):
        make()


# --- micrograd's closures ---


def micrograd_op(a, closure_share):
    """out = 2a, made as micrograd makes an op, with a closure that adds closure_share(out.grad) to a.grad."""
    out = Value(2 * a.data, (a,), "double")

    def _backward():
        a.grad += closure_share(out.grad)
    out._backward = _backward
    return out


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_a_closure_that_adds_nan_or_inf_is_named_as_what_it_did(bad):
    a = Value(3.0, label="a")
    out = micrograd_op(a, lambda g: bad * g) * 1.0
    with pytest.raises(OverflowError) as raised:
        out.backward()
    message = str(raised.value)
    assert "'double'" in message and f"added {bad}" in message and "'a'" in message, message
    assert "has no _backward" not in message


def test_finding_the_closure_that_added_nan_leaves_the_other_gradients_as_the_pass_made_them():
    a, b = Value(3.0, label="a"), Value(1.0, label="b")
    out = micrograd_op(a, lambda g: float("nan")) * b
    with pytest.raises(OverflowError):
        out.backward()
    assert b.grad == 6.0  # what b * 2a gives b, and no more: the closure ran once more, on the side
    assert math.isnan(a.grad)


@pytest.mark.parametrize("make", [lambda: Value(1.0, (), "const"), lambda: Value(1.0, label="c")])
def test_a_leaf_made_with_micrograds_arguments_takes_a_closure_as_micrograd_does(make):
    c = make()
    c._backward = lambda: None  # what micrograd's ops do to any Value they return
    c._backward()  # and what micrograd's own loop calls on every node
    y = c * 2.0 + 1.0
    y.backward()
    assert c.grad == 2.0


def test_a_leaf_without_a_closure_has_micrograds_do_nothing_backward():
    c = Value(1.0, (), "const")
    c._backward()  # micrograd's default for a leaf: nothing to pass on
    assert c.grad == 0.0
