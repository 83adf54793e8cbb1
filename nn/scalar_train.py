"""Training with the scalar engine: a graph of Values per example, gradients summed over a mini-batch.

The fast path pushes a whole mini-batch through matrix ops at once. Here, as in micrograd and in
the video, each example gets its own graph: forward, its cost, backward(). The weights' and
biases' gradients add up over the examples of a batch (leaf gradients accumulate), and divided
by the batch size they are the gradient of the batch's mean cost, the one the fast path computes.
Then the optimizer steps the Values.

A batch can be shared out among processes, one per core by default: each holds a copy of the
network and of the training set, given once when it starts; for each batch it receives the
weights and the indices of its examples, and sends back the sum of their gradients.
"""
import os
import signal
from concurrent.futures import ProcessPoolExecutor
from contextlib import nullcontext
from itertools import repeat

import numpy as np

from autodiff.value import Constants

from .data import scaled
from .mlp import MLP


def summed_gradients(net, cost, images, labels):
    """Add each example's gradient into the parameters' .grad, one graph per example; the sum of the costs.

    images: rows of pixels 0..255, which become Constants: data, not Values to learn.
    cost(outputs, labels): as for the fast path, on a list of examples' outputs (here, one).
    """
    total, inputs = 0.0, None
    for pixels, label in zip(scaled(images, np.float64).tolist(), labels.tolist()):
        # the pixels as Constants, what the first layer makes of plain numbers; the same leaves for
        # every example, refilled: the previous example's graph is gone by then
        inputs = Constants(pixels) if inputs is None else inputs.refill(pixels)
        output = net(inputs)
        loss = cost([output if isinstance(output, list) else [output]], [label])
        loss.backward()
        total += loss.data
    return total


def train_epoch(net, optimizer, cost, images, labels, batches, workers=None, on_batch=None):
    """One step per mini-batch (an array of indices), as train.train_epoch; the mean cost over the epoch.

    workers: how many processes share each batch; None for one per core, 1 for this process alone.
    on_batch(mean_cost): called with each batch's mean cost before its step, here in the main
        process (guard.Watch.check: the same batch costs the fast path's guard sees).
    """
    workers = check_workers(workers)
    params = net.parameters()
    total = 0.0
    with Workers(net, cost, images, labels, workers) if workers > 1 else nullcontext() as team:
        for batch in batches:
            if team is None:  # this process alone, on the network itself
                optimizer.zero_grad()
                batch_cost = summed_gradients(net, cost, images[batch], labels[batch])
                for p in params:
                    p.grad /= len(batch)  # the sum's gradient over the batch size: the mean cost's gradient
            else:
                batch_cost = team.set_mean_gradients(params, batch)
            if on_batch is not None:
                on_batch(batch_cost / len(batch))
            total += batch_cost
            optimizer.step()
    return total / len(images)


def check_workers(workers):
    """The number of processes to use (None: one per core), after checking it: 1 up to the cores.

    More processes than cores only wait for each other, each holding a copy of the network and
    the data: `--workers 100000` would fork thousands of processes.
    """
    cores = os.cpu_count() or 1
    if workers is None:
        return cores
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"workers must be a whole number of processes, at least 1; got {workers!r}")
    if workers > cores:
        raise ValueError(f"{workers} worker processes on a machine with {cores} core{'s' if cores > 1 else ''}: "
                         f"more than one per core only wait for each other (at most {cores})")
    return workers


class Workers:
    """Processes that share out each mini-batch, each with its own copy of the network and the data."""

    def __init__(self, net, cost, images, labels, processes):
        first, last = net.layers[0].neurons[0], net.layers[-1].neurons[0]
        layout = (len(first.w), [len(layer.neurons) for layer in net.layers], first.activation, last.activation)
        # Under fork (Linux) the workers inherit the images; elsewhere they are pickled once per worker.
        # A worker that dies (killed, out of memory) raises BrokenProcessPool here, rather than a hang.
        self.processes = processes
        self.pool = ProcessPoolExecutor(processes, initializer=_start_worker, initargs=(layout, cost, images, labels))

    def set_mean_gradients(self, params, batch):
        """Set each parameter's .grad to its gradient of the batch's mean cost; the sum of the costs."""
        weights = np.array([p.data for p in params])
        shares = [share for share in np.array_split(batch, self.processes) if len(share)]
        results = list(self.pool.map(_gradients_of_share, repeat(weights), shares))
        mean = sum(grads for grads, _ in results) / len(batch)
        for p, g in zip(params, mean.tolist()):
            p.grad = g
        return sum(cost for _, cost in results)

    def __enter__(self):
        return self

    def __exit__(self, *error):
        self.pool.shutdown(cancel_futures=True)  # whether the epoch ended or failed: the workers hold nothing to keep


_copy = {}  # in a worker: its network, its parameters, the cost and the training set, given at its start


def _start_worker(layout, cost, images, labels):
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process, which stops the workers
    nin, sizes, activation, output = layout
    net = MLP(nin, sizes, activation, output)
    _copy.update(net=net, params=net.parameters(), cost=cost, images=images, labels=labels)


def _gradients_of_share(weights, indices):
    """This worker's part of a batch: (the sum of its examples' gradients as an array, the sum of their costs)."""
    params = _copy["params"]
    for p, w in zip(params, weights.tolist()):
        p.data, p.grad = w, 0.0
    total = summed_gradients(_copy["net"], _copy["cost"], _copy["images"][indices], _copy["labels"][indices])
    return np.array([p.grad for p in params]), total
