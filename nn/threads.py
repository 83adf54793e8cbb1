"""How many threads numpy's matrix products (BLAS) use: as many as pay, on the machine as it is now.

A second BLAS thread pays only when a product is large and a core is free to run it. A step of
the video's 784-16-16-10 network multiplies small matrices: threads cost more to wake than they
save. And when another program keeps a core busy, BLAS threads that spin waiting for each other
made training 2 to 11 times slower than one thread (measured on a 2-core machine). On an idle
machine, wide layers (784-512-512-10) gain a quarter with a second thread, more with more cores.

So `follow(sizes, batch_size)` looks at both, and sets the count through threadpoolctl (numpy
reads no setting after it is imported, so the count cannot be an environment variable set by
whichever module happens to import numpy first):
  - the work of the largest product: below WORK_PER_THREAD multiply-adds per thread, fewer threads;
  - the cores that other programs leave free, measured since the last call (Linux's /proc/stat,
    less this process's own CPU time; elsewhere the load average, less our own).
Training calls it once per epoch, so the count follows the machine as the load changes.

Set OPENBLAS_NUM_THREADS (or OMP_NUM_THREADS, MKL_NUM_THREADS) yourself and it is left alone.
"""
import math
import os
import time

from threadpoolctl import ThreadpoolController

USER_SETTINGS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
WORK_PER_THREAD = 10_000_000  # multiply-adds of one product: 784x128 at batch 128 (12.8 M) gains ~0-15%
SPARE = 0.2  # of a core: a thread needs a core free but for this (a shell, a browser tab idling)


def cores():
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def largest_product(sizes, batch_size):
    """Multiply-adds of the largest matrix product of a step: batch x fan-in x fan-out."""
    return max(batch_size * n_in * n_out for n_in, n_out in zip(sizes, sizes[1:]))


def choose(sizes, batch_size, free):
    """The thread count for these layers with `free` cores: 1 at least, one per WORK_PER_THREAD."""
    by_size = largest_product(sizes, batch_size) // WORK_PER_THREAD
    return max(1, min(by_size, math.floor(free + SPARE)))


def _machine_busy():
    """Seconds of CPU that every program has used since boot, or None where /proc/stat is not."""
    try:
        with open("/proc/stat") as stat:
            fields = stat.readline().split()  # cpu user nice system idle iowait irq softirq steal ...
    except OSError:
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(f) for f in fields[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


class Machine:
    """The cores other programs use, measured between two calls of `others()`."""

    def __init__(self):
        self._last = self._sample()
        self._others = max(0.0, os.getloadavg()[0]) if hasattr(os, "getloadavg") else 0.0  # until measured

    @staticmethod
    def _sample():
        return time.monotonic(), _machine_busy(), time.process_time()  # process_time: all our threads

    def others(self):
        """Cores busy with other programs since the last call (the first: since this was made)."""
        (t0, busy0, ours0), (t1, busy1, ours1) = self._last, self._sample()
        if t1 - t0 < 0.05:  # too short to tell: the last measure stands
            return self._others
        self._last = (t1, busy1, ours1)
        ours = (ours1 - ours0) / (t1 - t0)
        if busy0 is None or busy1 is None:  # no /proc/stat (macOS): the load average, a minute's
            self._others = max(0.0, os.getloadavg()[0] - ours)
        else:
            self._others = max(0.0, (busy1 - busy0) / (t1 - t0) - ours)
        return self._others


_machine = Machine()  # from when nn is imported: the first call measures since then
_blas = []  # numpy's BLAS libraries, found once (a search of the loaded libraries takes a millisecond)


def user_set():
    """The user's own setting (an environment variable), which follow() leaves alone, or None."""
    return next((f"{name}={os.environ[name]}" for name in USER_SETTINGS if os.environ.get(name)), None)


def follow(sizes, batch_size):
    """Set numpy's BLAS threads for a step on layers of these sizes and batches, given the cores
    free now; returns the count (None if the user set it: see user_set)."""
    if user_set():
        return None
    threads = choose(sizes, batch_size, cores() - _machine.others())
    if not _blas:
        _blas.append(ThreadpoolController())
    _blas[0].limit(limits=threads, user_api="blas")
    return threads
