"""Every file we read, with one random byte changed: it loads as it was, or our error names the file.

No flipped byte may give a different network, checkpoint or data set, a traceback from deep in
numpy or zipfile, or a hang. Bounded: a few hundred flips per kind of file, about ten seconds.
"""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from autodiff.files import DamagedFileError
from mnist_fixtures import as_loaded, small_mnist
from nn import data
from nn.data import MnistError
from nn.fast import FastMLP
from nn.optim import SGD
from nn.train import COSTS, describe, load_checkpoint, train

FLIPS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
flips = st.tuples(st.floats(0, 1, exclude_max=True), st.integers(1, 255))  # where (a fraction of the file), xor what


def flipped(whole, flip):
    where, xor = flip
    i = int(where * len(whole))
    return whole[:i] + bytes([whole[i] ^ xor]) + whole[i + 1:]


def a_net():
    return FastMLP(12, [5, 3], "tanh", "sigmoid", seed=1, dtype=np.float32)


def same_arrays(a, b):
    return len(a) == len(b) and all(x.dtype == y.dtype and np.array_equal(x, y) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def model_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "net.npz"
    a_net().save(path)
    return path, path.read_bytes()


@FLIPS
@given(flip=flips)
def test_a_model_with_a_flipped_byte_loads_as_it_was_or_is_named(model_file, tmp_path_factory, flip):
    original, whole = model_file
    path = tmp_path_factory.mktemp("flipped") / "net.npz"
    path.write_bytes(flipped(whole, flip))
    try:
        net = FastMLP.load(path)
    except DamagedFileError as error:
        assert str(path) in str(error)
        return
    want = FastMLP.load(original)
    assert repr(net) == repr(want)
    assert same_arrays([p.data for p in net.parameters()], [p.data for p in want.parameters()])


def small_run():
    rng = np.random.default_rng(0)
    images, labels = rng.integers(0, 256, (40, 12), dtype=np.uint8), rng.integers(0, 3, 40)
    return images, labels, images[:10], labels[:10]


def fresh():
    net = a_net()
    return net, SGD(net.parameters(), 0.1, momentum=0.9)


@pytest.fixture(scope="module")
def checkpoint_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("checkpoint") / "checkpoint.npz"
    net, optimizer = fresh()
    train(net, optimizer, COSTS["squared"], small_run(), 2, 8, seed=0, checkpoint=path)
    return path, path.read_bytes()


def loaded_checkpoint(path):
    net, optimizer = fresh()
    history = load_checkpoint(path, net, optimizer, describe(net, optimizer, COSTS["squared"], 8, 0))
    return history, [p.data for p in net.parameters()], optimizer.velocity


@FLIPS
@given(flip=flips)
def test_a_checkpoint_with_a_flipped_byte_loads_as_it_was_or_is_named(checkpoint_file, tmp_path_factory, flip):
    original, whole = checkpoint_file
    path = tmp_path_factory.mktemp("flipped") / "checkpoint.npz"
    path.write_bytes(flipped(whole, flip))
    try:
        history, weights, velocity = loaded_checkpoint(path)
    except DamagedFileError as error:
        assert str(path) in str(error)
        return
    want_history, want_weights, want_velocity = loaded_checkpoint(original)
    assert history == want_history
    assert same_arrays(weights, want_weights) and same_arrays(velocity, want_velocity)


@pytest.fixture(scope="module")
def cache_file(tmp_path_factory):
    arrays = as_loaded(small_mnist(np.random.default_rng(0)))
    path = tmp_path_factory.mktemp("cache") / "mnist.npz"
    data.write_cache(arrays, path)  # compressed, as the real cache
    return path, path.read_bytes(), arrays


@FLIPS
@given(flip=flips)
def test_a_cache_with_a_flipped_byte_loads_as_it_was_or_is_named(cache_file, tmp_path_factory, monkeypatch, flip):
    original, whole, arrays = cache_file
    monkeypatch.setattr(data, "MNIST_SHA256", data.content_hash(arrays))  # the fake set stands in for MNIST
    path = tmp_path_factory.mktemp("flipped") / "mnist.npz"
    path.write_bytes(flipped(whole, flip))
    try:
        loaded = data.checked_cache(path)
    except MnistError as error:
        assert str(path) in str(error)
        return
    assert same_arrays(loaded, arrays)


def test_a_zip_directory_that_hides_the_last_layer_is_refused(model_file, tmp_path):
    """A flipped length in the zip's directory can make zipfile read one member fewer, silently;
    without the last layer's arrays the rest is a smaller but valid network (the fuzz test found it)."""
    _, whole = model_file
    raw = bytearray(whole)
    entries = [i for i in range(len(raw)) if raw[i:i + 4] == b"PK\x01\x02"]  # the directory's entries
    before_last = entries[-2]
    skip = len(raw) - before_last  # its comment "runs" over the last entry: zipfile then never sees it
    raw[before_last + 32:before_last + 34] = min(skip, 0xFFFF).to_bytes(2, "little")
    path = tmp_path / "net.npz"
    path.write_bytes(bytes(raw))
    with pytest.raises(DamagedFileError, match="directory lists 6 arrays, but only 5 can be read"):
        FastMLP.load(path)


def test_reading_an_npz_holds_each_array_once(tmp_path):
    """The checked reader must not keep a member's bytes beside its array: MNIST's images are 47 MB."""
    import tracemalloc

    from autodiff.files import read_npz

    big = np.arange(4_000_000, dtype=np.float32).reshape(2000, 2000)  # 16 MB
    np.savez_compressed(tmp_path / "big.npz", big=big, small=np.ones(3))
    tracemalloc.start()
    try:
        arrays = read_npz(tmp_path / "big.npz")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert np.array_equal(arrays["big"], big) and arrays["big"].flags.writeable and arrays["small"].tolist() == [1, 1, 1]
    assert peak < 1.5 * big.nbytes, f"{peak / big.nbytes:.2f} times the array's size was allocated"
