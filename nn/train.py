"""Training: mini-batch gradient descent over a labelled set, an epoch at a time, resumable.

A step is the same four lines in every trainer: forward, cost, backward, step. Around them:
- each epoch shuffles with its own generator, made from (seed, epoch), so a run resumed after
  epoch 3 draws the same batches as one that never stopped, and ends with the same weights;
- after each epoch a checkpoint (the network, the optimizer's running sums, the figures so far)
  replaces the previous one atomically: an interruption loses at most the epoch in progress.
"""
import json
import math
import os
import time

import numpy as np

from autodiff.compile import compile
from autodiff.files import DamagedFileError, atomic_write, read_npz

from . import guard, scalar_train, threads
from .data import one_hot, scaled, shuffled_batches
from .fast import FastMLP
from .losses import cross_entropy, squared_error
from .mlp import MLP


def squared_error_cost(outputs, labels):
    """The video's cost on labels: the output of the right digit should be 1, every other output 0."""
    if isinstance(outputs, list):  # the scalar engine: a list of examples' outputs, Values
        return squared_error(outputs, one_hot(labels, len(outputs[0])).tolist())
    return squared_error(outputs, one_hot(labels, outputs.shape[1]))


COSTS = {"squared": squared_error_cost, "cross-entropy": cross_entropy}


def predict(net, images, batch_size=1000):
    """The network's guess for each image: its most active output. Arrays in, so nothing requires a gradient.

    A thousand images at a time: all 10,000 test images at once in float64 took 126 MB at the peak.
    """
    if isinstance(net, MLP):  # Values: read by the fast path's forward, with the same weights (and outputs)
        net = FastMLP.from_scalar(net)
    guesses = [net(scaled(images[i:i + batch_size], net.dtype)).data.argmax(axis=1)
               for i in range(0, len(images), batch_size)]
    return np.concatenate(guesses)


def shifted(images, pixels, rng):
    """Each 28x28 image moved by up to `pixels` in each direction, at random, with 0s coming in at the edge.

    The same digit to a reader, a new example to the network: it learns what does not depend on
    where the digit sits, rather than the training set by heart.
    """
    n = len(images)
    padded = np.pad(images.reshape(n, 28, 28), ((0, 0), (pixels, pixels), (pixels, pixels)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (28, 28), axis=(1, 2))  # every 28x28 crop
    down, right = rng.integers(0, 2 * pixels + 1, (2, n))
    return windows[np.arange(n), down, right].reshape(n, 28 * 28)


def cosine_rates(lr, first_step, steps, total_steps):
    """The learning rate for each of `steps` steps from first_step: from lr down to 0 along half a cosine."""
    return [lr * (1 + math.cos(math.pi * t / total_steps)) / 2 for t in range(first_step, first_step + steps)]


def train_epoch(net, optimizer, cost, images, labels, batches, rates=None, shift=0, rng=None, step=None):
    """One step of gradient descent per mini-batch (arrays of indices); the mean cost over the epoch.

    rates: a learning rate for each batch, else the optimizer's. shift: move each image by up to
    that many pixels, drawn from rng. step: forward, cost and backward in one call, such as
    compiled_step's; else the plain graph, built anew for each batch.
    """
    total = 0.0
    for i, batch in enumerate(batches):
        if rates is not None:
            optimizer.lr = rates[i]
        inputs = scaled(images[batch] if not shift else shifted(images[batch], shift, rng), net.dtype)
        if step is not None:
            value = step(inputs, labels[batch])
        else:
            loss = cost(net(inputs), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            value = float(loss.data)
        optimizer.step()
        total += value * len(batch)
    return total / len(images)


def compiled_step(net, cost):
    """cost(net(inputs), labels) and its backward pass, recorded once and replayed (autodiff/compile.py).

    step(inputs, labels) returns the cost and leaves each parameter's gradient in its .grad, as
    zero_grad() and backward() do, with the same numbers. A change to the network's activations or
    parameters, or a batch of another size, records again.
    """
    def structure():
        return net.activation, net.output, *map(id, net.weights), *map(id, net.biases)

    if cost is squared_error_cost:  # its one-hot targets are made from the labels outside the graph: pass them in
        step = compile(lambda x, targets: squared_error(net(x), targets), structure)
        identity = np.eye(net.sizes[-1], dtype=net.dtype)  # row i: the targets of digit i, as one_hot makes them

        def with_targets(x, labels):
            if type(labels) is not np.ndarray or not _digits(labels, len(identity)):
                labels = np.asarray(labels)
                one_hot(labels, len(identity))  # its error names what is wrong with the labels
            return step(x, identity.take(labels, axis=0))
        return with_targets
    return compile(lambda x, labels: cost(net(x), labels), structure)


UNSIGNED = {1: np.uint8, 2: np.uint16, 4: np.uint32, 8: np.uint64}  # by the size of an integer in bytes


def _digits(labels, k):
    """Whether labels is a row of integers from 0 to k - 1, in one pass over it (a step runs this per batch):
    read as unsigned, a negative label is larger than any."""
    return (labels.dtype.kind in "iu" and labels.ndim == 1 and labels.size > 0
            and np.maximum.reduce(labels.view(UNSIGNED[labels.dtype.itemsize])) < k)


def train(net, optimizer, cost, data, epochs, batch_size=100, seed=0, checkpoint=None, resume=False,
          on_epoch=None, progress=None, workers=None, lr_decay=None, shift=0, compiled=True):
    """Train until `epochs` epochs are done (counting those of a resumed checkpoint); the figures per epoch.

    net: a FastMLP, trained a mini-batch at a time; or an MLP of Values, trained a graph per
        example (see scalar_train.py), each batch shared out among `workers` processes (default:
        one per core).

    data: (train images, train labels, test images, test labels), images as uint8 rows.
    cost(outputs, labels): a Tensor, or a list of examples' outputs as Values; see COSTS.
    checkpoint: a .npz path, written after every epoch; resume=True continues from it.
    on_epoch(history): called after each epoch (and its checkpoint), e.g. to print the figures.
    progress(batches, epoch): wraps an epoch's batches, e.g. in a progress bar.
    lr_decay: None, or "cosine": the learning rate falls from the optimizer's to 0 over all the epochs.
    shift: move each training image by up to this many pixels at random (see shifted); 0 for none.
    compiled: with a cost from COSTS, the fast path records its step once and replays it
        (compiled_step); False, or a cost function of your own, builds the plain graph for every
        batch. Both give the same weights, bit for bit.
    """
    if lr_decay not in (None, "cosine") or not (isinstance(shift, int) and 0 <= shift < 28):
        raise ValueError(f"lr_decay must be None or 'cosine' (got {lr_decay!r}), shift 0 to 27 pixels (got {shift!r})")
    train_images, train_labels, test_images, test_labels = data
    run = describe(net, optimizer, cost, batch_size, seed)
    if isinstance(net, MLP) and (lr_decay or shift):
        raise ValueError("lr_decay and shift are for the fast path (a FastMLP), not the scalar engine")
    run["data"] = guard.fingerprint(data)  # resuming on other data is refused
    if lr_decay or shift:  # only then, so that the checkpoints of runs without them stay valid (DEFAULT_SETTINGS)
        run.update(lr_decay=lr_decay, shift=shift)
    if lr_decay:  # the schedule spans all the epochs: a run cannot be extended without changing it
        run.update(epochs=epochs)
    history = load_checkpoint(checkpoint, net, optimizer, run) if resume else []
    watch = guard.Watch(cost, optimizer, history)  # divergence stops training, naming epoch and batch
    step = None
    if compiled and not isinstance(net, MLP) and cost in COSTS.values():  # a cost of your own may run Python
        # that a replay would skip (a print, a count): it runs on the plain graph
        replay = compiled_step(net, cost)
        step = lambda x, labels: watch.check(replay(x, labels))  # noqa: E731  the watch sees every cost
    lr, steps = optimizer.lr, math.ceil(len(train_images) / batch_size)
    for epoch in range(len(history) + 1, epochs + 1):
        rng = np.random.default_rng([seed, epoch])
        batches = shuffled_batches(len(train_images), batch_size, rng)
        rates = cosine_rates(lr, (epoch - 1) * steps, steps, epochs * steps) if lr_decay == "cosine" else None
        if isinstance(net, FastMLP):  # numpy's BLAS threads for these layers on the machine as it is now
            threads.follow(net.sizes, batch_size)
        start = time.perf_counter()
        with watch.epoch(epoch, net):
            batches = watch.batches(progress(batches, epoch) if progress else batches)
            try:
                if isinstance(net, MLP):  # the scalar engine
                    mean_cost = scalar_train.train_epoch(net, optimizer, cost, train_images, train_labels,
                                                         batches, workers, on_batch=watch.check)
                else:
                    mean_cost = train_epoch(net, optimizer, watch.cost, train_images, train_labels, batches,
                                            rates, shift, rng, step)
            finally:
                optimizer.lr = lr
        seconds = time.perf_counter() - start
        accuracy = float(np.mean(predict(net, test_images) == test_labels))
        history.append({"epoch": epoch, "seconds": seconds, "cost": mean_cost, "test_accuracy": accuracy})
        if checkpoint is not None:
            save_checkpoint(checkpoint, net, optimizer, run, history)
        if on_epoch is not None:
            on_epoch(history)
        watch.judge_epoch(history, test_labels)
    return history


# --- checkpoints ---------------------------------------------------------------------------

def describe(net, optimizer, cost, batch_size, seed):
    """What must not change when a run resumes: a checkpoint of one run cannot continue another."""
    state = optimizer.state()  # what changes as it learns; its settings are its other numbers (lr, ...)
    settings = ", ".join(f"{key}={value}" for key, value in vars(optimizer).items()
                         if key not in state and isinstance(value, (int, float, tuple)))
    return {"network": repr(net), "optimizer": f"{type(optimizer).__name__}({settings})",
            "cost": cost.__name__, "batch_size": batch_size, "seed": seed}


def save_checkpoint(path, net, optimizer, run, history):
    """One .npz: net.*, optimizer.* arrays and a JSON string of the run and its history; written atomically."""
    arrays = {f"net.{key}": value for key, value in net.state().items()}
    for name, value in optimizer.state().items():
        if isinstance(value, list) and not (value and isinstance(value[0], float)):  # one array per parameter
            arrays.update({f"optimizer.{name}.{i}": array for i, array in enumerate(value)})
        else:  # a number, or one number per Value: one array
            arrays[f"optimizer.{name}"] = np.array(value)
    arrays["run"] = np.array(json.dumps({"run": run, "history": history}))
    atomic_write(path, lambda file: np.savez(file, **arrays))


def load_checkpoint(path, net, optimizer, run):
    """Load a checkpoint into net and optimizer, after checking it comes from the same run; its history.

    Everything is checked before anything is loaded: a damaged checkpoint is named (DamagedFileError,
    a ValueError) and leaves net and optimizer as they were.
    """
    if path is None or not os.path.exists(path):
        raise FileNotFoundError(f"no checkpoint at {path} to resume from")
    stored = read_npz(path)
    try:
        saved = json.loads(str(stored["run"]))
    except RecursionError:
        raise DamagedFileError(f"{path}: not a readable checkpoint: its JSON is nested too deeply") from None
    except (KeyError, ValueError) as error:
        raise DamagedFileError(f"{path}: not a readable checkpoint ({type(error).__name__}: {error})") from None
    problem = checkpoint_problem(saved)
    if problem:
        raise DamagedFileError(f"{path}: not a readable checkpoint: {problem}")
    saved_run, history = saved["run"], saved["history"]
    differences = [f"{key} {setting(saved_run, key)!r} there, {setting(run, key)!r} here"
                   for key in {**run, **DEFAULT_SETTINGS} if setting(saved_run, key) != setting(run, key)]
    if differences:
        raise ValueError(f"{path} is the checkpoint of a different run: " + "; ".join(differences))
    saved_net = FastMLP.from_state({key[4:]: v for key, v in stored.items() if key.startswith("net.")}, str(path))
    saved_as_run = saved_net.to_scalar() if isinstance(net, MLP) else saved_net  # the scalar engine: as Values
    if repr(saved_as_run) != repr(net):
        raise DamagedFileError(f"{path}: holds {saved_net!r}, but the run is {net!r}")
    try:
        optimizer.load_state(_optimizer_state(stored))
    except (ValueError, TypeError, KeyError) as error:
        raise DamagedFileError(f"{path}: {error}") from None
    for parameter, saved_parameter in zip(net.parameters(), saved_as_run.parameters()):
        parameter.data = saved_parameter.data  # a float, or an array of the throwaway saved_net's: ours now
    return history


# The schema of a checkpoint's JSON: {"run": {setting: a number, string or null}, "history": [FIGURES, ...]}.
FIGURES = {"epoch": int, "seconds": float, "cost": float, "test_accuracy": float}
# The settings a run records only when it uses them, and what their absence means. They are compared
# whether or not the resuming run names them: dropping --lr-decay on --resume is a different run.
DEFAULT_SETTINGS = {"lr_decay": None, "shift": 0, "epochs": None}


def setting(run, key):
    """A run's setting; the ones recorded only when used take their default (old checkpoints lack them)."""
    return run.get(key, DEFAULT_SETTINGS.get(key))


def checkpoint_problem(saved):
    """What is wrong with a checkpoint's JSON, in words; None if it fits the schema.

    Every checkpoint is written after an epoch, so its history has one entry per epoch from 1, each
    with exactly FIGURES' fields: finite, non-negative numbers (an accuracy at most 1). A NaN cost
    would turn off the divergence check, an empty history would train its weights again from epoch 1.
    """
    if not isinstance(saved, dict) or set(saved) != {"run", "history"}:
        return "its JSON is not {run, history}"
    run, history = saved["run"], saved["history"]
    if not isinstance(run, dict) or not all(isinstance(v, (str, int, float, type(None))) for v in run.values()):
        return "its run's settings are not a flat record of numbers and strings"
    if not isinstance(history, list) or not history:
        return "its history is not a list of one or more epochs (a checkpoint is written after each epoch)"
    for number, figures in enumerate(history, 1):
        if not isinstance(figures, dict) or set(figures) != set(FIGURES):
            return f"its history's entry {number} is not a record of {', '.join(FIGURES)}"
        for key, kind in FIGURES.items():
            value = figures[key]
            if kind is int and (type(value) is not int or value != number):
                return f"its history's entry {number} has epoch {value!r}; epochs count 1, 2, 3 ..."
            if kind is float and (type(value) not in (int, float) or not math.isfinite(value) or value < 0 or
                                  (key == "test_accuracy" and value > 1)):
                return f"its history's entry {number} has {key} {value!r}, not a finite number in range"
    return None


def _optimizer_state(stored):
    """Undo save_checkpoint's flattening: optimizer.mean.0, optimizer.mean.1 -> {"mean": [array, array]}."""
    lists, state = {}, {}
    for key, array in stored.items():
        if key.startswith("optimizer."):
            name, _, index = key.removeprefix("optimizer.").partition(".")
            if index:
                lists.setdefault(name, {})[int(index)] = array
            else:
                state[name] = array.item() if array.ndim == 0 else array.tolist()  # tolist: a Value's numbers
    state.update({name: [arrays[i] for i in sorted(arrays)] for name, arrays in lists.items()})
    return state
