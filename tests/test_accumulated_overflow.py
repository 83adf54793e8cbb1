"""A leaf's gradient summed past the float range across backward() calls is an OverflowError naming it (issue 14, cause 13).

Leaf gradients accumulate until zero_grad(). Each pass checked what it added, but in the scalar
engine not what the sum with the earlier passes came to: two passes of 1e308 each left inf, silently.
The Tensor engine looks at its leaves' gradients after every pass and refused it already.
"""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value
from autodiff.tensor import Tensor

ENGINES = {
    "Value": lambda x: Value(x, label="w"),
    "Tensor": lambda x: Tensor(np.array([x]), label="w"),
}


def cost(w, a):
    out = w * a
    return out if isinstance(out, Value) else out.sum()


@pytest.mark.parametrize("engine", sorted(ENGINES))
@given(a=st.floats(1e200, 1.7e308), passes=st.integers(2, 4))
def test_gradients_summed_past_the_float_range_name_the_leaf(engine, a, passes):
    w = ENGINES[engine](1.0)
    total = 0.0
    for _ in range(passes):
        if abs(total + a) == float("inf"):  # this pass would overflow the sum
            named = pytest.raises(OverflowError, match=r"gradient of an input 'w'.* overflows .* summed")
            with named, warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # numpy's own word on the overflow, first
                cost(w, a).backward()
            return
        cost(w, a).backward()
        total += a
        assert float(np.sum(w.grad)) == total  # every finite sum is kept, exactly


def test_many_passes_of_ordinary_gradients_still_accumulate():
    w = Value(0.5, label="w")
    for passes in range(1, 2001):
        (w * 3.0).backward()
    assert w.grad == 6000.0
