"""FastMLP's own promises: conversion and files, optimizers on Tensors, float32, a stable cross-entropy."""
import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import Value
from autodiff.graph import topological_order
from autodiff.tensor import Tensor
from nn import losses
from nn.fast import FastMLP
from nn.mlp import ACTIVATIONS
from nn.optim import SGD, Adam

seeds = st.integers(0, 2**32 - 1)


@st.composite
def networks(draw):
    """A FastMLP of 1 to 3 layers of widths 1 to 8, with random weights and nonzero biases."""
    nin = draw(st.integers(1, 8))
    nouts = draw(st.lists(st.integers(1, 8), min_size=1, max_size=3))
    activation, output = draw(st.sampled_from(sorted(ACTIVATIONS))), draw(st.sampled_from(sorted(ACTIVATIONS)))
    net = FastMLP(nin, nouts, activation, output, seed=draw(seeds))
    rng = np.random.default_rng(draw(seeds))
    for p in net.parameters():
        p.data[...] = rng.normal(size=p.shape)
    return net


def assert_same_network(a, b):
    """Same sizes, same activation in every layer, bit-for-bit the same weights and dtype."""
    assert a.sizes == b.sizes
    assert a.output == b.output
    if len(a.sizes) > 2:  # with one layer there is no hidden activation to compare
        assert a.activation == b.activation
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        assert p.dtype == q.dtype
        np.testing.assert_array_equal(p.data, q.data)


# --- conversion and files ---


@settings(max_examples=40, deadline=None)
@given(networks())
def test_fast_to_scalar_to_fast_keeps_every_weight(net):
    assert_same_network(FastMLP.from_scalar(net.to_scalar()), net)


def a_network(dtype=np.float64, seed=0):
    net = FastMLP(4, [6, 3], "tanh", "sigmoid", seed=seed, dtype=dtype)
    rng = np.random.default_rng(seed + 1)
    for p in net.parameters():
        p.data[...] = rng.normal(size=p.shape)
    return net


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_save_then_load_gives_the_same_network_exactly(tmp_path, dtype):
    net = a_network(dtype)
    path = tmp_path / "net.npz"
    net.save(path)
    loaded = FastMLP.load(path)
    assert_same_network(loaded, net)
    x = np.random.default_rng(3).normal(size=(5, net.sizes[0]))
    np.testing.assert_array_equal(loaded(x).data, net(x).data)


def crash_halfway(file, **arrays):
    """Stands in for np.savez: writes a little, then dies as a full disk or a kill would."""
    file.write(b"PK\x03\x04 half of a zip file")
    raise OSError("simulated crash in the middle of writing")


@pytest.mark.parametrize("existing", [True, False])
def test_a_crash_while_saving_leaves_the_old_file_and_no_temporary_file(tmp_path, monkeypatch, existing):
    path = tmp_path / "net.npz"
    if existing:
        a_network(seed=0).save(path)
        before = path.read_bytes()
    monkeypatch.setattr(np, "savez", crash_halfway)
    with pytest.raises(OSError, match="simulated crash"):
        a_network(seed=5).save(path)
    if existing:
        assert path.read_bytes() == before
        assert_same_network(FastMLP.load(path), a_network(seed=0))
    assert os.listdir(tmp_path) == (["net.npz"] if existing else [])


def assert_unreadable(path):
    with pytest.raises(ValueError) as raised:
        FastMLP.load(path)
    assert str(path) in str(raised.value), f"the error does not name the file: {raised.value}"


def test_loading_a_file_truncated_anywhere_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "net.npz"
    a_network().save(path)
    whole = path.read_bytes()
    for length in range(len(whole)):  # every cut, from the empty file to one byte short (~2 KB)
        path.write_bytes(whole[:length])
        assert_unreadable(path)


def flip_the_middle_byte(whole):
    middle = len(whole) // 2
    return whole[:middle] + bytes([whole[middle] ^ 0xFF]) + whole[middle + 1 :]


DAMAGE = {
    "text": lambda whole: b"not a model at all\n" * 10,
    "zeros": lambda whole: whole[:4] + bytes(len(whole) - 4),  # a zip's first bytes, then nothing
    "bad header": lambda whole: whole.replace(b"<f8", b"<x8"),  # an unknown dtype in the arrays' headers
    "flipped byte": flip_the_middle_byte,
}


@pytest.mark.parametrize("damage", sorted(DAMAGE))
def test_loading_a_corrupt_file_is_a_value_error_naming_it(tmp_path, damage):
    path = tmp_path / "net.npz"
    a_network().save(path)
    whole = path.read_bytes()
    damaged = DAMAGE[damage](whole)
    assert damaged != whole
    path.write_bytes(damaged)
    assert_unreadable(path)


def test_loading_an_npz_that_is_not_a_network_is_a_value_error_naming_it(tmp_path):
    path = tmp_path / "other.npz"
    np.savez(path, weights=np.ones(3))
    assert_unreadable(path)


# --- optimizers are generic: the same steps on Tensors as on Values ---

OPTIMIZERS = {
    "SGD": lambda params: SGD(params, lr=0.1),
    "SGD with momentum": lambda params: SGD(params, lr=0.1, momentum=0.9),
    "Adam": lambda params: Adam(params, lr=0.01),
}


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(sorted(OPTIMIZERS)), st.lists(st.integers(1, 4), min_size=1, max_size=3), seeds)
def test_optimizers_take_the_same_steps_on_tensors_as_on_values(name, shape, seed):
    rng = np.random.default_rng(seed)
    start = rng.normal(size=shape)
    tensor = Tensor(start)
    values = [Value(float(x)) for x in start.flat]
    on_tensors, on_values = OPTIMIZERS[name]([tensor]), OPTIMIZERS[name](values)
    for _ in range(5):
        gradient = rng.normal(size=shape)
        on_tensors.zero_grad()
        on_values.zero_grad()
        tensor.grad = tensor.grad + gradient  # as backward() would leave it
        for v, g in zip(values, gradient.flat):
            v.grad += float(g)
        on_tensors.step()
        on_values.step()
        np.testing.assert_allclose(tensor.data.flat, [v.data for v in values], rtol=1e-12, atol=1e-15)


# --- float32 end to end ---


@pytest.mark.parametrize("cost", ["squared_error", "cross_entropy"])
@pytest.mark.parametrize("optimizer", sorted(OPTIMIZERS))
def test_a_float32_network_stays_float32_through_forward_backward_and_steps(tmp_path, cost, optimizer):
    rng = np.random.default_rng(4)
    net = FastMLP(5, [7, 3], "sigmoid", "linear", seed=4, dtype=np.float32)
    opt = OPTIMIZERS[optimizer](net.parameters())
    x, labels = rng.normal(size=(6, 5)), rng.integers(0, 3, 6)  # float64 data, int labels
    target = labels if cost == "cross_entropy" else np.eye(3)[labels]
    for _ in range(2):
        opt.zero_grad()
        loss = getattr(losses, cost)(net(x), target)
        loss.backward()
        opt.step()
        for node in topological_order(loss):
            assert node.dtype == np.float32, f"{node!r}"
            if node.requires_grad:
                assert node.grad.dtype == np.float32, f"the gradient of {node!r} is {node.grad.dtype}"
    for p in net.parameters():
        assert p.dtype == np.float32
    net.save(tmp_path / "net32.npz")
    assert FastMLP.load(tmp_path / "net32.npz").dtype == np.float32


# --- cross-entropy that cannot overflow ---


def softmax(z):
    """The analytic reference exp(z) / sum(exp(z)); shifting z by its max changes nothing but overflow."""
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_cross_entropy_of_huge_logits_by_hand():
    logits = Tensor([[1e4, -1e4, -1e4], [-1e4, 1e4, 0.0]])
    cost = losses.cross_entropy(logits, [0, 0])
    cost.backward()
    # example 1 is certain and right: cost 0; example 2 is certain and wrong by 2e4: cost 2e4
    assert float(cost.data) == pytest.approx(1e4, rel=1e-12)
    np.testing.assert_allclose(logits.grad, [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], atol=1e-12)


@settings(max_examples=40, deadline=None)
@given(st.integers(1, 6), st.integers(2, 6), seeds, st.sampled_from([np.float64, np.float32]))
def test_cross_entropy_on_logits_of_1e4_is_finite_with_gradient_softmax_minus_onehot(batch, k, seed, dtype):
    rng = np.random.default_rng(seed)
    z = rng.choice([-1e4, 1e4], (batch, k)) + rng.uniform(-5, 5, (batch, k))
    z = z.astype(dtype).astype(np.float64)  # the reference sees the logits the Tensor holds
    labels = rng.integers(0, k, batch)
    logits = Tensor(z, dtype=dtype)
    cost = losses.cross_entropy(logits, labels)
    cost.backward()
    assert np.isfinite(cost.data) and np.all(np.isfinite(logits.grad))
    expected = (softmax(z) - np.eye(k)[labels]) / batch
    tolerance = 1e-12 if dtype == np.float64 else 1e-6
    np.testing.assert_allclose(logits.grad, expected, rtol=tolerance, atol=tolerance)
    # and the cost itself: -log softmax[label], averaged, computed from the same reference
    picked = z[np.arange(batch), labels] - z.max(axis=1)
    reference = np.mean(np.log(np.exp(z - z.max(axis=1, keepdims=True)).sum(axis=1)) - picked)
    assert float(cost.data) == pytest.approx(reference, rel=tolerance, abs=tolerance)


def test_the_scalar_cross_entropy_survives_huge_logits_too():
    logits = [[Value(1e4), Value(-1e4), Value(0.0)], [Value(-1e4), Value(1e4), Value(0.0)]]
    cost = losses.cross_entropy(logits, [0, 0])
    cost.backward()
    assert cost.data == pytest.approx(1e4, rel=1e-12)
    grads = [[v.grad for v in row] for row in logits]
    np.testing.assert_allclose(grads, [[0.0, 0.0, 0.0], [-0.5, 0.5, 0.0]], atol=1e-12)


# --- a loaded model is checked before it is used (issue 10, cause 4) ---

from autodiff.files import DamagedFileError  # noqa: E402


def saved_state(**changes):
    """A good network's arrays, with some replaced (None removes one)."""
    state = a_network().state()
    for key, value in changes.items():
        if value is None:
            del state[key]
        else:
            state[key] = value
    return state


BAD_STATES = {
    "a layer's weights missing": (dict(w1=None), "not a FastMLP: missing w1"),
    "a bias missing": (dict(b1=None), "missing b1"),
    "an unexpected array": (dict(extra=np.ones(2)), "unexpected extra"),
    "integer weights": (dict(w0=np.ones((6, 4), np.int64)), "w0 is int64, expected float32 or float64"),
    "mixed dtypes": (dict(b0=np.zeros(6, np.float32)), "b0 is float32, expected .* like w0"),
    "complex weights": (dict(w1=np.ones((3, 6), np.complex128)), "w1 is complex128"),
    "a NaN": (dict(w1=np.full((3, 6), np.nan)), "w1 holds nan: weights must be finite"),
    "an infinity": (dict(b1=np.array([0.0, np.inf, 0.0])), "b1 holds inf"),
    "a wrong shape": (dict(w1=np.ones((3, 5))), r"layer 1 has weights \(3, 5\) and bias \(3,\), which do not fit"),
    "a vector for a matrix": (dict(w0=np.ones(6)), r"layer 0 has weights \(6,\)"),
    "an unknown activation": (dict(activation=np.array("softmax")), "activation must be one of"),
    "an activation that is a number": (dict(output=np.array(3.0)), "output must be one of"),
}


@pytest.mark.parametrize("case", sorted(BAD_STATES))
def test_a_bad_model_file_is_refused_naming_the_file_and_the_problem(tmp_path, case):
    changes, problem = BAD_STATES[case]
    path = tmp_path / "net.npz"
    np.savez(path, **saved_state(**changes))
    with pytest.raises(DamagedFileError, match=f"{path}: .*{problem}"):
        FastMLP.load(path)


def test_an_npy_file_in_place_of_an_npz_is_named(tmp_path):
    path = tmp_path / "net.npz"
    with open(path, "wb") as file:
        np.save(file, np.ones(3))
    with pytest.raises(DamagedFileError, match=f"{path}: not a readable .npz file"):
        FastMLP.load(path)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_place_of_a_model_is_refused_without_hanging(tmp_path):
    path = tmp_path / "net.npz"
    os.mkfifo(path)
    with pytest.raises(DamagedFileError, match=f"{path}: not a regular file"):
        FastMLP.load(path)


def test_a_header_that_promises_less_data_than_the_file_holds_is_caught(tmp_path):
    """A flipped bit in a stored array's header: np.load would read a shorter array and never check the CRC."""
    path = tmp_path / "net.npz"
    a_network().save(path)  # np.savez stores the arrays uncompressed
    whole = path.read_bytes()
    damaged = whole.replace(b"'shape': (6, 4)", b"'shape': (2, 4)", 1)
    assert damaged != whole
    path.write_bytes(damaged)
    with pytest.raises(DamagedFileError, match=str(path)):
        FastMLP.load(path)
