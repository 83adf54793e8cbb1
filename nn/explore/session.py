"""What the server holds: the network, the digits and the trainer, behind one lock.

The server checks each request's shape (checks.py) and calls one method here; each method takes
the lock, asks the engines, and returns plain data for JSON. Several tabs share one session: they
look at the same network as it learns.
"""
import hashlib
import json
from pathlib import Path

import numpy as np

from autodiff.files import read_npz

from ..data import one_hot, scaled
from ..fast import FastMLP
from ..nudges import weight_name
from ..train import predict
from . import neuron as zoom
from .average import average
from .checks import BadRequest
from .models import list_models, load_model
from .scores import Scores
from .training import Settings, TakingTurns, Trainer
from .wants import SHOWN, Kind, backward_pass, example, forward_only, packed, per_example_nudges

SETS = ("test", "train")
DEFAULT_SIZES = [784, 16, 16, 10]  # the video's network
PIXELS = 784


def check_model(net, source, classes=10):
    """The explorer reads 28x28 images into up to 10 classes, with any hidden layers, activations and
    either cost: refuse others by name."""
    if not isinstance(net, FastMLP):
        raise ValueError(f"{source}: the explorer shows a FastMLP or an MLP, got {type(net).__name__}")
    if net.sizes[0] != PIXELS or not 1 <= net.sizes[-1] <= 10 or net.sizes[-1] < classes:
        raise ValueError(f"{source}: the explorer cannot show the network {'-'.join(map(str, net.sizes))}: it reads "
                         f"{net.sizes[0]} inputs into {net.sizes[-1]} outputs; the explorer reads {PIXELS} pixels "
                         f"(28x28) into one output per class ({classes} here, at most 10)")
    return net


def own_history(model_path, net):
    """The loaded model's own training, for the page's badge and accuracy chart: [{"epoch", "cost",
    "test_accuracy"}] from the checkpoint.npz that demos/train_mnist.py writes beside model.npz, if
    it holds these very weights (a later run may have left another); else None. The history is only
    ever shown, so a checkpoint that cannot be read just means none."""
    try:
        stored = read_npz(Path(model_path).with_name("checkpoint.npz"))
        if not all(np.array_equal(stored[f"net.{key}"], value) for key, value in net.state().items()):
            return None
        history = json.loads(str(stored["run"]))["history"]
        return [{key: figures[key] for key in ("epoch", "cost", "test_accuracy")} for figures in history]
    except Exception:  # noqa: BLE001 - missing, damaged or of another format: no history to show
        return None


def weights_to_follow(dw):
    """For the mini-batch table: each layer's most sensitive weight, and a typical first-layer one
    (the median |gradient| among those that move at all: a weight from a blank pixel never moves)."""
    chosen = [(l, *np.unravel_index(np.argmax(np.abs(dw[l])), dw[l].shape)) for l in range(1, len(dw))]
    first = np.abs(dw[1]).ravel()
    moving = np.flatnonzero(first)
    if moving.size:
        chosen.append((1, *np.unravel_index(moving[np.argsort(first[moving])[len(moving) // 2]], dw[1].shape)))
    return list(dict.fromkeys(tuple(int(i) for i in weight) for weight in chosen))


class Session:
    def __init__(self, data, model=None, history=None, kind=None, settings=None, classes=None, live=False,
                 models=None, name="loaded"):
        """data: (train images, train labels, test images, test labels) as nn.data.load_mnist returns them.
        model: a FastMLP to start from (checked with check_model), or None to start untrained (the video's).
        history: the model's own training, as own_history() reads it, or None.
        kind: its activations and cost (wants.Kind; by default its own activations and the cost its
        output suggests); settings: how the page trains it (training.Settings; by default the video's).
        classes: the name of each class (by default the digits). live: show and train `model` itself
        (a notebook's network), not a copy. models: a folder whose models the page may switch to;
        name: the model's name there."""
        self.lock = TakingTurns()
        self.data = {"train": data[:2], "test": data[2:]}
        # by default one digit per output: the video's 10, or a network's own number of outputs
        self.classes = [str(d) for d in range(model.sizes[-1] if model is not None else 10)] if classes is None \
            else list(classes)
        labels = max((int(np.max(y)) + 1 for y in (data[1], data[3]) if len(y)), default=1)
        if classes is not None and not labels <= len(self.classes) <= 10:
            raise ValueError(f"the data's labels run from 0 to {labels - 1}, but there are {len(self.classes)} "
                             "class names: give one to 10 names, one for each label")
        self.models = models
        self.live = live
        self.scores = Scores(*self.data["test"])  # for every network shown: its scores are kept by its weights
        self._use(model, history, kind, settings, name)

    def _use(self, model, history=None, kind=None, settings=None, name="loaded"):
        if model is not None:
            check_model(model, name, len(self.classes))
        sizes = model.sizes if model is not None else DEFAULT_SIZES[:-1] + [len(self.classes)]
        activation, output = (model.activation, model.output) if model is not None else ("sigmoid", "sigmoid")
        self.kind = kind or Kind(activation, output, "cross-entropy" if output == "linear" else "squared")
        self.settings = settings or Settings.default(self.kind.cost)
        dtype = model.dtype if model is not None else np.float64
        self.untrained = FastMLP(sizes[0], sizes[1:], activation, output, seed=0, dtype=dtype).state()
        self.loaded = model.state() if model is not None and not self.live else None
        self.model_name = name if model is not None else None
        self.net = model if (model is not None and self.live) else FastMLP(sizes[0], sizes[1:], activation, output,
                                                                          seed=0, dtype=dtype)
        self.which = "loaded" if self.live and model is not None else "untrained"
        self.trainer = Trainer(self.net, (*self.data["train"], *self.data["test"]), self.lock, self.settings,
                               self.scores)
        self.history = history if model is not None else None
        self.measured = None  # the badge's accuracy: (which, steps, share of the test digits right)
        if self.loaded is not None:
            self.switch("loaded")

    # --- the network ---

    def matrices(self):
        return [w.data for w in self.net.weights], [b.data for b in self.net.biases]

    def switch(self, which):
        """Start again from the untrained network or from the loaded model."""
        if which == "loaded" and self.loaded is None:
            if self.live:  # a notebook's own network: it is the loaded one, as it is now
                self.trainer.pause()
                with self.lock:
                    self.which = "loaded"
                    self.trainer.restart()
                    self.measured = None
                return
            raise BadRequest("no model was loaded: start with --model PATH, or train this one")
        self.trainer.pause()
        with self.lock:
            state = self.loaded if which == "loaded" else self.untrained
            for i, (w, b) in enumerate(zip(self.net.weights, self.net.biases)):
                # new arrays, not writes into the old ones: a graph of an earlier forward pass holds
                # those read-only until its backward (autodiff/tensor.py), and may keep them
                w.data = np.array(state[f"w{i}"], dtype=w.data.dtype)
                b.data = np.array(state[f"b{i}"], dtype=b.data.dtype)
            self.which = which
            self.trainer.restart()
            self.measured = None

    def use_model(self, name):
        """Switch to one of the models listed by models(): its network, its activations, its cost and its training."""
        found = {m["name"]: m for m in self.list_models()}
        if name not in found:
            raise BadRequest(f"no model named {name[:100]!r} under the models folder")
        if not found[name]["usable"]:
            raise BadRequest(f"{name}: {found[name]['why']}")
        path = Path(self.models) / name / "model.npz"
        model, kind, settings = load_model(path)
        history = own_history(path, model)
        self.trainer.pause()
        with self.lock:
            self._use(model, history, kind, settings, name=name)
        return self.state()

    def list_models(self):
        return [] if self.models is None else list_models(self.models, len(self.classes))

    def model(self):
        """Which network is on screen, named by a hash of its weights: a link made on it names it, and
        opened on another network says so rather than show other numbers as these."""
        digest = hashlib.sha256()
        with self.lock:
            for p in self.net.parameters():
                digest.update(str(p.data.shape).encode())
                digest.update(np.ascontiguousarray(p.data, "<f8").tobytes())
            return {"hash": digest.hexdigest()[:12], "model": self.which, "steps": len(self.trainer.costs),
                    "sizes": self.net.sizes}

    def state(self, since=0):
        """The network's weights and the training's progress, for the picture and the plots.

        The weights go whole only for a network the picture draws whole (every layer of up to
        SHOWN neurons); a wider one's picture takes them from each example, between the neurons shown.
        """
        with self.lock:
            weights, biases = self.matrices()
            whole = max(self.net.sizes[1:]) <= SHOWN
            return {
                "model": self.which, "has_loaded": self.loaded is not None or self.live, "sizes": self.net.sizes,
                "name": self.model_name, "kind": self.kind.describe(), "classes": self.classes, "shown_at_most": SHOWN, "live": self.live,
                "history": self.history if self.which == "loaded" else None,
                "training": self.trainer.progress(since), "accuracy": self.accuracy_now(),
                "w1": packed(weights[0]) if whole else None,  # one 28x28 image per first-layer neuron
                "w": [None, None] + [packed(w, exact=True) if whole else None for w in weights[1:]],
                "b": [None] + [b.tolist() for b in biases],
                "counts": {name: len(labels) for name, (_, labels) in self.data.items()},
            }

    def accuracy_now(self):
        """For the model's badge: {"steps", "share", "measuring"}: the share of test digits read right after
        that many steps here. While training runs, the last epoch's figure, with the step it was
        measured at. Paused: the share of the weights as they are, if it is known (scores.py); if not,
        it is measured in the background, and meanwhile the last share known, with its step and
        "measuring": the badge never waits for a score, nor claims an older one for these weights."""
        steps = len(self.trainer.costs)
        if not self.trainer.running and len(self.trainer.test_labels):
            key, share = self.scores.lookup(self.net)
            if isinstance(share, str):  # these weights could not be scored: why, rather than a number
                return {"steps": steps, "share": None, "measuring": False, "error": share}
            if share is not None:
                self.measured = (self.which, steps, share)
                return {"steps": steps, "share": share, "measuring": False}
            self.scores.measure_later(key, self.net)
        latest = (self.trainer.scored_at[-1], self.trainer.accuracy[-1][1])  # the last epoch's (0: as it started)
        if self.measured is not None and self.measured[0] == self.which and self.measured[1] > latest[0]:
            latest = self.measured[1:]
        return {"steps": latest[0], "share": latest[1],
                "measuring": not self.trainer.running and len(self.trainer.test_labels) > 0}

    # --- one example ---

    def example(self, pixels, target):
        """What the network reads and wants of this example; target None (a drawing not yet labelled): no nudges."""
        if target is not None:
            self.check_class(target)
        with self.lock:
            if target is None:
                return forward_only(*self.matrices(), pixels, self.kind)
            return example(*self.matrices(), pixels, target, self.kind)

    def neuron(self, pixels, target, layer, j):
        """Neuron j of `layer` zoomed in: its graph's backward pass, step by step, with the layer view's numbers."""
        last = len(self.net.weights)
        if not 1 <= layer <= last:
            raise BadRequest(f"layer must be 1 to {last}, got {layer}")
        if not 0 <= j < self.net.sizes[layer]:
            raise BadRequest(f"layer {layer} has neurons 0 to {self.net.sizes[layer] - 1}, got {j}")
        self.check_class(target)
        with self.lock:  # a copy, so that training can go on while the scalar graph is built and drawn
            weights, biases = ([m.copy() for m in matrices] for matrices in self.matrices())
        y = one_hot([target], self.net.sizes[-1])[0]
        cost, a, da, dz, dw, db = backward_pass(weights, biases, pixels, y, self.kind)
        own_cost = layer == last and self.kind.cost == "squared"  # C = Σ C_j: the graph can end in C_j
        frames, numbers = zoom.steps(layer, j, a[layer - 1], weights[layer - 1][j], biases[layer - 1][j],
                                     upstream=da[layer][j], target=y[j] if own_cost else None,
                                     activation=self.kind.of_layer(layer, last),
                                     upstream_from="cost" if layer == last else "layers")
        layer_view = {"a": a[layer][j], "da": da[layer][j], "dz": dz[layer][j], "db": db[layer][j],
                      "dw": dw[layer][j], "da_below": weights[layer - 1][j] * dz[layer][j]}
        difference = max(float(np.max(np.abs(np.subtract(numbers[key], layer_view[key])))) for key in layer_view)
        # a neuron's weights and inputs travel packed (exact): as JSON text, a first-layer neuron's 4 x 784
        # numbers were most of the answer's bytes and of its encoding time
        exact = lambda numbers: {k: packed(v, exact=True) if k in ("dw", "da_below") else v  # noqa: E731
                                 for k, v in numbers.items()}
        return {"layer": layer, "neuron": j, "steps": frames, "scalar_engine": exact(numbers),
                "layer_view": exact(layer_view), "max_difference": difference}

    def check_class(self, target):
        if not 0 <= target < self.net.sizes[-1]:
            raise BadRequest(f"target must be a class from 0 to {self.net.sizes[-1] - 1}, got {target}")

    # --- the digits ---

    def digit(self, which, index=None, label=None, wrong=False, start=0):
        """An example of the test or training set: by index, or the next one from `start` with this
        label, or that the network gets wrong, or both. Its pixels in [0, 1] and its label."""
        images, labels = self.data[which]
        n = len(labels)
        if n == 0:
            raise BadRequest(f"the {which} set is empty")
        if index is not None:
            if not 0 <= index < n:
                raise BadRequest(f"index must be 0 to {n - 1} in the {which} set, got {index}")
        else:
            if not 0 <= start < n:
                raise BadRequest(f"start must be 0 to {n - 1} in the {which} set, got {start}")
            order = np.roll(np.arange(n), -start)  # from start on, then round from the beginning
            found = order if label is None else order[labels[order] == label]
            if wrong:  # the first the network misreads from start on, guessed 500 at a time: rarely more than once
                misread = found[:0]
                with self.lock:
                    for i in range(0, len(found), 500):
                        chunk = found[i:i + 500]
                        misread = chunk[predict(self.net, images[chunk]) != labels[chunk]]
                        if misread.size:
                            break
                found = misread
            if found.size == 0:
                what = " ".join(filter(None, [f"{label}" if label is not None else "example",
                                              "that the network gets wrong" if wrong else ""]))
                raise BadRequest(f"the {which} set holds no {what}")
            index = int(found[0])
        return {"set": which, "index": index, "label": int(labels[index]), "count": n,
                "pixels": scaled(images[index], np.float64).tolist()}

    # --- many examples, one step ---

    MOST_EXAMPLES = 100  # a mini-batch, as in the video

    def average(self, examples, fill=0, apply=False):
        """Each example's wishes, their average and the batch gradient it equals (average.py); fill:
        grow the examples to that many with training digits drawn at random; apply: the network
        takes one step by the average. Examples are {"set", "index"} (their true label is the target)
        or {"pixels", "target"}; a drawing arrives here as pixels (checks.examples)."""
        examples = list(examples)
        if fill > len(examples):
            _, labels = self.data["train"]
            rng = np.random.default_rng(len(examples))  # the same fill for the same examples
            examples += [{"set": "train", "index": int(i)}
                         for i in rng.choice(len(labels), fill - len(examples), replace=False)]
        if not examples:
            raise BadRequest("no examples: add at least one")
        if len(examples) > self.MOST_EXAMPLES:
            raise BadRequest(f"at most {self.MOST_EXAMPLES} examples, got {len(examples)}")
        xs, targets = [], []
        for e in examples:
            if "set" in e:
                images, labels = self.data[e["set"]]
                if not 0 <= e["index"] < len(labels):
                    raise BadRequest(f"index must be 0 to {len(labels) - 1} in the {e['set']} set, got {e['index']}")
                xs.append(scaled(images[e["index"]], np.float64))
                targets.append(int(labels[e["index"]]))
            else:
                xs.append(e["pixels"])
                targets.append(e["target"])
        xs = np.array(xs)
        with self.lock:
            if apply and self.trainer.running:
                raise BadRequest("training is running: pause it to take a step by hand")
            weights, biases = self.matrices()
            result = average(weights, biases, self.kind, xs, targets, self.settings.lr)
            if apply:  # plain SGD by the average: new arrays, as switch() explains
                for p, g in zip(self.net.parameters(), result.pop("_gradient")):
                    p.data = p.data - self.settings.lr * g
                self.trainer.costs.append(result["batch_cost"])
                self.trainer.last_batch = None  # its table would start from weights that are no longer anyone's
            else:
                result.pop("_gradient")
        result.update(applied=apply, layers=len(self.net.weights), images=[packed(x) for x in xs[:8]],
                      examples=[e if "set" in e else {"pixels": e["pixels"].tolist(), "target": e["target"]}
                                for e in examples])
        return result

    # --- training ---

    def train(self, action):
        since = len(self.trainer.costs)
        if action == "start":
            self.trainer.start()
        elif action == "pause":
            self.trainer.pause()
        elif action == "step":
            if self.trainer.running:
                raise BadRequest("training is running: pause it to take one step at a time")
            self.trainer.step()
        elif action in ("untrained", "loaded"):
            self.switch(action)
        return self.state(since=0 if action in ("untrained", "loaded") else since)

    def batch(self):
        """The video's mini-batch table for the last step: what each example wants of a few weights, their
        average, and the gradient the step used, which the average must equal."""
        with self.lock:
            last = self.trainer.last_batch
            if last is None:
                raise BadRequest("no training step since the weights were last set (loaded, reset or moved by a "
                                 "step by the average): press Train or One step")
            images, labels = self.data["train"]
            # The weights the last step started from (under the lock no other step has come since):
            # plain SGD took lr·gradient from each; other optimizers kept a copy.
            before = last["before"] or [p.data + self.settings.lr * g
                                        for p, g in zip(self.net.parameters(), last["gradient"])]
            gradient = [None] + [g.copy() for g in last["gradient"][0::2]]  # the next step overwrites them
        weights, biases = before[0::2], before[1::2]
        chosen = weights_to_follow(gradient)
        xs = scaled(images[last["indices"]], np.float64)
        weights, biases = [np.asarray(w, np.float64) for w in weights], [np.asarray(b, np.float64) for b in biases]
        ys = one_hot(labels[last["indices"]], self.net.sizes[-1])
        table = per_example_nudges(weights, biases, xs, ys, chosen, self.kind)
        average = table.mean(axis=1)
        step_nudge = np.array([-gradient[l][j, k] for l, j, k in chosen])
        return {"weights": [weight_name(w) for w in chosen], "labels": labels[last["indices"]].tolist(),
                "indices": last["indices"].tolist(), "table": table.tolist(), "average": average.tolist(),
                "step": step_nudge.tolist(), "max_difference": float(np.max(np.abs(average - step_nudge))),
                "cost": last["cost"]}
