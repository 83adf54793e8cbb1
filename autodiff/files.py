"""Writing files so that a crash never leaves half of one."""
import os
import tempfile
from pathlib import Path


def atomic_write(path, write):
    """Call write(binary_file) on a temporary file beside `path`, then rename it over `path`.

    A rename within a directory is atomic: readers see the old file or the new one, never a
    half-written one, even if the program is killed in the middle.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as file:
            write(file)
            file.flush()
            os.fsync(file.fileno())
        os.chmod(temporary, 0o666 & ~_umask())  # mkstemp makes it private; give it a normal file's mode
        os.replace(temporary, path)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def _umask():
    mask = os.umask(0)  # the only way to read the umask is to set it
    os.umask(mask)
    return mask
