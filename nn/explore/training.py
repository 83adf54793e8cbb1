"""The demo's training, a mini-batch at a time, in a background thread.

The same steps as nn.train.train_epoch (forward, cost, backward, step) with the model's own
settings, as its checkpoint recorded them (models.py), or demos/train_mnist.py's defaults: the
video's squared-error cost, plain SGD at rate 3.0, shuffled batches of 100, each epoch's order
drawn from (seed, epoch). But a step at a time, so that the page can pause, take one step, and
watch: every step takes the session's lock, so a page reading the network never sees half a step.
"""
import contextlib
import sys
import threading
import time
import traceback

import numpy as np

from .. import threads
from ..data import scaled, shuffled_batches
from ..optim import SGD, Adam
from ..train import COSTS, compiled_step
from .checks import BadRequest
from .scores import Scores

LEARNING_RATE, BATCH_SIZE, SEED = 3.0, 100, 0  # demos/train_mnist.py's defaults
OPTIMIZERS = {"SGD": SGD, "Adam": Adam}


class Settings:
    """How the page trains a network: its optimizer and that optimizer's numbers, the cost, the batch size."""

    @classmethod
    def default(cls, cost):
        """With no record of how a network was trained: demos/train_mnist.py's defaults for its cost (plain
        SGD at 3.0 for the video's squared error; for the cross-entropy, momentum 0.9 at 0.1, the recipe's)."""
        return cls(cost=cost) if cost == "squared" else cls("SGD", {"lr": 0.1, "momentum": 0.9}, cost)

    def __init__(self, optimizer="SGD", options=None, cost="squared", batch_size=BATCH_SIZE, seed=SEED):
        if optimizer not in OPTIMIZERS:
            raise ValueError(f"the page trains with {' or '.join(OPTIMIZERS)}, not {optimizer}")
        self.optimizer, self.cost, self.batch_size, self.seed = optimizer, cost, int(batch_size), int(seed)
        self.options = dict(options if options is not None else {"lr": LEARNING_RATE})
        self.lr = float(self.options.get("lr", LEARNING_RATE))

    def make_optimizer(self, parameters):
        return OPTIMIZERS[self.optimizer](parameters, **self.options)

    @property
    def plain_sgd(self):
        """Whether a step takes exactly lr·gradient (then the weights before it need no copy)."""
        return self.optimizer == "SGD" and not self.options.get("momentum")

    def describe(self):
        extras = ", ".join(f"{k} {v:g}" if isinstance(v, float) else f"{k} {v}"
                           for k, v in self.options.items() if k != "lr" and v)
        return (f"{self.optimizer} at rate {self.lr:g}{', ' + extras if extras else ''}, batches of "
                f"{self.batch_size}, {'squared-error' if self.cost == 'squared' else 'cross-entropy'} cost")


class TakingTurns:
    """The session's lock, which the training thread gives up between steps while a request is served.

    A plain lock would let the trainer take it again straight after each step, before a waiting
    request thread even wakes up: a page could wait for hundreds of milliseconds. Yielding after
    every step instead (time.sleep(0)) made training a third slower on a busy machine, since the OS
    then runs other processes. So requests say that they are being served (`with lock.serving():`,
    around the whole request, reading and answering included, which also need Python's lock) or
    that they wait for the network (`with lock:`), and the trainer steps aside only then, between
    two steps (`with lock.training():`).
    """

    def __init__(self):
        self._lock = threading.RLock()
        self._count = threading.Lock()
        self.busy = 0  # requests being served or waiting for the lock

    def _add(self, n):
        with self._count:
            self.busy += n

    def __enter__(self):
        self._add(1)
        self._lock.acquire()
        self._add(-1)
        return self

    def __exit__(self, *exc):
        self._lock.release()

    @contextlib.contextmanager
    def serving(self):
        self._add(1)
        try:
            yield
        finally:
            self._add(-1)

    def training(self):
        return self._lock


class Trainer:
    def __init__(self, net, data, lock, settings=None, scores=None):
        """lock: a TakingTurns shared with the session; settings: a Settings (the video's by default);
        scores: the test digits' Scores (scores.py), which the session shares."""
        self.net, self.lock = net, lock
        self.settings = settings or Settings()
        self.cost = COSTS[self.settings.cost]
        # forward, cost and backward, recorded once and replayed (nn.train.compiled_step): the plain
        # graph's numbers bit for bit, without building it again for every step
        self.replay = compiled_step(net, self.cost)
        self.train_images, self.train_labels, self.test_images, self.test_labels = data
        self.scores = scores or Scores(self.test_images, self.test_labels)
        self.thread = None
        self.running = False
        self.starting = threading.Lock()  # start and pause, one at a time: two tabs pressing Train start one thread
        self.restart()

    def restart(self):
        """From epoch 0 with the network as it is now: a fresh optimizer, no history. Call with the lock held."""
        self.optimizer = self.settings.make_optimizer(self.net.parameters())
        self.epoch, self.batches, self.position = 1, self._batches(1), 0
        self.costs = []  # one per step: the mean cost of its mini-batch
        self.accuracy = [[0, self.test_accuracy()]]  # [epoch, share of the test digits right], from epoch 0
        self.scored_at = [0]  # the steps taken here when each of those was measured (steps by hand count too)
        self.last_batch = None
        self.error = None  # why the background training stopped by itself, for the page

    def _batches(self, epoch):
        return shuffled_batches(len(self.train_images), self.settings.batch_size,
                                np.random.default_rng([self.settings.seed, epoch]))

    def test_accuracy(self):
        """The share of the test digits the network reads right (None if there are none), measured once per weights."""
        return self.scores.score(self.net)

    def check_can_train(self):
        if len(self.train_labels) == 0:
            raise BadRequest("there are no training digits to train on: the training set is empty")

    def step(self):
        """One mini-batch: forward, cost, backward, step. At the end of an epoch, score the test digits."""
        self.check_can_train()
        with self.lock.training():
            batch = self.batches[self.position]
            # the weights before the step, for the page's mini-batch table: plain SGD's are worked out from it
            before = None if self.settings.plain_sgd else [p.data.copy() for p in self.net.parameters()]
            cost = self.replay(scaled(self.train_images[batch], self.net.dtype), self.train_labels[batch])
            self.optimizer.step()
            self.costs.append(cost)
            # For the page's mini-batch table. The replay writes the next step's gradient into these same
            # arrays: whoever reads them copies them under the lock (session.batch). And plain SGD took
            # lr·gradient, so the weights before the step are the weights after it plus that, to
            # rounding (copying them slowed every step).
            self.last_batch = {"indices": batch, "gradient": [p.grad for p in self.net.parameters()],
                               "cost": cost, "before": before}
            self.position += 1
            if self.position < len(self.batches):
                return
        # The end of an epoch: score the test digits outside the lock, so that the page need not
        # wait for it (only this thread changes the weights, and requests only read them).
        steps, accuracy = len(self.costs), self.test_accuracy()
        threads.follow(self.net.sizes, self.settings.batch_size)  # the machine's load may have changed
        with self.lock.training():
            self.accuracy.append([self.epoch, accuracy])
            self.scored_at.append(steps)
            self.epoch += 1
            self.batches, self.position = self._batches(self.epoch), 0

    # --- the background thread ---

    def start(self):
        with self.starting:
            if self.running:
                return
            self.check_can_train()
            threads.follow(self.net.sizes, self.settings.batch_size)  # numpy's BLAS threads for this network (nn/threads.py)
            self.running, self.error = True, None
            self.thread = threading.Thread(target=self._run, name="explorer-training", daemon=True)
            self.thread.start()

    def _run(self):
        try:
            while self.running:
                self.step()
                while self.lock.busy and self.running:  # let the page's requests through (pause() is one)
                    time.sleep(0.0002)
        except Exception as error:  # never silently: the page reads why in progress()["error"]
            traceback.print_exc(file=sys.stderr)
            self.error = f"training stopped at epoch {self.epoch}, batch {self.position + 1}: {error}"
            self.running = False

    def pause(self):
        with self.starting:
            self.running = False
            if self.thread is not None and self.thread is not threading.current_thread():
                self.thread.join()
            self.thread = None

    def progress(self, since=0):
        """What the page plots: the costs from step `since` on, the accuracy per epoch, where training is."""
        return {"running": self.running, "error": self.error, "epoch": self.epoch, "batch": self.position,
                "batches_per_epoch": len(self.batches), "steps": len(self.costs),
                "costs": self.costs[since:], "accuracy": self.accuracy,
                "settings": f"{self.settings.describe()}, {len(self.train_images):,} training examples"}
