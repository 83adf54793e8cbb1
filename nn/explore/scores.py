"""The share of the test digits a network reads right: measured once per set of weights, off the answer's path.

Scoring MNIST's 10,000 test digits takes ~13 ms on a core. An answer to One step, Pause or a reset
that scored them first took 16-36 ms. So a score is kept under a hash of the weights it was
measured on (a reset to the untrained network, or back to the loaded model, finds it again), and
a score not yet known is measured by a background thread: meanwhile the page is told the last
score it has, with the step it belongs to, and that a new one is coming. It never gets a number
measured on other weights as if it were these.
"""
import hashlib
import threading

import numpy as np

from ..fast import FastMLP
from ..train import predict

KEPT = 256  # scores remembered (a float and a key each): the oldest go first


def fingerprint(net):
    """A hash of every weight and bias (with their shapes): equal weights, equal fingerprint."""
    digest = hashlib.sha256()  # 0.05 ms for the video's network, 3 ms for a 784-512-512-10 (measured)
    for p in net.parameters():
        digest.update(f"{p.data.shape} {p.data.dtype}".encode())
        digest.update(np.ascontiguousarray(p.data))  # its buffer, not a copy
    return digest.hexdigest()


class Scores:
    """The test digits' scores of every network a session shows, by fingerprint, and a worker that measures them."""

    def __init__(self, images, labels):
        self.images, self.labels = images, labels
        self._known = {}  # fingerprint -> share
        self._lock = threading.Lock()
        self._wanted = None  # (fingerprint, a copy of the network's state()) for the worker, the newest only
        self._worker = None

    def score(self, net):
        """The share for `net` now, measured here if it is not known yet (None if there are no test digits)."""
        key = fingerprint(net)
        with self._lock:
            if key in self._known:
                return self._known[key]
        return self._keep(key, self._measure(net))

    def lookup(self, net):
        """(fingerprint, share): share is None while these weights have no score yet, and a string
        (why) if they could not be scored."""
        key = fingerprint(net)
        with self._lock:
            return key, self._known.get(key)

    def measure_later(self, key, net):
        """Have the worker measure `net` as it is now (call with the session's lock held: its arrays are copied)."""
        state = {name: np.array(value) for name, value in net.state().items()}  # the network is made in the worker
        with self._lock:
            if key in self._known:
                return
            self._wanted = (key, state)  # a newer network replaces one not started yet: only the newest matters
            if self._worker is None:
                self._worker = threading.Thread(target=self._work, name="explorer-scores", daemon=True)
                self._worker.start()

    def _work(self):
        while True:
            with self._lock:
                if self._wanted is None:
                    self._worker = None
                    return
                (key, state), self._wanted = self._wanted, None
            try:
                share = self._measure(FastMLP.from_state(state))
            except Exception as error:  # noqa: BLE001 - weights that overflow w·x+b: said, and the worker goes on
                share = f"{type(error).__name__}: {error}"
            self._keep(key, share)

    def _measure(self, net):
        if len(self.labels) == 0:
            return None  # no test digits: nothing to score (a mean of nothing would be NaN)
        return float(np.mean(predict(net, self.images) == self.labels))

    def _keep(self, key, share):
        with self._lock:
            self._known[key] = share
            while len(self._known) > KEPT:
                del self._known[next(iter(self._known))]
        return share
