"""The costs score every example against its own target, or refuse by name, in both engines (issue 14, cause 10).

squared_error of 2 examples against 1 target scored only the first (zip stops at the shorter), an
example with more outputs than targets lost the extra outputs the same way, cross_entropy with a
label past the last class was an IndexError and a label of -1 silently picked the last class.
The property: the scalar engine (lists of Values) accepts exactly what the Tensor engine accepts,
and then both give the same cost.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value
from autodiff.tensor import Tensor
from nn.losses import cross_entropy, squared_error

sizes = st.integers(1, 3)


def outcome(compute):
    try:
        return float(compute().data)
    except (ValueError, TypeError) as error:
        return error


@given(st.tuples(sizes, sizes, sizes, sizes), st.integers(0, 2**32 - 1))
def test_squared_error_takes_what_the_tensor_cost_takes_and_gives_its_value(shapes, seed):
    batch, k, target_batch, target_k = shapes
    rng = np.random.default_rng(seed)
    outputs, targets = rng.uniform(-1, 1, (batch, k)), rng.uniform(-1, 1, (target_batch, target_k))
    scalar = outcome(lambda: squared_error([[Value(o) for o in row] for row in outputs], targets.tolist()))
    tensor = outcome(lambda: squared_error(Tensor(outputs), targets))
    if (batch, k) == (target_batch, target_k):
        assert scalar == pytest.approx(tensor, rel=1e-12)
    else:
        for error in (scalar, tensor):
            assert isinstance(error, ValueError) and "squared-error" in str(error), error
        expected = (f"{batch} examples of outputs but {target_batch} of targets" if batch != target_batch
                    else f"has {k} outputs but {target_k} targets")
        assert expected in str(scalar), scalar


labels = st.one_of(st.integers(-3, 5), st.sampled_from([1.0, 0.5, True, "1", None]))


@given(sizes, st.integers(1, 4), st.lists(labels, min_size=1, max_size=4), st.integers(0, 2**32 - 1))
def test_cross_entropy_takes_what_the_tensor_cost_takes_and_gives_its_value(batch, k, given_labels, seed):
    logits = np.random.default_rng(seed).uniform(-3, 3, (batch, k))
    scalar = outcome(lambda: cross_entropy([[Value(z) for z in row] for row in logits], given_labels))
    try:
        tensor = outcome(lambda: cross_entropy(Tensor(logits), given_labels))
    except (ValueError, TypeError) as error:  # numpy's own refusal of a list it cannot make an array of
        tensor = error
    fits = len(given_labels) == batch and all(
        type(label) is int and 0 <= label < k for label in given_labels)
    if fits:
        assert scalar == pytest.approx(tensor, rel=1e-12)
    else:
        for error in (scalar, tensor):
            assert isinstance(error, (ValueError, TypeError)) and "cross-entropy" in str(error), error


def test_the_examples_of_the_issue():
    a, b = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match="squared-error: 2 examples of outputs but 1 of targets"):
        squared_error([[a], [b]], [[0.0]])
    with pytest.raises(ValueError, match=r"squared-error: example 0 has 2 outputs but 1 targets"):
        squared_error([[a, b]], [[0.0]])
    with pytest.raises(ValueError, match=r"cross-entropy: label 2 of example 0 is not a class: labels must be integers from 0 to 1"):
        cross_entropy([[a, b]], [2])
    with pytest.raises(ValueError, match=r"cross-entropy: label -1 of example 0 is not a class"):
        cross_entropy([[a, b]], [-1])  # Python's negative index picked the last class


@pytest.mark.parametrize("cost, outputs, targets, words", [
    (squared_error, [Value(1.0)], [1.0], r"squared-error: example 0's outputs are a Value, expected a list"),
    (squared_error, [[Value(1.0)]], [1.0], r"squared-error: example 0's targets are a float, expected a list"),
    (cross_entropy, [Value(1.0)], [0], r"cross-entropy: example 0's logits are a Value, expected a list"),
    (cross_entropy, [[]], [0], r"cross-entropy: example 0 has no logits"),
    (cross_entropy, Tensor(np.zeros((2, 0))), [0, 0], r"cross-entropy: .* no logits"),
])
def test_an_example_that_is_not_a_list_is_named(cost, outputs, targets, words):
    with pytest.raises((ValueError, TypeError), match=words):
        cost(outputs, targets)
