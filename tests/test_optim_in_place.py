"""The optimizers update a Tensor's parameters in place: the same arrays, the textbook's numbers, no layer-sized temporaries."""
import tracemalloc

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff.tensor import Tensor
from nn.optim import SGD, Adam


def parameters(rng, dtype, shapes=((64, 300), (64,))):
    ps = [Tensor(rng.standard_normal(shape), dtype) for shape in shapes]
    for p in ps:
        p.grad = rng.standard_normal(p.shape).astype(dtype)
    return ps


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16), lr=st.floats(1e-4, 10.0), momentum=st.sampled_from([0.0, 0.5, 0.9]),
       dtype=st.sampled_from([np.float32, np.float64]), steps=st.integers(1, 4))
def test_sgd_gives_the_textbook_numbers_in_the_same_arrays(seed, lr, momentum, dtype, steps):
    rng = np.random.default_rng(seed)
    ps = parameters(rng, dtype)
    arrays = [p.data for p in ps]
    expected = [p.data.copy() for p in ps]
    velocity = [np.zeros_like(p.data) for p in ps]
    optimizer = SGD(ps, lr=lr, momentum=momentum)
    for _ in range(steps):
        optimizer.step()
        for i, p in enumerate(ps):  # the rule written out, as numpy computes it without our scratch arrays
            if momentum:
                velocity[i] = velocity[i] * momentum + p.grad
                expected[i] = expected[i] - lr * velocity[i]
            else:
                expected[i] = expected[i] - lr * p.grad
    for p, array, want in zip(ps, arrays, expected):
        assert p.data is array and p.data.tobytes() == want.tobytes()


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.01)], ids=["sgd", "momentum", "adam"])
def test_a_step_allocates_no_array_the_size_of_a_layer(make):
    ps = parameters(np.random.default_rng(0), np.float32, shapes=((512, 784), (512,)))
    optimizer = make(ps)
    optimizer.step()  # the first step makes the scratch arrays
    tracemalloc.start()
    try:
        optimizer.step()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < ps[0].data.nbytes / 10  # 1.6 MB for the weights: lr * grad as a new array would show
