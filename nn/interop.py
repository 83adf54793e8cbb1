"""A way out to PyTorch, and back: a FastMLP as a torch.nn.Sequential of Linear layers and activations.

Train here and continue in PyTorch, on a GPU or a cluster; or bring a PyTorch MLP here to step
through one example in the scalar engine (FastMLP.from_torch(module).to_scalar()). Both layouts
hold a layer's weights as an (outputs, inputs) matrix, so the numbers are copied as they are.

PyTorch is optional: pip install "seebackprop[torch]".
"""
import numpy as np

from autodiff.files import DamagedFileError

ACTIVATIONS = {"relu": "ReLU", "sigmoid": "Sigmoid", "tanh": "Tanh"}  # ours -> torch.nn's; "linear" is none
DTYPES = ("float32", "float64")


def _torch():
    try:
        import torch
    except ImportError:
        raise ModuleNotFoundError('this needs PyTorch, which is optional: pip install "seebackprop[torch]"') from None
    return torch


def to_torch(net):
    """net (a FastMLP) as a torch.nn.Sequential: Linear, activation, ..., Linear[, output activation]."""
    torch = _torch()
    modules, last = [], len(net.weights) - 1
    for i, (w, b) in enumerate(zip(net.weights, net.biases)):
        nout, nin = w.shape
        linear = torch.nn.Linear(nin, nout, dtype=getattr(torch, str(net.dtype)))
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.data))
            linear.bias.copy_(torch.from_numpy(b.data))
        modules.append(linear)
        activation = net.output if i == last else net.activation
        if activation != "linear":
            modules.append(getattr(torch.nn, ACTIVATIONS[activation])())
    return torch.nn.Sequential(*modules)


def from_torch(module, cls):
    """A torch.nn.Sequential of Linear layers, each followed by at most one ReLU, Sigmoid or Tanh, as a `cls` (FastMLP).

    Anything else raises an error that names the layer that does not fit, and why.
    """
    torch = _torch()
    if isinstance(module, torch.nn.Linear):
        module = torch.nn.Sequential(module)
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"from_torch needs a torch.nn.Sequential (or a Linear), got {type(module).__name__}")
    names = {getattr(torch.nn, name): ours for ours, name in ACTIVATIONS.items()}
    layers = []  # [weights, bias, activation] for each Linear
    for i, layer in enumerate(module):
        what = f"layer {i} ({type(layer).__name__})"
        if isinstance(layer, torch.nn.Linear):
            if layer.bias is None:
                raise ValueError(f"{what} has no bias; every layer here has one")
            for p in (layer.weight, layer.bias):  # what numpy could not hold, named before PyTorch's own words
                if torch.nn.parameter.is_lazy(p):
                    raise ValueError(f"{what} has not been run yet: a lazy layer makes its weights on its first input")
                if p.is_meta:
                    raise ValueError(f"{what} is on the meta device: it holds no numbers to copy")
                if str(p.dtype).removeprefix("torch.") not in DTYPES:
                    raise ValueError(f"{what} holds {str(p.dtype).removeprefix('torch.')} numbers; ours are "
                                     f"{' or '.join(DTYPES)} (convert it with .float() or .double())")
            weights, bias = (p.detach().cpu().numpy() for p in (layer.weight, layer.bias))
            if layers and weights.shape[1] != layers[-1][0].shape[0]:
                raise ValueError(f"{what} takes {weights.shape[1]} inputs, but the layer before it "
                                 f"gives {layers[-1][0].shape[0]} outputs")
            layers.append([weights, bias, "linear"])
        elif type(layer) in names:
            if not layers or layers[-1][2] != "linear":
                raise ValueError(f"{what} must follow a Linear layer: an activation here follows each "
                                 f"layer's weighted sum, once")
            layers[-1][2] = names[type(layer)]
        else:
            raise ValueError(f"{what} has no counterpart here: a FastMLP is Linear layers, each followed "
                             f"by at most one of {', '.join(ACTIVATIONS.values())}")
    if not layers:
        raise ValueError("from_torch: the Sequential holds no Linear layer")
    hidden = {activation for _, _, activation in layers[:-1]}
    if len(hidden) > 1:
        raise ValueError(f"the hidden layers use different activations ({', '.join(sorted(hidden))}); "
                         "a FastMLP has one for all of its hidden layers, and one for its output")
    dtypes = {w.dtype for w, _, _ in layers}
    if len(dtypes) > 1:
        raise ValueError(f"the layers mix {' and '.join(sorted(d.name for d in dtypes))}; convert them to one")
    output = layers[-1][2]
    state = {"activation": np.array(hidden.pop() if hidden else output), "output": np.array(output)}
    for i, (w, b, _) in enumerate(layers):
        state[f"w{i}"], state[f"b{i}"] = w, b
    try:  # the checks FastMLP.load makes of a file (weights must be finite), and copies of the arrays
        return cls.from_state(state, source="from_torch")
    except DamagedFileError as error:  # a ValueError that speaks of files: this is none
        raise ValueError(str(error)) from None
