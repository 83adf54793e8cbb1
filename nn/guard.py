"""What keeps a training run honest: it stops when it diverges, it owns its output folder, it knows its data.

train.py and the training command (nn/cli.py) call these in a line each:
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
import stat
import sys
import threading
from pathlib import Path

import numpy as np

from autodiff.files import DamagedFileError, interrupt, owned_by, read_npz, remove_stale_temporaries

from .data import content_hash
from .mlp import physical_memory

LOCK = ".lock"  # the lock file's name, in the output folder
EXPLODED = 10.0  # a batch cost this many times the run's first one means the steps overshoot
VANISHED = 1e-8  # gradients all below this while the cost is still high: the neurons have saturated


STUCK_EPOCHS = 3  # this many epochs in a row no better than chance: nothing is learning
ABOVE_CHANCE = 0.05  # better than chance means this much above always guessing the most common class


class Diverged(ValueError):
    """Training stopped learning: its cost exploded or became non-finite, or its gradients vanished."""


class StuckAtChance(ValueError):
    """Training runs but learns nothing: its test accuracy stays where guessing would put it."""


class Watch:
    """Wraps a cost function and an epoch's batches so that divergence stops training with a clear error.

    Checking a batch is one float comparison; the gradients are looked at once per epoch.
    """

    def __init__(self, cost, optimizer, history):
        self._cost, self.lr = cost, getattr(optimizer, "lr", None)
        self.reference = history[0]["cost"] if history else None  # a resumed run's first epoch
        self.epoch_number, self.batch, self.last_cost = 0, 0, None

    def cost(self, outputs, labels):
        """The cost of a batch, judged (the fast path: one call per batch)."""
        loss = self._cost(outputs, labels)
        self.check(float(loss.data))
        return loss

    def check(self, batch_cost):
        """Stop if a batch's mean cost is not finite or is far above the run's first batch's.

        Always a whole batch's cost, in the process that steps: one example's cost can be a
        hundred times another's in a network that learns well, and a worker process sees only
        part of the run.
        """
        if self.reference is None:
            self.reference = batch_cost
        if not math.isfinite(batch_cost) or batch_cost > EXPLODED * self.reference:
            raise self._diverged(f"the cost rose to {batch_cost:.4g} from {self.reference:.4g} at the start")
        self.last_cost = batch_cost
        return batch_cost

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

    def judge_epoch(self, history, test_labels):
        """Stop if the last STUCK_EPOCHS epochs' test accuracy were no better than guessing.

        Chance is what always answering the test set's most common class scores (11.35% on
        MNIST): dead ReLUs or saturated sigmoids leave a network there with a finite, flat cost,
        which the per-batch checks cannot see.
        """
        recent = [figures["test_accuracy"] for figures in history[-STUCK_EPOCHS:]]
        if len(recent) < STUCK_EPOCHS or len(test_labels) == 0:
            return
        chance = np.bincount(test_labels).max() / len(test_labels)
        if max(recent) > chance + ABOVE_CHANCE:
            return
        lr = f" ({self.lr:g} now)" if isinstance(self.lr, (int, float)) else ""
        raise StuckAtChance(
            f"after {len(history)} epochs the test accuracy is no better than chance "
            f"({', '.join(f'{a:.1%}' for a in recent)} in the last {STUCK_EPOCHS}; always guessing the most "
            f"common class scores {chance:.1%}): nothing is learning, so training stops. A learning rate{lr} "
            "too large kills ReLU neurons (their input stays negative, so no gradient reaches them) or "
            "saturates sigmoids: try one ten times smaller, or --optimizer momentum or adam with their "
            "default rates. The checkpoint holds the last epoch")

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


# --- memory ---------------------------------------------------------------------------------------

def available_memory():
    """Bytes this process may still allocate: the machine's memory, or less under an address-space limit.

    `ulimit -v` and `prlimit --as` cap a process's address space whatever the machine has; what is
    left of it is the limit less what the process maps already (numpy and its libraries: ~200 MB).
    None where the system says neither.
    """
    physical = physical_memory()
    limit = address_space_limit()
    if limit is None:
        return physical
    try:
        with open("/proc/self/statm") as statm:
            mapped = int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        mapped = 0
    left = max(0, limit - mapped)
    return left if physical is None else min(physical, left)


def address_space_limit():
    """The soft RLIMIT_AS in bytes, or None if there is none (or no such limit on this system)."""
    try:
        import resource
    except ImportError:  # pragma: no cover - Windows
        return None
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    return None if soft == resource.RLIM_INFINITY else soft


def check_memory(what, needed):
    """Raise MemoryError naming `what` if `needed` bytes are more than this process may allocate."""
    available = available_memory()
    if available is not None and needed > available:
        limit = address_space_limit()
        why = (f"its address-space limit (ulimit -v, prlimit --as) is {limit / 2**30:.2f} GiB, of which "
               f"{available / 2**30:.2f} GiB is left") if limit is not None and available < (physical_memory() or 0) \
            else f"this machine has {available / 2**30:.2f} GiB"
        raise MemoryError(f"{what} needs about {needed / 2**30:.2f} GiB of memory; {why}")


# --- the output folder ---------------------------------------------------------------------------

class OutputInUse(OSError):
    """Another run holds the lock on this output folder."""


_held = {}  # output folder -> (the lock file's descriptor, how many callers in this process hold it)


def own_output(out):
    """Lock the folder `out` for this process until release_output(out); first remove killed runs' temporaries.

    The lock is the operating system's (flock): it goes with the process, even one killed by SIGKILL,
    so it never goes stale. Creating the lock file also proves the folder writable, before any training.
    The lock file is opened without following a symlink and refused if it has other names (hard
    links): writing our process id into it must never reach a file of the user's.
    """
    out = Path(out)
    key = os.path.realpath(out)
    if key in _held:
        fd, holders = _held[key]
        _held[key] = fd, holders + 1
        return
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out}: is a file, not a folder")
    lock = out / LOCK
    try:
        out.mkdir(parents=True, exist_ok=True)
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0), 0o666)
    except OSError as error:
        if os.path.islink(lock):
            raise OSError(f"--out {out}: its lock file {lock} is a symlink: remove it (training never follows it)") from None
        raise OSError(f"--out {out}: cannot write there ({error.strerror or error})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_nlink != 1:
            what = "other names (hard links)" if stat.S_ISREG(info.st_mode) else "not a regular file"
            raise OSError(f"--out {out}: its lock file {lock} has {what}: remove it, training will make its own")
        _lock(fd, out)
    except BaseException:
        os.close(fd)
        raise
    _held[key] = fd, 1
    owned_by(f"the lock of --out {out}", lock)
    removed = remove_stale_temporaries(out)
    if removed:
        print(f"removed {len(removed)} temporary files left in {out} by a run that was killed while "
              f"writing: {', '.join(removed)}", file=sys.stderr)


def check_still_owned(out):
    """Raise OutputInUse if `out`'s lock file is no longer the one this process locked.

    Deleting or replacing the lock file mid-run lets a second run lock the new one: this run
    must then stop before it writes over that run's files. A stat and an fstat: 2 us.
    """
    key = os.path.realpath(out)
    if key not in _held:
        return
    locked = os.fstat(_held[key][0])
    try:
        now = os.stat(Path(out) / LOCK, follow_symlinks=False)
        same = (now.st_dev, now.st_ino) == (locked.st_dev, locked.st_ino)
    except OSError:
        same = False
    if not same:
        raise OutputInUse(f"the lock file {Path(out) / LOCK} was replaced during the run: another run may be "
                          f"writing to --out {out} now, so this one stops here without writing more")


def release_output(out):
    """Undo one own_output(out); the last one unlocks the folder. Nothing to do if it was never locked."""
    key = os.path.realpath(out)
    if key not in _held:
        return
    fd, holders = _held.pop(key)
    if holders > 1:
        _held[key] = fd, holders - 1
    else:
        owned_by(f"the lock of --out {Path(out)}", None)
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
    pid = f"{os.getpid()}\n".encode()
    os.pwrite(fd, pid, 0)
    os.ftruncate(fd, len(pid))  # a shorter id than the last run's: a file of ours, with one name, checked above


# --- interrupts ------------------------------------------------------------------------------------

def interrupts_as_keyboard_interrupt():
    """Ctrl-C as KeyboardInterrupt again (see files.interrupt): main() turns it into its resume hint."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, interrupt)


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
