"""FastMLP: the MLP of mlp.py on Tensors, a whole mini-batch at a time.

The weights are laid out as in the scalar MLP: layer i holds a (nout, nin) matrix whose row j is
neuron j's weights, and a bias vector. The same seed draws the same numbers, and to_scalar() /
from_scalar() copy a network between the engines, so a network trained here can be stepped
through one example in the scalar engine.
"""
import zipfile

import numpy as np

from autodiff.files import atomic_write
from autodiff.tensor import Tensor

from .mlp import MLP, _activation, initial_weights
from .module import Module


class FastMLP(Module):
    """MLP(nin, [sizes of the layers]) on Tensors: hidden layers use `activation`, the last `output`."""

    def __init__(self, nin, nouts, activation="relu", output="linear", seed=0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        sizes = [nin] + list(nouts)
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

    # --- saving and loading ---

    def state(self):
        """Everything that defines the network, as arrays (no pickles)."""
        state = {"activation": np.array(self.activation), "output": np.array(self.output)}
        for i, (w, b) in enumerate(zip(self.weights, self.biases)):
            state[f"w{i}"], state[f"b{i}"] = w.data, b.data
        return state

    @classmethod
    def from_state(cls, state, source="the state"):
        try:
            n = sum(1 for key in state if key.startswith("w"))
            weights = [np.asarray(state[f"w{i}"]) for i in range(n)]
            biases = [np.asarray(state[f"b{i}"]) for i in range(n)]
            activation, output = str(state["activation"]), str(state["output"])
        except KeyError as missing:
            raise ValueError(f"{source}: not a FastMLP (missing {missing})") from None
        sizes = [weights[0].shape[1] if n else 0] + [w.shape[0] for w in weights]
        for i, (w, b) in enumerate(zip(weights, biases)):
            if w.shape != (sizes[i + 1], sizes[i]) or b.shape != (sizes[i + 1],):
                raise ValueError(f"{source}: layer {i} has weights {w.shape} and bias {b.shape}, which do not fit")
        if n == 0:
            raise ValueError(f"{source}: not a FastMLP (no layers)")
        net = cls(sizes[0], sizes[1:], activation, output, dtype=weights[0].dtype)
        for t, array in zip(net.parameters(), [a for pair in zip(weights, biases) for a in pair]):
            t.data[...] = array
        return net

    def save(self, path):
        """Write the network to a .npz file atomically: a crash leaves the old file, never half a new one."""
        atomic_write(path, lambda f: np.savez(f, **self.state()))

    @classmethod
    def load(cls, path):
        try:
            with np.load(path, allow_pickle=False) as archive:
                state = {key: archive[key] for key in archive.files}
        except FileNotFoundError:
            raise
        except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
            raise ValueError(f"{path}: not a readable .npz model file ({error})") from None
        return cls.from_state(state, source=str(path))

    def __repr__(self):
        return f"FastMLP({'-'.join(map(str, self.sizes))}, {self.activation}, output {self.output}, {self.dtype})"
