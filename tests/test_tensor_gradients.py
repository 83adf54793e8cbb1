"""What a Tensor's gradients are after backward(): the user's own arrays, the same as stepping gives, bit for bit (issue 14, cause 13).

- After zero_grad(), a gradient that came through sum, mean, .T or reshape was numpy's read-only
  broadcast, or a view of another node's gradient: `x.grad *= 0.5` failed, or changed that node too.
- backward_steps() differed from backward() by up to 8.9e-16 on some graphs: a view of a gradient
  (not contiguous, or broadcast) went into a matrix product, which BLAS sums in another order than
  for the contiguous array that stepping passed on.
- A weight written between a forward pass and its backward() gave numpy's "assignment destination
  is read-only", which does not say which graph holds it, nor what to do.
"""
import copy

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from autodiff.graph import topological_order
from autodiff.tensor import Tensor
from nn.fast import FastMLP
from nn.module import zero_grad
from nn.optim import SGD, Adam

# --- random graphs of every Tensor op, on square matrices and what sums and transposes make of them ---

UNARY = {
    "neg": lambda a: -a, "exp": lambda a: (a * 0.3).exp(), "log": lambda a: (a * a + 1.0).log(), "tanh": Tensor.tanh,
    "sigmoid": Tensor.sigmoid, "relu": Tensor.relu, "**2": lambda a: a**2, "T": lambda a: a.T,
    "sum0": lambda a: a.sum(axis=0, keepdims=True), "sum1": lambda a: a.sum(axis=1), "sum": lambda a: a.sum(),
    "mean0": lambda a: a.mean(axis=0), "mean1": lambda a: a.mean(axis=-1, keepdims=True),
    "reshape": lambda a: a.reshape(-1) if a.data.ndim == 2 else a.reshape(2, -1) if a.data.size % 2 == 0 else a.reshape(1, -1),
    "2-": lambda a: 2.0 - a, "array*": lambda a: np.linspace(0.5, 1.5, a.data.size).reshape(a.shape) * a,
}
BINARY = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": lambda a, b: a / (b * b + 1.0),
    "@": lambda a, b: a @ b, "@T": lambda a, b: a @ b.T, "w·x+b": lambda a, b: Tensor.weighted_sum(a, b, a.sum(axis=1)),
}


@st.composite
def tensor_graphs(draw):
    """A recipe: (leaf seeds, [(op, operand indices)], dtype, n for (n, n) leaves); ops that do not fit their operands' shapes pass the first through."""
    leaves = [draw(st.integers(0, 2**32 - 1)) for _ in range(draw(st.integers(1, 3)))]
    ops = []
    for i in range(draw(st.integers(1, 12))):
        newest = len(leaves) + i - 1
        name = draw(st.sampled_from(sorted(UNARY) + sorted(BINARY)))
        ops.append((name, (newest, draw(st.integers(0, newest)))))
    # 17, 33: matrices large enough for BLAS to sum a transposed operand in another order than a contiguous one
    return leaves, ops, draw(st.sampled_from([np.float64, np.float32])), draw(st.sampled_from([2, 3, 17, 33]))


def build(recipe):
    seeds, ops, dtype, n = recipe
    leaves = [Tensor(np.random.default_rng(seed).uniform(-1, 1, (n, n)), dtype) for seed in seeds]
    nodes = list(leaves)
    for name, (a, b) in ops:
        try:
            nodes.append(UNARY[name](nodes[a]) if name in UNARY else BINARY[name](nodes[a], nodes[b]))
        except ValueError:  # shapes that do not fit this op: pass the operand through
            nodes.append(nodes[a] * 1.0)
        except OverflowError:  # x**2 of x**2 ...: a recipe for another test
            assume(False)
    return leaves, nodes, nodes[-1].sum() * 1.0


@settings(max_examples=300, deadline=None)
@given(tensor_graphs())
def test_backward_steps_gives_the_gradients_of_backward_bit_for_bit(recipe):
    _, direct_nodes, direct = build(recipe)
    try:
        direct.backward()
    except OverflowError:
        assume(False)
    _, stepped_nodes, stepped = build(recipe)
    for _ in stepped.backward_steps():
        pass
    for a, b in zip(direct_nodes + [direct], stepped_nodes + [stepped]):
        if a.requires_grad:  # exactly equal: the same numbers, in the same dtype (a zero's sign aside: -0.0 == 0.0)
            assert np.asarray(a.grad).dtype == np.asarray(b.grad).dtype and np.array_equal(a.grad, b.grad), (a, a.grad, b.grad)


@settings(max_examples=200, deadline=None)
@given(tensor_graphs(), st.booleans())
def test_every_gradient_is_an_array_of_its_own_that_the_user_can_change(recipe, stepping):
    leaves, nodes, cost = build(recipe)
    zero_grad(leaves)
    try:
        list(cost.backward_steps()) if stepping else cost.backward()
    except OverflowError:
        assume(False)
    grads = {id(n): n.grad for n in nodes + [cost] if n.requires_grad}
    for node in nodes:
        if node.requires_grad and np.ndim(node.grad) > 0:
            assert node.grad.flags.writeable, f"the gradient of {node!r} is read-only"
            others = [g for key, g in grads.items() if key != id(node) and np.ndim(g) > 0]
            assert not any(np.shares_memory(node.grad, g) for g in others), f"the gradient of {node!r} is another's"
    for leaf in leaves:
        before = np.array(leaf.grad)
        leaf.grad *= 0.5  # what clipping or averaging by hand does
        np.testing.assert_array_equal(leaf.grad, before * 0.5)


@pytest.mark.parametrize("through", [
    lambda x: x.sum(), lambda x: x.mean(), lambda x: x.T.sum(), lambda x: x.reshape(6).sum(),
    lambda x: (x.reshape(6) * 2.0).sum(), lambda x: x.sum(axis=0).sum(),
])
def test_the_examples_of_the_issue_after_zero_grad(through):
    x = Tensor(np.ones((2, 3)))
    zero_grad([x])
    through(x).backward()
    expected = x.grad.copy()
    x.grad *= 0.5
    np.testing.assert_array_equal(x.grad, expected * 0.5)


# --- a weight written while a graph still needs it, and after ---


def forward(net):
    return net(np.ones((5, 4)))


def writable(net):
    return [p.data.flags.writeable for p in net.parameters()]


def test_a_forward_pass_dropped_without_backward_leaves_the_weights_writable():
    """A prediction's graph used to lock the weights until some later backward(): forever, for a model only evaluated."""
    net = FastMLP(4, [3, 2])
    predictions = forward(net).data.argmax(axis=1)  # the graph is dropped here
    assert all(writable(net))
    for p in net.parameters():
        p.data -= 0.1  # no error
    assert predictions.shape == (5,)


def test_a_graph_still_held_keeps_its_weights_read_only_until_its_backward():
    net = FastMLP(4, [3, 2])
    cost = forward(net).sum()
    assert not any(writable(net))
    with pytest.raises(ValueError, match="read-only"):
        net.weights[0].data -= 0.1
    cost.backward()
    assert all(writable(net))


@given(st.lists(st.sampled_from(["forward", "backward", "drop"]), min_size=1, max_size=12))
def test_the_newest_pending_graph_keeps_its_lock_whatever_happens_to_older_graphs(actions):
    """A training loop drops the last step's graph while the next step's waits for its backward():
    the weights stay read-only exactly while the newest graph made from them is held and not walked back."""
    net = FastMLP(4, [3, 2])
    graphs = []  # [cost, walked back?], oldest first
    for action in actions:
        if action == "forward":
            graphs.append([forward(net).sum(), False])
        elif action == "backward" and graphs and not graphs[-1][1]:
            graphs[-1][0].backward()
            graphs[-1][1] = True
        elif action == "drop" and graphs:
            graphs.pop(0)  # the oldest goes, as a loop's previous step does
        newest_pending = bool(graphs) and not graphs[-1][1]
        assert writable(net) == [not newest_pending] * len(writable(net)), (action, graphs)


@pytest.mark.parametrize("make", [lambda ps: SGD(ps, lr=0.1), lambda ps: SGD(ps, lr=0.1, momentum=0.9),
                                  lambda ps: Adam(ps, lr=0.01)])
def test_a_step_while_a_graph_waits_for_backward_names_it_and_changes_nothing(make):
    """numpy's own words ("output array is read-only") say nothing of why: the optimizer says it first."""
    net = FastMLP(4, [3, 2])
    optimizer = make(net.parameters())
    cost = net(np.ones((5, 4))).sum()
    for p in net.parameters():
        p.grad = np.ones_like(p.data)
    before = [p.data.copy() for p in net.parameters()], copy.deepcopy(optimizer.state())
    with pytest.raises(ValueError, match=r"parameter 0 \(shape \(3, 4\)\) is held read-only .* backward\(\)"):
        optimizer.step()
    assert all(np.array_equal(p.data, b) for p, b in zip(net.parameters(), before[0]))
    assert repr(optimizer.state()) == repr(before[1])  # no running sum moved either
    cost.backward()
    optimizer.step()  # and after backward(), the step goes through
