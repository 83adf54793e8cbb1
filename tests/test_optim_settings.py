"""Optimizers refuse settings and parameters that would train nothing, or train wrong, by name (issue 14, cause 9).

SGD(lr=nan) made every weight NaN, lr=-1 climbed the cost, Adam(eps=0) divided 0 by 0 at a zero
gradient, betas=(1.0, 0.999) was a ZeroDivisionError and SGD([1.0, 2.0]) an AttributeError at the
first step. The rules: lr a finite number > 0, momentum and each beta in [0, 1), eps a finite
number > 0, params a list of distinct learnable leaves (Values, or Tensors with requires_grad).
PyTorch is the independent reference: whatever it refuses, we refuse too.
"""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value
from autodiff.tensor import Tensor
from conftest import missing
from nn.fast import FastMLP
from nn.mlp import MLP
from nn.optim import SGD, Adam

try:
    import torch
except ImportError:
    torch = None

numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.floats(-2.0, 2.0), st.sampled_from([0.0, -0.0, 1.0, 0.999, 1e-300]),
    st.integers(-3, 3), st.booleans(), st.none(), st.text(max_size=3), st.just(1 + 0j), st.just(np.float32(0.5)),
)


def real(x):
    return isinstance(x, (int, float, np.floating)) and not isinstance(x, bool) and math.isfinite(x)


def lr_ok(lr):
    return real(lr) and lr > 0


def fraction_ok(x):  # momentum, each beta: a share of the past that is kept
    return real(x) and 0 <= x < 1


def eps_ok(eps):
    return real(eps) and eps > 0


def outcome(make):
    """None if make() is accepted, else the error."""
    try:
        make()
    except (ValueError, TypeError) as error:
        return error
    return None


def parameters():
    return FastMLP(2, [2]).parameters()


@given(lr=numbers, momentum=numbers)
def test_sgd_accepts_exactly_the_settings_that_make_sense_and_names_the_others(lr, momentum):
    error = outcome(lambda: SGD(parameters(), lr=lr, momentum=momentum))
    if lr_ok(lr) and fraction_ok(momentum):
        assert error is None, error
    else:
        assert error is not None, f"SGD(lr={lr!r}, momentum={momentum!r}) was accepted"
        named = "lr" if not lr_ok(lr) else "momentum"
        assert f"{named} must be" in str(error) and repr(lr if named == "lr" else momentum)[:20] in str(error), str(error)


@given(lr=numbers, beta1=numbers, beta2=numbers, eps=numbers)
def test_adam_accepts_exactly_the_settings_that_make_sense_and_names_the_others(lr, beta1, beta2, eps):
    error = outcome(lambda: Adam(parameters(), lr=lr, betas=(beta1, beta2), eps=eps))
    checks = [("lr", lr_ok(lr)), ("betas[0]", fraction_ok(beta1)), ("betas[1]", fraction_ok(beta2)), ("eps", eps_ok(eps))]
    failed = [name for name, ok in checks if not ok]
    if not failed:
        assert error is None, error
    else:
        assert error is not None, f"Adam(lr={lr!r}, betas=({beta1!r}, {beta2!r}), eps={eps!r}) was accepted"
        assert f"{failed[0]} must be" in str(error), str(error)


@pytest.mark.parametrize("betas", [0.9, (0.9,), (0.9, 0.99, 0.999), "ab", None])
def test_adam_betas_must_be_two_numbers(betas):
    with pytest.raises((TypeError, ValueError), match="betas must be two numbers"):
        Adam(parameters(), betas=betas)


@given(lr=numbers, momentum=numbers, beta1=numbers, beta2=numbers, eps=numbers)
def test_what_pytorch_refuses_we_refuse(lr, momentum, beta1, beta2, eps):
    if torch is None:
        missing("needs PyTorch: pip install torch==2.13.0 (CPU)")
    weights = [torch.zeros(2, requires_grad=True)]
    # PyTorch refuses betas of two types (0 and 0.5, or a numpy number) for their types alone: it is given floats
    lr, momentum, beta1, beta2, eps = (float(x) if isinstance(x, (int, float, np.number)) and not isinstance(x, bool) else x
                                       for x in (lr, momentum, beta1, beta2, eps))
    for theirs, ours in [
        (lambda: torch.optim.SGD(weights, lr=lr, momentum=momentum), lambda: SGD(parameters(), lr=lr, momentum=momentum)),
        (lambda: torch.optim.Adam(weights, lr=lr, betas=(beta1, beta2), eps=eps),
         lambda: Adam(parameters(), lr=lr, betas=(beta1, beta2), eps=eps)),
    ]:
        try:
            theirs()
        except Exception:  # noqa: BLE001  PyTorch refuses in several ways; we refuse by name
            assert outcome(ours) is not None


@pytest.mark.parametrize("make", [lambda ps: SGD(ps), lambda ps: SGD(ps, momentum=0.9), lambda ps: Adam(ps)],
                         ids=["SGD", "momentum", "Adam"])
@pytest.mark.parametrize("params, words", [
    ([1.0, 2.0], r"params\[0\] is float 1.0, not a parameter"),
    ([Value(1.0), "w"], r"params\[1\] is str 'w', not a parameter"),
    ([np.ones(3)], r"params\[0\] is ndarray"),
    ([None], r"params\[0\] is NoneType"),
    ([Value(1.0) * 2], r"params\[0\] is computed from other Values \(op '\*'\)"),
    ([Tensor(np.ones(2)) * 2.0], r"params\[0\] is computed from other Tensors \(op '\*'\)"),
    ([Tensor(np.ones(2), requires_grad=False)], r"params\[0\] is data \(requires_grad=False\)"),
    ([], "params is empty"),
    (Value(1.0), r"params must be a list of parameters .* got Value"),
    (Tensor(np.ones(2)), r"params must be a list of parameters .* got Tensor"),
    (MLP(2, [1]), r"params must be a list of parameters .*net.parameters\(\).* got MLP"),
    ({"params": [Value(1.0)]}, r"params must be a list of parameters .* got dict"),
    ("ab", r"params must be a list of parameters .* got str"),
    (3, r"params must be a list of parameters .* got int"),
])
def test_what_is_not_a_list_of_learnable_leaves_is_refused_by_name(make, params, words):
    with pytest.raises((TypeError, ValueError), match=words):
        make(params)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps), lambda ps: Adam(ps)], ids=["SGD", "Adam"])
def test_a_parameter_listed_twice_is_refused_it_would_be_stepped_twice(make):
    w, b = Value(1.0), Value(2.0)
    with pytest.raises(ValueError, match=r"params\[2\] is params\[0\] again"):
        make([w, b, w])
    net = FastMLP(2, [2])
    with pytest.raises(ValueError, match=r"params\[2\] is params\[0\] again"):
        make(net.parameters() + net.parameters())


def test_good_settings_of_every_kind_are_accepted_and_train():
    """Integers, numpy numbers, a generator of parameters, betas as a list: all fine, and a step lowers the cost."""
    makers = [lambda ws: SGD((w for w in ws), lr=1, momentum=np.float32(0.5)),
              lambda ws: SGD(ws, lr=np.float64(0.1), momentum=0),
              lambda ws: Adam(ws, lr=0.01, betas=[0, 0.5], eps=np.float64(1e-8))]
    for make in makers:
        w = Value(1.0)
        optimizer = make([w])
        cost = (w * w) * 0.1
        cost.backward()
        optimizer.step()
        assert ((w * w) * 0.1).data < cost.data
