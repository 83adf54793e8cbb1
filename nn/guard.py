"""What keeps a training run honest: it stops when it diverges, it owns its output folder, it knows its data.

train.py and demos/train_mnist.py call these in a line each:
- Watch: a cost that explodes or turns non-finite, or gradients that vanish while the cost is
  still high (saturated neurons), stop training with Diverged naming the epoch and the batch.
  The checkpoint is written only after an epoch passes these checks, so the last good one stays.
- fingerprint: which data a run trained on, recorded in its checkpoint so that --resume on
  other data is refused.
- own_output: a lock on the output folder (a second run there is refused), stale temporary
  files of killed runs removed, and the folder checked writable before any training.
- saved_epochs: how many epochs the checkpoint on disk holds, for the message after Ctrl-C.
"""
import contextlib
import json
import math
import os
import signal
import sys
import threading
from pathlib import Path

import numpy as np

from autodiff.files import DamagedFileError, read_npz, remove_stale_temporaries

from .data import content_hash

EXPLODED = 10.0  # a batch cost this many times the run's first one means the steps overshoot
VANISHED = 1e-8  # gradients all below this while the cost is still high: the neurons have saturated


class Diverged(ValueError):
    """Training stopped learning: its cost exploded or became non-finite, or its gradients vanished."""


class Watch:
    """Wraps a cost function and an epoch's batches so that divergence stops training with a clear error.

    Checking a batch is one float comparison; the gradients are looked at once per epoch.
    """

    def __init__(self, cost, optimizer, history):
        self._cost, self.lr = cost, getattr(optimizer, "lr", None)
        self.reference = history[0]["cost"] if history else None  # a resumed run's first epoch
        self.epoch_number, self.batch, self.last_cost = 0, 0, None

    def cost(self, outputs, labels):
        loss = self._cost(outputs, labels)
        self.check(float(loss.data))
        return loss

    def check(self, value):
        """value, a batch's cost, if it neither exploded nor turned non-finite; else Diverged."""
        if self.reference is None:
            self.reference = value
        if not math.isfinite(value) or value > EXPLODED * self.reference:
            raise self._diverged(f"the cost rose to {value:.4g} from {self.reference:.4g} at the start")
        self.last_cost = value
        return value

    def batches(self, batches):
        """The batches, counted, so that an error can name the one it happened in."""
        for self.batch, batch in enumerate(batches, 1):
            yield batch

    @contextlib.contextmanager
    def epoch(self, number, net):
        """Around one epoch: overflow becomes Diverged naming the batch; at the end, vanished gradients are too."""
        self.epoch_number, self.batch = number, 0
        try:
            yield self
        except OverflowError as error:
            raise self._diverged(str(error)) from None
        largest = max((float(np.abs(p.grad).max()) for p in net.parameters()), default=0.0)
        if self.last_cost is not None and largest < VANISHED and self.last_cost > 0.1 * self.reference:
            raise self._diverged(f"the gradients vanished (the largest is {largest:.2g}) while the cost is still "
                                 f"{self.last_cost:.4g}: the neurons have saturated and nothing learns any more")

    def _diverged(self, what):
        lr = f" ({self.lr:g} now)" if isinstance(self.lr, (int, float)) else ""
        kept = (f"the checkpoint, if any, still holds epoch {self.epoch_number - 1}" if self.epoch_number > 1
                else "no epoch was complete, so none was saved")
        return Diverged(f"training diverged in epoch {self.epoch_number}, batch {self.batch}: {what}. "
                        f"A smaller learning rate{lr} usually fixes this; {kept}")


def fingerprint(data):
    """A short name for the data set (its content hash), after checking there is something to train on."""
    train_images, train_labels, test_images, test_labels = data
    if len(train_images) == 0:
        raise ValueError("the training set is empty: there is nothing to learn from")
    if len(test_images) == 0:
        raise ValueError("the test set is empty: there is nothing to measure the accuracy on")
    if len(train_images) != len(train_labels) or len(test_images) != len(test_labels):
        raise ValueError(f"{len(train_images)} training images with {len(train_labels)} labels, "
                         f"{len(test_images)} test images with {len(test_labels)} labels: they must pair up")
    return f"sha256:{content_hash(data)[:16]}, {len(train_images)} training and {len(test_images)} test images"


# --- the output folder ---------------------------------------------------------------------------

class OutputInUse(OSError):
    """Another run holds the lock on this output folder."""


_held = {}  # output folder -> (the lock file's descriptor, how many callers in this process hold it)


def own_output(out):
    """Lock the folder `out` for this process until release_output(out); first remove killed runs' temporaries.

    The lock is the operating system's (flock): it goes with the process, even one killed by SIGKILL,
    so it never goes stale. Creating the lock file also proves the folder writable, before any training.
    """
    out = Path(out)
    key = os.path.realpath(out)
    if key in _held:
        fd, holders = _held[key]
        _held[key] = fd, holders + 1
        return
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: is a file, not a folder")
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(out / ".lock", os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        raise OSError(f"--out {out}: cannot write there ({error.strerror or error})") from None
    try:
        _lock(fd, out)
    except BaseException:
        os.close(fd)
        raise
    _held[key] = fd, 1
    removed = remove_stale_temporaries(out)
    if removed:
        print(f"removed {len(removed)} temporary files left in {out} by a run that was killed while "
              f"writing: {', '.join(removed)}", file=sys.stderr)


def release_output(out):
    """Undo one own_output(out); the last one unlocks the folder. Nothing to do if it was never locked."""
    key = os.path.realpath(out)
    if key not in _held:
        return
    fd, holders = _held.pop(key)
    if holders > 1:
        _held[key] = fd, holders - 1
    else:
        os.close(fd)  # closing the descriptor releases the lock


def _lock(fd, out):
    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: no advisory locks; runs are not protected there
        return
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
        raise OutputInUse(f"--out {out} is in use by another training run (process {holder}): two runs "
                          "there would overwrite each other's checkpoint. Wait for it, or choose another "
                          "--out") from None
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)


# --- interrupts ------------------------------------------------------------------------------------

def interrupts_as_keyboard_interrupt():
    """Python's own Ctrl-C handling back: main() turns KeyboardInterrupt into its resume hint."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.default_int_handler)


def saved_epochs(checkpoint, since, known):
    """How many epochs the checkpoint holds, if this run wrote it (since: the run's start); else `known`.

    A Ctrl-C just after the checkpoint was replaced, before the run counted the epoch as done,
    must still name the epoch that is on disk.
    """
    try:
        if os.stat(checkpoint).st_mtime < since:
            return known
        history = json.loads(str(read_npz(checkpoint)["run"]))["history"]
        return max(known, len(history))
    except (OSError, DamagedFileError, KeyError, ValueError, TypeError):
        return known
