"""FastMLP to PyTorch and back: the same outputs and gradients in float64, and errors that name what does not fit.

PyTorch is optional: these tests skip without it, and fail under SEEBACKPROP_STRICT=1 (CI installs it).
"""
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import missing
from nn.fast import FastMLP
from nn.losses import cross_entropy, squared_error

try:
    import torch
except ImportError:
    torch = None


@pytest.fixture
def needs_torch():
    if torch is None:
        missing("needs PyTorch: pip install torch==2.13.0 (CPU)")


pytestmark = pytest.mark.usefixtures("needs_torch")

ACTIVATIONS = ["relu", "sigmoid", "tanh", "linear"]
networks = st.tuples(
    st.lists(st.integers(1, 7), min_size=1, max_size=4),  # nin, then the layer sizes
    st.integers(1, 7),
    st.sampled_from(ACTIVATIONS),
    st.sampled_from(ACTIVATIONS),
    st.integers(0, 2**16),
)


def ours_and_torchs(net, x, targets):
    """Outputs, and the gradients of the squared error, from our network and from net.to_torch()."""
    module = net.to_torch()
    out = net(x)
    cost = squared_error(out, targets)
    net.zero_grad()
    cost.backward()
    torch_x = torch.from_numpy(x)
    torch_out = module(torch_x)
    ((torch_out - torch.from_numpy(targets)) ** 2).sum(dim=1).mean().backward()
    ours = [out.data] + [p.grad for p in net.parameters()]
    theirs = [torch_out.detach().numpy()] + [p.grad.numpy() for p in module.parameters()]
    return ours, theirs


def assert_equal_to_1e12(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


@settings(max_examples=30, deadline=None)
@given(networks)
def test_to_torch_gives_the_same_outputs_and_gradients(shape):
    sizes, batch, activation, output, seed = shape
    net = FastMLP(sizes[0], sizes[1:] or [3], activation, output, seed=seed)
    rng = np.random.default_rng(seed)
    x, targets = rng.normal(size=(batch, net.sizes[0])), rng.normal(size=(batch, net.sizes[-1]))
    assert_equal_to_1e12(*ours_and_torchs(net, x, targets))


def torch_mlp(sizes, activation, output, seed, dtype=torch and torch.float64):
    torch.manual_seed(seed)
    modules = []
    for i, (nin, nout) in enumerate(zip(sizes, sizes[1:])):
        modules.append(torch.nn.Linear(nin, nout, dtype=dtype))
        name = output if i == len(sizes) - 2 else activation
        if name != "linear":
            modules.append({"relu": torch.nn.ReLU, "sigmoid": torch.nn.Sigmoid, "tanh": torch.nn.Tanh}[name]())
    return torch.nn.Sequential(*modules)


@settings(max_examples=30, deadline=None)
@given(networks)
def test_from_torch_gives_the_same_outputs_and_gradients(shape):
    sizes, batch, activation, output, seed = shape
    sizes = sizes if len(sizes) > 1 else sizes + [3]
    module = torch_mlp(sizes, activation, output, seed)
    net = FastMLP.from_torch(module)
    assert (net.sizes, net.output, net.dtype) == (sizes, output, np.float64)
    x = np.random.default_rng(seed).normal(size=(batch, sizes[0]))
    labels = np.random.default_rng(seed + 1).integers(0, sizes[-1], batch)
    out = net(x)
    cost = cross_entropy(out, labels)
    cost.backward()
    torch_out = module(torch.from_numpy(x))
    torch.nn.functional.cross_entropy(torch_out, torch.from_numpy(labels)).backward()
    ours = [out.data] + [p.grad for p in net.parameters()]
    theirs = [torch_out.detach().numpy()] + [p.grad.numpy() for p in module.parameters()]
    assert_equal_to_1e12(ours, theirs)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_a_round_trip_keeps_every_number_and_the_dtype(dtype):
    net = FastMLP(5, [4, 3, 2], "tanh", "sigmoid", seed=3, dtype=dtype)
    module = net.to_torch()
    assert [type(m).__name__ for m in module] == ["Linear", "Tanh", "Linear", "Tanh", "Linear", "Sigmoid"]
    back = FastMLP.from_torch(module)
    assert (back.sizes, back.activation, back.output, back.dtype) == ([5, 4, 3, 2], "tanh", "sigmoid", dtype)
    for ours, theirs in zip(net.parameters(), back.parameters()):
        assert ours.data.dtype == theirs.data.dtype and np.array_equal(ours.data, theirs.data)


def test_the_copy_is_a_copy():
    """Training the PyTorch copy leaves our network as it was."""
    net = FastMLP(3, [2], seed=1)
    before = [p.data.copy() for p in net.parameters()]
    module = net.to_torch()
    with torch.no_grad():
        for p in module.parameters():
            p.add_(1.0)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, net.parameters()))


def test_a_pytorch_mlp_can_be_stepped_through_in_the_scalar_engine():
    module = torch_mlp([3, 2, 1], "sigmoid", "sigmoid", seed=0)
    x = [0.5, -0.25, 1.0]
    scalar = FastMLP.from_torch(module).to_scalar()
    out = scalar(x)
    assert out.data == pytest.approx(module(torch.tensor([x], dtype=torch.float64)).item(), abs=1e-12)
    assert sum(1 for _ in out.backward_steps()) > 0


@pytest.mark.parametrize("make, message", [
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Dropout(0.5), torch.nn.Linear(3, 2)),
     r"layer 1 \(Dropout\) has no counterpart here"),
    (lambda: torch.nn.Sequential(torch.nn.Conv2d(1, 2, 3)), r"layer 0 \(Conv2d\) has no counterpart"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(5, 2)),
     r"layer 2 \(Linear\) takes 5 inputs, but the layer before it gives 3 outputs"),
    (lambda: torch.nn.Sequential(torch.nn.ReLU(), torch.nn.Linear(4, 3)), r"layer 0 \(ReLU\) must follow a Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Tanh()),
     r"layer 2 \(Tanh\) must follow a Linear"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.ReLU(), torch.nn.Linear(3, 3), torch.nn.Tanh(),
                                 torch.nn.Linear(3, 2)), r"hidden layers use different activations \(relu, tanh\)"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3, bias=False)), r"layer 0 \(Linear\) has no bias"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3, dtype=torch.float16)), r"holds float16 numbers"),
    (lambda: torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Linear(3, 2, dtype=torch.float64)),
     r"mix float32 and float64"),
    (lambda: torch.nn.Sequential(), "holds no Linear layer"),
])
def test_what_does_not_fit_is_named(make, message):
    with pytest.raises(ValueError, match=message):
        FastMLP.from_torch(make())


def test_a_module_that_is_not_a_sequential_is_refused_by_type():
    with pytest.raises(TypeError, match="needs a torch.nn.Sequential .*got LSTM"):
        FastMLP.from_torch(torch.nn.LSTM(3, 2))


def test_a_single_linear_layer_is_a_one_layer_network():
    net = FastMLP.from_torch(torch.nn.Linear(4, 2, dtype=torch.float64))
    assert (net.sizes, net.output) == ([4, 2], "linear")


def test_without_pytorch_the_error_says_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch now raises ImportError
    with pytest.raises(ModuleNotFoundError, match=r'pip install "seebackprop\[torch\]"'):
        FastMLP(2, [1]).to_torch()


# --- what FastMLP.load refuses, from_torch refuses; what numpy cannot hold is named (issue 14, cause 15) ---


def _with(value, where):
    module = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.Sigmoid(), torch.nn.Linear(2, 1))
    with torch.no_grad():
        getattr(module[where[0]], where[1])[where[2:]] = value
    return module


@pytest.mark.parametrize("value", [float("nan"), float("inf"), -float("inf")])
@pytest.mark.parametrize("where, name", [((0, "weight", 1, 2), "w0"), ((0, "bias", 0), "b0"), ((2, "weight", 0, 1), "w1"),
                                         ((2, "bias", 0), "b1")])
def test_weights_that_are_not_finite_are_refused_as_load_refuses_them(value, where, name):
    with pytest.raises(ValueError, match=rf"{name} holds {value}: weights must be finite"):
        FastMLP.from_torch(_with(value, where))


@pytest.mark.parametrize("dtype", ["bfloat16", "float16", "complex64", "float8_e4m3fn"])
def test_number_types_numpy_or_we_cannot_hold_are_named(dtype):
    if not hasattr(torch, dtype):
        pytest.skip(f"this PyTorch has no {dtype}")
    try:
        linear = torch.nn.Linear(4, 3, dtype=getattr(torch, dtype))
    except (RuntimeError, TypeError):  # PyTorch itself cannot make one
        linear = torch.nn.Linear(4, 3)
        linear.weight.data = linear.weight.data.to(getattr(torch, dtype))
    with pytest.raises(ValueError, match=rf"layer 0 \(Linear\) holds {dtype} numbers; ours are float32 or float64"):
        FastMLP.from_torch(torch.nn.Sequential(linear))


def test_a_module_on_the_meta_device_is_named():
    with pytest.raises(ValueError, match=r"layer 0 \(Linear\) is on the meta device: it holds no numbers"):
        FastMLP.from_torch(torch.nn.Sequential(torch.nn.Linear(4, 3, device="meta")))


def test_a_lazy_layer_not_yet_run_is_named():
    with pytest.raises(ValueError, match=r"layer 0 \(LazyLinear\) has not been run yet"):
        FastMLP.from_torch(torch.nn.Sequential(torch.nn.LazyLinear(3)))
