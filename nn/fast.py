"""FastMLP: the MLP of mlp.py on Tensors, a whole mini-batch at a time.

The weights are laid out as in the scalar MLP: layer i holds a (nout, nin) matrix whose row j is
neuron j's weights, and a bias vector. The same seed draws the same numbers, and to_scalar() /
from_scalar() copy a network between the engines, so a network trained here can be stepped
through one example in the scalar engine.
"""
import numpy as np

from autodiff.files import DamagedFileError, atomic_write, read_npz
from autodiff.tensor import Tensor

from .mlp import ACTIVATIONS, MLP, _activation, check_network, initial_weights
from .module import Module

DTYPES = (np.dtype(np.float32), np.dtype(np.float64))


def _float_dtype(dtype):
    """dtype as float32 or float64, or an error: integer weights would truncate every step to 0."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"FastMLP: dtype must be float32 or float64, got {dtype!r}") from None
    if dtype not in DTYPES:
        raise TypeError(f"FastMLP: dtype must be float32 or float64, got {dtype}")
    return dtype


class FastMLP(Module):
    """MLP(nin, [sizes of the layers]) on Tensors: hidden layers use `activation`, the last `output`."""

    def __init__(self, nin, nouts, activation="relu", output="linear", seed=0, dtype=np.float64):
        dtype = _float_dtype(dtype)
        # per parameter: its data, its gradient, an optimizer's two running sums, and the float64 draw
        sizes = check_network("FastMLP", nin, nouts, activation, output, seed, 4 * dtype.itemsize + 8)
        nouts = sizes[1:]
        rng = np.random.default_rng(seed)
        self.activation, self.output = _activation(activation), _activation(output)
        self.weights = [Tensor(initial_weights(m, n, rng), dtype) for m, n in zip(sizes, sizes[1:])]
        self.biases = [Tensor(np.zeros(n), dtype) for n in nouts]

    @property
    def sizes(self):
        return [self.weights[0].shape[1]] + [w.shape[0] for w in self.weights]

    @property
    def dtype(self):
        return self.weights[0].dtype

    def __call__(self, x):
        """The outputs (batch, nout) for inputs (batch, nin): a Tensor or an array (taken as data, not learned).

        An array is converted to the network's dtype by the first layer, which checks its result for NaN or inf.
        """
        last = len(self.weights) - 1
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            z = Tensor.weighted_sum(w, x, b)
            name = self.output if i == last else self.activation
            x = z if name == "linear" else getattr(z, name)()
        return x

    def parameters(self):
        """In the scalar MLP's order, a layer at a time: weights, then biases."""
        return [p for w, b in zip(self.weights, self.biases) for p in (w, b)]

    # --- conversion to and from the scalar engine ---

    @classmethod
    def from_scalar(cls, mlp, dtype=np.float64):
        """The same network as a scalar MLP: same weights, same activations."""
        first, last = mlp.layers[0].neurons[0], mlp.layers[-1].neurons[0]
        nin = len(first.w)
        net = cls(nin, [len(layer.neurons) for layer in mlp.layers], first.activation, last.activation, dtype=dtype)
        if len(mlp.layers) == 1:  # a single layer is the output layer
            net.activation = first.activation
        for w, b, layer in zip(net.weights, net.biases, mlp.layers):
            w.data[...] = [[v.data for v in n.w] for n in layer.neurons]
            b.data[...] = [n.b.data for n in layer.neurons]
        return net

    def to_scalar(self):
        """This network as a scalar MLP of Values, to step through one example."""
        mlp = MLP(self.sizes[0], self.sizes[1:], self.activation, self.output)
        for w, b, layer in zip(self.weights, self.biases, mlp.layers):
            for j, neuron in enumerate(layer.neurons):
                for v, x in zip(neuron.w, w.data[j]):
                    v.data = float(x)
                neuron.b.data = float(b.data[j])
        return mlp

    # --- conversion to and from PyTorch (optional: see interop.py) ---

    def to_torch(self):
        """This network as a torch.nn.Sequential: the same weights, the same activations."""
        from .interop import to_torch

        return to_torch(self)

    @classmethod
    def from_torch(cls, module):
        """A torch.nn.Sequential of Linear layers and activations as a FastMLP; an error names what does not fit."""
        from .interop import from_torch

        return from_torch(module, cls)

    # --- saving and loading ---

    def state(self):
        """Everything that defines the network, as arrays (no pickles)."""
        state = {"activation": np.array(self.activation), "output": np.array(self.output)}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            state[f"w{i}"], state[f"b{i}"] = w.data, b.data
        return state

    @classmethod
    def from_state(cls, state, source="the state"):
        """The network that state() described, after checking every array: a damaged file is named, never used."""
        weights, biases, activation, output = _checked_state(state, source)
        sizes = [weights[0].shape[1]] + [w.shape[0] for w in weights]
        net = cls(sizes[0], sizes[1:], activation, output, dtype=weights[0].dtype)
        for t, array in zip(net.parameters(), [a for pair in zip(weights, biases) for a in pair]):
            t.data[...] = array
        return net

    def save(self, path):
        """Write the network to a .npz file atomically: a crash leaves the old file, never half a new one."""
        atomic_write(path, lambda f: np.savez(f, **self.state()))

    @classmethod
    def load(cls, path):
        """The network saved at path; a DamagedFileError (a ValueError) naming the file if it is not one."""
        return cls.from_state(read_npz(path), source=str(path))

    def __repr__(self):
        return f"FastMLP({'-'.join(map(str, self.sizes))}, {self.activation}, output {self.output}, {self.dtype})"


def _checked_state(state, source):
    """(weights, biases, activation, output) from a state dict, or a DamagedFileError naming what is wrong."""
    def refuse(problem):
        raise DamagedFileError(f"{source}: {problem}")

    indices = [int(key[1:]) for key in state if key[:1] in ("w", "b") and key[1:].isdigit() and len(key) < 8]
    layers = max(indices, default=-1) + 1  # the layer count is the highest numbered array's
    if layers == 0:
        refuse("not a FastMLP (no layers)")
    expected = {"activation", "output"} | {f"{p}{i}" for i in range(layers) for p in "wb"}
    if set(state) != expected:
        missing, unexpected = sorted(expected - set(state)), sorted(set(state) - expected)
        refuse("not a FastMLP: {}".format("; ".join(
            part for part in (missing and f"missing {', '.join(missing)}",
                              unexpected and f"unexpected {', '.join(unexpected)}") if part)))
    names = []
    for key in ("activation", "output"):
        value = np.asarray(state[key])
        if value.dtype.kind != "U" or value.ndim != 0 or str(value) not in ACTIVATIONS:
            refuse(f"{key} must be one of {', '.join(ACTIVATIONS)}, got {value!r}")
        names.append(str(value))
    weights = [np.asarray(state[f"w{i}"]) for i in range(layers)]
    biases = [np.asarray(state[f"b{i}"]) for i in range(layers)]
    dtype = weights[0].dtype
    for i, (w, b) in enumerate(zip(weights, biases)):
        for name, array in ((f"w{i}", w), (f"b{i}", b)):
            if array.dtype not in DTYPES or array.dtype != dtype:
                refuse(f"{name} is {array.dtype}, expected float32 or float64"
                       + (f" like w0 ({dtype})" if name != "w0" and dtype in DTYPES else ""))
            if not np.isfinite(array).all():
                refuse(f"{name} holds {array[~np.isfinite(array)].flat[0]}: weights must be finite")
        nin = weights[i - 1].shape[0] if i else (w.shape[1] if w.ndim == 2 else -1)
        if w.ndim != 2 or w.shape[1] != nin or b.shape != w.shape[:1] or w.shape[0] < 1 or nin < 1:
            refuse(f"layer {i} has weights {w.shape} and bias {b.shape}, which do not fit "
                   f"(expected (nout, {nin}) and (nout,))")
    return weights, biases, *names
