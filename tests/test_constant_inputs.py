"""Inputs that are plain numbers are data: no gradient for them, the same gradients for everything else,
and drawings and steps still show them as the neuron's inputs."""
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value
from autodiff.render import draw
from autodiff.value import Constants
from autodiff.walkthrough import walk
from conftest import assert_close_to_fd, central_difference
from nn.mlp import MLP

numbers = st.floats(-3.0, 3.0)
inputs = st.lists(st.one_of(numbers, st.just(0.0)), min_size=1, max_size=8)  # zeros: dark pixels


def neuron_cost(weights, xs, bias):
    """C = (σ(w·x + b) - 0.5)² for plain-number inputs xs."""
    return (Value.weighted_sum(weights, xs, bias).sigmoid() - 0.5) ** 2


@given(inputs, st.data())
def test_numbers_as_inputs_give_the_weights_the_gradients_that_values_give(xs, data):
    ws = data.draw(st.lists(numbers, min_size=len(xs), max_size=len(xs)))
    b = data.draw(numbers)
    as_data = [Value(w) for w in ws], Value(b)
    as_values = [Value(w) for w in ws], Value(b)
    input_values = [Value(x) for x in xs]
    neuron_cost(*as_data[:1], xs, as_data[1]).backward()
    neuron_cost(as_values[0], input_values, as_values[1]).backward()  # the general rule, inputs included
    assert [w.grad for w in as_data[0]] == pytest.approx([w.grad for w in as_values[0]], rel=1e-12, abs=1e-15)
    assert as_data[1].grad == pytest.approx(as_values[1].grad, rel=1e-12, abs=1e-15)


@given(inputs, st.data())
def test_the_weights_gradients_with_data_inputs_match_finite_differences(xs, data):
    ws = data.draw(st.lists(numbers, min_size=len(xs), max_size=len(xs)))
    weights = [Value(w) for w in ws]
    cost = neuron_cost(weights, xs, Value(0.1))
    cost.backward()
    for i, w in enumerate(weights):
        def cost_at(wi, i=i):
            return neuron_cost([Value(wi if j == i else v) for j, v in enumerate(ws)], xs, Value(0.1)).data
        assert_close_to_fd(w.grad, central_difference(cost_at, ws[i]), scale=1.0, what=f"w{i}")


def test_data_gets_no_gradient_and_values_do():
    weights, bias = [Value(0.5), Value(-1.0)], Value(0.2)
    z = Value.weighted_sum(weights, [2.0, 3.0], bias)
    z.backward()
    data = z._children[2:4]
    assert [x.data for x in data] == [2.0, 3.0]  # the inputs are still the node's children
    assert [x.grad for x in data] == [0.0, 0.0]
    assert [w.grad for w in weights] == [2.0, 3.0] and bias.grad == 1.0
    x = [Value(2.0), Value(3.0)]
    Value.weighted_sum(weights, x, bias).backward()
    assert [v.grad for v in x] == [0.5, -1.0]  # Values as inputs keep their gradients (dC/da, as in the video)


def test_numbers_mixed_with_values_are_values_that_get_gradients():
    a = Value(3.0)
    z = Value.weighted_sum([Value(2.0), Value(4.0)], [a, 5.0], Value(0.0))
    z.backward()
    assert a.grad == 2.0 and z._children[3].grad == 4.0


def test_a_layer_makes_its_data_once_for_all_its_neurons():
    outputs = MLP(3, [4])([0.1, 0.0, 0.3])
    inputs = {tuple(map(id, out._children[0]._children[3:6])) for out in outputs}  # relu(z): z is its child
    assert len(inputs) == 1


@pytest.mark.parametrize("bad, error", [("3", TypeError), (math.nan, ValueError), (math.inf, ValueError)])
def test_bad_numbers_are_refused_by_name(bad, error):
    with pytest.raises(error, match="Value data must be"):
        Value.weighted_sum([Value(1.0), Value(1.0)], [1.0, bad], Value(0.0))


def test_stepping_shows_every_weights_share_and_ends_with_backwards_gradients():
    def build():
        net = MLP(3, [2, 1], activation="sigmoid", output="sigmoid", seed=4)
        return net, (net([0.5, 0.0, -0.25]) - 1.0) ** 2

    net, cost = build()
    steps = list(cost.backward_steps())
    stepped = [p.grad for p in net.parameters()]
    net, cost = build()
    cost.backward()
    assert stepped == [p.grad for p in net.parameters()]  # the skipped zero input changes nothing
    first_layer = [s for s in steps if s.node.op == "w·x+b" and len(s.node._children) == 7]
    assert len(first_layer) == 2
    for step in first_layer:
        weights, data, bias = step.node._children[:3], step.node._children[3:6], step.node._children[6]
        assert [e.child for e in step.edges] == [*weights, bias]  # the data gets no share
        assert [e.local for e in step.edges] == [0.5, 0.0, -0.25, 1.0]  # ∂z/∂wᵢ = xᵢ, even for x = 0
        assert [x.data for x in data] == [0.5, 0.0, -0.25]


def test_the_walkthrough_names_the_data_among_the_neurons_inputs():
    z = Value.weighted_sum([Value(0.6, "w0"), Value(-0.4, "w1")], [0.9, 0.3], Value(0.1, "b"))
    z.label = "z"
    cost = (z.sigmoid() - 1.0) ** 2
    text = "\n".join(explanation for _, explanation, _ in walk(cost))
    assert "made by w·x+b from w0, w1, 0.9, 0.3, b" in text


def test_a_drawing_shows_the_data_as_the_neurons_inputs():
    x = Constants([0.9, 0.3])
    z = Value.weighted_sum([Value(0.6, "w0"), Value(-0.4, "w1")], x, Value(0.1, "b"))
    source = draw(z).source
    for name, leaf in (("a0", x[0]), ("a1", x[1])):
        assert f'"node-{leaf._id}" -> "op-{z._id}" [label={name}]' in source
    assert "data 0.9000" in source and "data 0.3000" in source


def test_refilled_constants_give_what_new_ones_give():
    weights, bias = [Value(0.5), Value(-1.0), Value(2.0)], Value(0.2)
    inputs = Constants([1.0, 2.0, 3.0])
    Value.weighted_sum(weights, inputs, bias).sigmoid().backward()
    fresh_weights = [Value(w.data) for w in weights]
    refilled = Value.weighted_sum(weights, inputs.refill([0.0, -1.5, 4]), bias).sigmoid()
    fresh = Value.weighted_sum(fresh_weights, Constants([0.0, -1.5, 4]), Value(0.2)).sigmoid()
    assert refilled.data == fresh.data
    for w in weights:
        w.grad = 0.0
    refilled.backward()
    fresh.backward()
    assert [w.grad for w in weights] == [w.grad for w in fresh_weights]
    assert inputs.nonzero == [1, 2] and inputs.values == [0.0, -1.5, 4.0]


@pytest.mark.parametrize("numbers, error, message", [
    ([1.0, 2.0], ValueError, "2 numbers for 3 inputs"),
    ([1.0, math.nan, 2.0], ValueError, "must be finite"),
    ([1.0, "2", 3.0], TypeError, "must be a real number"),
])
def test_refilling_checks_the_numbers(numbers, error, message):
    with pytest.raises(error, match=message):
        Constants([1.0, 2.0, 3.0]).refill(numbers)


@given(inputs, st.data())
def test_weights_computed_from_other_values_pass_their_gradient_on(xs, data):
    """The backward pass skips the data and the leaf weights; weights made from other Values it must
    still walk into, even behind a dark pixel (x = 0), whose share is 0 but whose node is reset."""
    ws = data.draw(st.lists(numbers, min_size=len(xs), max_size=len(xs)))
    scale, shift = Value(1.5), Value(-0.25)

    def cost_of(s, t):
        weights = [Value(w) * s for w in ws]  # every weight computed
        return neuron_cost(weights, xs, t * 2.0), weights

    cost, weights = cost_of(scale, shift)
    for _ in range(2):  # a second pass shows its own gradients: interior nodes are cleared, not added to
        scale.grad = shift.grad = 0.0
        cost.backward()
        assert_close_to_fd(scale.grad, central_difference(lambda s: cost_of(Value(s), shift)[0].data, 1.5),
                           scale=1.0, what="scale")
        assert_close_to_fd(shift.grad, central_difference(lambda t: cost_of(scale, Value(t))[0].data, -0.25),
                           scale=1.0, what="shift")
        z = cost._children[0]._children[0]._children[0]  # (σ(z) - 0.5)²: pow of (sub of (sigmoid of z))
        assert [w.grad for w in weights] == pytest.approx([x * z.grad for x in xs], rel=1e-12, abs=1e-300)


def test_a_weight_replaced_in_a_list_seen_before_is_walked_into():
    """Which weights are computed is remembered for each list of weights; a list changed since is looked at again."""
    weights, xs = [Value(0.5), Value(-1.0)], [2.0, 3.0]
    Value.weighted_sum(weights, xs, Value(0.0)).backward()
    a = Value(4.0)
    weights[1] = a * -0.25  # the same list, now with a computed weight
    for times in (1, 2):  # the second time, the list is known to hold a computed weight
        Value.weighted_sum(weights, xs, Value(0.0)).backward()
        assert a.grad == times * 3.0 * -0.25
    weights.append(Value(1.0))
    b = Value(2.0)
    weights[2] = b * 1.0
    Value.weighted_sum(weights, xs + [5.0], Value(0.0)).backward()
    assert b.grad == 5.0
