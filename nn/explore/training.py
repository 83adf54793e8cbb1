"""The demo's training (demos/train_mnist.py's defaults), a mini-batch at a time, in a background thread.

The same four lines as nn.train.train_epoch (forward, cost, backward, step) with the same settings:
the video's squared-error cost, plain SGD at rate 3.0, shuffled batches of 100, each epoch's order
drawn from (seed, epoch). But a step at a time, so that the page can pause, take one step, and
watch: every step takes the session's lock, so a page reading the network never sees half a step.
"""
import threading
import time

import numpy as np

from ..data import scaled, shuffled_batches
from ..optim import SGD
from ..train import COSTS, predict

LEARNING_RATE, BATCH_SIZE, SEED = 3.0, 100, 0  # demos/train_mnist.py's defaults
COST = COSTS["squared"]


class Trainer:
    def __init__(self, net, data, lock):
        self.net, self.lock = net, lock
        self.train_images, self.train_labels, self.test_images, self.test_labels = data
        self.thread = None
        self.running = False
        self.restart()

    def restart(self):
        """From epoch 0 with the network as it is now: a fresh optimizer, no history. Call with the lock held."""
        self.optimizer = SGD(self.net.parameters(), lr=LEARNING_RATE)
        self.epoch, self.batches, self.position = 1, self._batches(1), 0
        self.costs = []  # one per step: the mean cost of its mini-batch
        self.accuracy = [[0, self.test_accuracy()]]  # [epoch, share of the test digits right], from epoch 0
        self.last_batch = None

    def _batches(self, epoch):
        return shuffled_batches(len(self.train_images), BATCH_SIZE, np.random.default_rng([SEED, epoch]))

    def test_accuracy(self):
        return float(np.mean(predict(self.net, self.test_images) == self.test_labels))

    def step(self):
        """One mini-batch: forward, cost, backward, step. At the end of an epoch, score the test digits."""
        with self.lock:
            batch = self.batches[self.position]
            before = [p.data.copy() for p in self.net.parameters()]  # for the page's mini-batch table
            loss = COST(self.net(scaled(self.train_images[batch], self.net.dtype)), self.train_labels[batch])
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            self.costs.append(float(loss.data))
            # zero_grad() gives each parameter a new gradient array: keeping these needs no copy
            self.last_batch = {"indices": batch, "before": before,
                               "gradient": [p.grad for p in self.net.parameters()], "cost": float(loss.data)}
            self.position += 1
            if self.position == len(self.batches):
                self.accuracy.append([self.epoch, self.test_accuracy()])
                self.epoch += 1
                self.batches, self.position = self._batches(self.epoch), 0

    # --- the background thread ---

    def start(self):
        if self.running:
            return
        self.running = True
        self.thread = threading.Thread(target=self._run, name="explorer-training", daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            self.step()
            time.sleep(0)  # let a waiting request take the lock between steps: the page stays live

    def pause(self):
        self.running = False
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join()
        self.thread = None

    def progress(self, since=0):
        """What the page plots: the costs from step `since` on, the accuracy per epoch, where training is."""
        return {"running": self.running, "epoch": self.epoch, "batch": self.position,
                "batches_per_epoch": len(self.batches), "steps": len(self.costs),
                "costs": self.costs[since:], "accuracy": self.accuracy,
                "settings": f"SGD at rate {LEARNING_RATE:g}, batches of {BATCH_SIZE}, squared-error cost, "
                            f"{len(self.train_images):,} training digits"}
