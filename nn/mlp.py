"""Neuron, Layer and MLP on scalar Values, with micrograd's interface.

Weights are drawn from a seeded numpy generator, uniform in ±1/sqrt(nin) (LeCun's scale): the
weighted sum of 784 pixels then stays small, so sigmoid units start in their steep middle instead
of saturating, which micrograd's uniform(-1, 1) does with MNIST. Biases start at zero.
fast.py draws the same numbers for the same seed, so both engines start from the same network.
"""
import os
from numbers import Integral

import numpy as np

from autodiff import Value
from autodiff.value import neuron_inputs

from .module import Module

ACTIVATIONS = {
    "relu": Value.relu,
    "sigmoid": Value.sigmoid,
    "tanh": Value.tanh,
    "linear": lambda v: v,
}


def _activation(name):
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")
    return name


def _size(name, n):
    """n as an int >= 1, or an error naming the argument."""
    if isinstance(n, bool) or not isinstance(n, Integral):
        raise TypeError(f"{name} must be a whole number of neurons, got {type(n).__name__} {n!r}")
    if n < 1:
        raise ValueError(f"{name} must be at least 1, got {n}")
    return int(n)


def check_network(kind, nin, nouts, activation, output, seed, bytes_per_parameter):
    """The layer sizes [nin, *nouts] of a network, after checking every argument by name.

    Refuses a network whose parameters alone would not fit in this machine's memory, with the
    estimate: numpy would otherwise try, and fail far from the cause, or swap for hours.
    """
    if isinstance(nouts, (str, bytes)) or not hasattr(nouts, "__iter__"):
        raise TypeError(f"{kind}: nouts must be a list of layer sizes such as [16, 16, 10], "
                        f"got {type(nouts).__name__} {nouts!r}")
    nouts = list(nouts)
    if not nouts:
        raise ValueError(f"{kind}: nouts must name at least one layer, got []")
    sizes = [_size("nin", nin)] + [_size(f"nouts[{i}]", n) for i, n in enumerate(nouts)]
    _activation(activation)  # checked even when a single layer leaves it unused
    _activation(output)
    _seed(kind, seed)
    parameters = sum((m + 1) * n for m, n in zip(sizes, sizes[1:]))
    needed, available = parameters * bytes_per_parameter, physical_memory()
    if available and needed > available:
        raise ValueError(f"{kind}: layer sizes {sizes} make {parameters:,} parameters, about "
                         f"{_bytes(needed)} of memory; this machine has {_bytes(available)}")
    return sizes


def _seed(kind, seed):
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, Integral) or seed < 0):
        raise ValueError(f"{kind}: seed must be a whole number >= 0 (or None), got {seed!r}")


def physical_memory():
    """This machine's memory in bytes, or None where the system does not say."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def _bytes(n):
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.1f} {unit}" if unit != "bytes" else f"{n} bytes"
        n /= 1024


VALUE_BYTES = 200  # a weight as a Value in its neuron: 206 bytes measured with tracemalloc on MLP(784, [16, 16, 10])


def initial_weights(nin, nout, rng):
    """A (nout, nin) matrix: row j holds neuron j's weights. The one initialisation both engines use."""
    bound = 1.0 / np.sqrt(nin)
    return rng.uniform(-bound, bound, size=(nout, nin))


class Neuron(Module):
    """activation(w·x + b): one node for the weighted sum, one for the activation."""

    def __init__(self, nin, nonlin=True, activation=None, weights=None, seed=0):
        # micrograd's nonlin=True/False means relu/linear; activation names any of ACTIVATIONS
        self.activation = _activation(activation or ("relu" if nonlin else "linear"))
        if weights is None:
            _seed("Neuron", seed)
            weights = initial_weights(_size("nin", nin), 1, np.random.default_rng(seed))[0]
        self.w = [Value(float(w)) for w in weights]
        self.b = Value(0.0)

    def __call__(self, x):
        return self._fire(neuron_inputs(x))

    def _fire(self, x):
        """The neuron on inputs already converted (neuron_inputs): a layer converts them once for all its neurons."""
        return ACTIVATIONS[self.activation](Value.weighted_sum(self.w, x, self.b))

    def parameters(self):
        return self.w + [self.b]

    def __repr__(self):
        return f"{self.activation.capitalize()}Neuron({len(self.w)})"


class Layer(Module):
    def __init__(self, nin, nout, nonlin=True, activation=None, seed=0, rng=None):
        if rng is None:
            _seed("Layer", seed)
            rng = np.random.default_rng(seed)
        weights = initial_weights(_size("nin", nin), _size("nout", nout), rng)
        self.neurons = [Neuron(nin, nonlin, activation, weights=row) for row in weights]

    def __call__(self, x):
        if isinstance(x, Value):  # the single output of a one-neuron layer, as micrograd returns it
            x = [x]
        x = neuron_inputs(x)
        out = [n._fire(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out

    def parameters(self):
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self):
        return f"Layer of {len(self.neurons)} x {self.neurons[0]}"


class MLP(Module):
    """A multi-layer perceptron: MLP(nin, [sizes of the layers]).

    As in micrograd, hidden layers use ReLU and the last layer is linear. The 3Blue1Brown network,
    sigmoid everywhere, is MLP(784, [16, 16, 10], activation="sigmoid", output="sigmoid").
    """

    def __init__(self, nin, nouts, activation="relu", output="linear", seed=0):
        sizes = check_network("MLP", nin, nouts, activation, output, seed, VALUE_BYTES)
        nouts = sizes[1:]
        rng = np.random.default_rng(seed)
        self.layers = [
            Layer(sizes[i], sizes[i + 1], activation=activation if i < len(nouts) - 1 else output, rng=rng)
            for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def parameters(self):
        return [p for layer in self.layers for p in layer.parameters()]

    def state(self):
        """The weights as arrays, laid out as FastMLP.state(): one file format for both engines."""
        return _fast(self).state()

    def save(self, path):
        """Write the network as FastMLP.save does (atomically); FastMLP.load(path).to_scalar() reads it back."""
        _fast(self).save(path)

    def __repr__(self):
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


def _fast(mlp):
    from .fast import FastMLP  # not at the top: fast.py imports this module

    return FastMLP.from_scalar(mlp)
