"""Writing files so that a crash never leaves half of one, and reading them so that damage is never used."""
import contextlib
import io
import math
import os
import re
import signal
import stat
import tempfile
import threading
import time
import zipfile
from pathlib import Path

import numpy as np


class DamagedFileError(ValueError):
    """A file we read is not what it should be. The message names the file and what is wrong with it."""


class RefusedTarget(OSError):
    """A write refused before it began: its target is not a regular file, or belongs to another writer."""


def atomic_write(path, write, owner=None):
    """Call write(binary_file) on a temporary file beside `path`, then rename it over `path`.

    A rename within a directory is atomic: readers see the old file or the new one, never a
    half-written one, even if the program is killed in the middle. Ctrl-C waits for the write to
    finish (np.savez, interrupted, leaves a zipfile that complains when it is collected).
    Only a regular file is ever replaced, and not one that another writer owns (see check_target):
    owner names the writer, for the one file it owns.
    """
    path = Path(path)
    check_target(path, owner)
    path.parent.mkdir(parents=True, exist_ok=True)
    with _interrupts_deferred():
        _write_then_rename(path, write)


# --- what a write may replace ------------------------------------------------------------------

_owned = {}  # what a file is ("the MNIST cache") -> a function giving its path now, or a path

KINDS = {stat.S_IFDIR: "directory", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo", stat.S_IFCHR: "device",
         stat.S_IFBLK: "device", stat.S_IFSOCK: "socket"}


def owned_by(what, path):
    """Declare the file at `path` (a path, or a function giving it) to be `what`; None forgets `what`.

    atomic_write refuses to replace it, unless called with owner=what: a run's lock, the data
    cache, a run's checkpoint must not be replaced by another output pointed at them by mistake.
    """
    if path is None:
        _owned.pop(what, None)
    else:
        _owned[what] = path


def check_target(path, owner=None):
    """Raise RefusedTarget unless `path` may be written: absent, or a regular file nobody else owns.

    Renaming over a device node, a FIFO, a socket, a folder or a symlink would replace it with a
    regular file (as root, /dev/null itself): each is named and left as it is.
    """
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        raise RefusedTarget(f"{path}: a part of the path is a file, not a folder; nothing was written") from None
    if mode is not None and not stat.S_ISREG(mode):
        kind = KINDS.get(stat.S_IFMT(mode), "special file")
        raise RefusedTarget(f"{path}: is a {kind}, not a regular file; nothing was written "
                            f"(outputs are written only as regular files)")
    what = owner_of(path)
    if what is not None and what != owner:
        raise RefusedTarget(f"{path} is {what}: refusing to write over it; nothing was written")


def owner_of(path):
    """What `path` is, if it names a file declared with owned_by (by any name: links, '..', hard links)."""
    for what, owned in list(_owned.items()):
        if same_file(path, owned() if callable(owned) else owned):
            return what
    return None


def same_file(a, b):
    """Whether two paths name the same file: the same inode if both exist, else the same resolved path."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return os.path.realpath(a) == os.path.realpath(b)


def interrupt(signum, frame):
    """Ctrl-C as a KeyboardInterrupt, as Python's own handler, except inside a finalizer (a __del__, a
    weakref callback): there Python would print the exception as a traceback and carry on, so the
    signal is sent again a moment later, once the finalizer is done."""
    while frame is not None:
        if frame.f_code.co_name == "__del__" or frame.f_code.co_filename.endswith("weakref.py"):
            threading.Timer(0.01, os.kill, (os.getpid(), signum)).start()
            return
        frame = frame.f_back
    raise KeyboardInterrupt


@contextlib.contextmanager
def _interrupts_deferred():
    """Hold Ctrl-C until the block is done, then raise it; only where Ctrl-C raises KeyboardInterrupt."""
    handler = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or \
            handler not in (signal.default_int_handler, interrupt):
        yield
        return
    received = []
    signal.signal(signal.SIGINT, lambda signum, frame: received.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, handler)
    if received:
        raise KeyboardInterrupt


def _write_then_rename(path, write):
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMPORARY_SUFFIX)
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException as error:
        if os.path.exists(temporary):
            os.unlink(temporary)
        if _interrupted(error):  # Ctrl-C inside the writer can surface as the writer's own clean-up error
            raise KeyboardInterrupt from None
        raise


TEMPORARY_SUFFIX = ".tmp"
TEMPORARY = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")  # mkstemp's names above: .NAME.XXXXXXXX.tmp


def _interrupted(error):
    """Whether a KeyboardInterrupt caused this error (np.savez, interrupted, raises a zipfile ValueError)."""
    while error is not None:
        if isinstance(error, KeyboardInterrupt):
            return True
        error = error.__context__
    return False


def remove_stale_temporaries(directory, older_than=0.0):
    """Delete the temporary files that killed atomic_writes left in `directory`; their names.

    Only call it where no other process is writing (a folder this run has locked), or with
    `older_than` seconds long enough that no live write is that old.
    """
    removed = []
    now = time.time()
    for entry in Path(directory).glob(f".*{TEMPORARY_SUFFIX}"):
        try:
            if TEMPORARY.match(entry.name) and entry.is_file() and now - entry.stat().st_mtime >= older_than:
                entry.unlink()
                removed.append(entry.name)
        except OSError:
            pass  # gone already, or not ours to delete: leave it
    return removed


def _umask():
    mask = os.umask(0)  # the only way to read the umask is to set it
    os.umask(mask)
    return mask


# --- reading .npz files --------------------------------------------------------------------------

def check_regular_file(path):
    """Raise unless `path` is a regular file: a FIFO or a device would hang or never end a read."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        raise FileNotFoundError(f"{path}: no such file") from None
    if not stat.S_ISREG(mode):
        raise DamagedFileError(f"{path}: not a regular file (a directory, FIFO or device)")


def read_npz(path):
    """{name: array} from a .npz file, every byte checked: regular file, zip CRCs, .npy headers, sizes.

    np.load stops reading an array where its header says the data ends, so a flipped bit in a
    header can shorten an array without ever reaching the zip's checksum. Here each member is read
    to its end (zipfile then checks its CRC), its header must account for exactly its bytes, and
    pickled objects are refused. Any damage, whatever exception the libraries raise for it,
    becomes a DamagedFileError naming the file.
    """
    check_regular_file(path)
    try:
        with open(path, "rb") as file, zipfile.ZipFile(file) as archive:
            listed, found = _entries_listed(file), len(archive.infolist())
            if listed is not None and listed != found:  # a flipped length in the directory makes zipfile stop early, silently
                raise DamagedFileError(f"its zip directory lists {listed} arrays, but only {found} can be read")
            arrays = {}
            for info in archive.infolist():
                if not info.filename.endswith(".npy"):
                    raise DamagedFileError(f"holds {info.filename!r}, which is not a .npy array")
                name = info.filename[:-4]
                if name in arrays:
                    raise DamagedFileError(f"holds {name!r} twice")
                with archive.open(info) as member:
                    arrays[name] = _read_npy(member, info.file_size, name)
            return arrays
    except DamagedFileError as error:
        raise DamagedFileError(f"{path}: {error}") from None
    except Exception as error:  # damage raises many types: zlib, zipfile, struct, tokenize, MemoryError, ...
        raise DamagedFileError(f"{path}: not a readable .npz file ({type(error).__name__}: {error})") from None


def _entries_listed(file):
    """How many members the zip's end record says it has (None for a ZIP64 count, which we never write)."""
    file.seek(0, io.SEEK_END)
    size = file.tell()
    file.seek(max(0, size - 22 - 65535))  # the end record, 22 bytes and a comment of up to 64 KiB
    tail = file.read()
    at = tail.rfind(b"PK\x05\x06")
    if at < 0 or len(tail) < at + 22:
        raise DamagedFileError("has no zip end record")
    count = int.from_bytes(tail[at + 10:at + 12], "little")
    return None if count == 0xFFFF else count


def _read_npy(member, size, name):
    """The array in one .npy member of a zip (`size` bytes), checked to hold exactly what its header says.

    The data goes straight into the array's own memory, a megabyte at a time: reading the member
    whole and then copying it would hold MNIST's 47 MB of training images twice. Reading to the
    end is what makes zipfile check the member's CRC.
    """
    version = np.lib.format.read_magic(member)
    read_header = {(1, 0): np.lib.format.read_array_header_1_0,
                   (2, 0): np.lib.format.read_array_header_2_0}.get(version)
    if read_header is None:
        raise DamagedFileError(f"{name}: unknown .npy format version {version}")
    shape, fortran_order, dtype = read_header(member)
    if dtype.hasobject:
        raise DamagedFileError(f"{name}: holds Python objects (pickles), which we never load")
    nbytes, start = math.prod(shape) * dtype.itemsize, member.tell()
    if start + nbytes != size:
        raise DamagedFileError(f"{name}: its header promises shape {shape} of {dtype}, "
                               f"{nbytes} bytes, but {size - start} follow")
    data = np.empty(nbytes, np.uint8)
    done = 0
    while done < nbytes:
        chunk = member.read(min(1 << 20, nbytes - done))
        if not chunk:
            raise DamagedFileError(f"{name}: ends after {done} of its {nbytes} bytes")
        data[done:done + len(chunk)] = np.frombuffer(chunk, np.uint8)
        done += len(chunk)
    if member.read(1):
        raise DamagedFileError(f"{name}: holds more than the {nbytes} bytes its header promises")
    return data.view(dtype).reshape(shape, order="F" if fortran_order else "C")
