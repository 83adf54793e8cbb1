"""The backward pass itself: accumulation rules, order, stepping, and graphs a million nodes deep."""
import gc
import math
import tracemalloc

from hypothesis import given
from hypothesis import strategies as st

from autodiff import Value
from autodiff.step import Step
from conftest import built, graphs

# --- accumulation: leaves add up across passes (as in PyTorch), interior nodes show the last pass ---


def test_backward_twice_by_hand():
    a = Value(3.0)
    b = a + a  # 6
    c = b * b  # 36 = 4a², dc/da = 8a = 24, dc/db = 2b = 12
    c.backward()
    assert (a.grad, b.grad, c.grad) == (24.0, 12.0, 1.0)
    c.backward()
    assert (a.grad, b.grad, c.grad) == (48.0, 12.0, 1.0)


@given(graphs())
def test_backward_twice_doubles_leaf_gradients_and_repeats_interior_ones(graph):
    leaves, nodes, _ = built(graph)
    interior, root = nodes[len(leaves) :], nodes[-1]
    root.backward()
    leaf_grads, interior_grads = [v.grad for v in leaves], [v.grad for v in interior]
    root.backward()
    for once, twice in zip(leaf_grads, (v.grad for v in leaves)):
        assert math.isclose(twice, 2 * once, rel_tol=1e-9, abs_tol=1e-9), (once, twice)
    assert [v.grad for v in interior] == interior_grads
    assert root.grad == 1.0


@given(st.floats(-10, 10), st.floats(-10, 10))
def test_leaf_gradients_add_up_across_different_roots(x, y):
    a, b = Value(x), Value(y)
    (a * b).backward()  # d/da = y, d/db = x
    (a + b * 2).backward()  # d/da = 1, d/db = 2
    assert (a.grad, b.grad) == (y + 1, x + 2)


def test_a_leaf_as_root_accumulates_its_seed():
    a = Value(5.0)
    a.backward()
    a.backward()
    assert a.grad == 2.0


# --- order: reverse topological, the same for backward() and backward_steps() ---


def test_backward_steps_visit_nodes_in_the_order_backward_does(monkeypatch):
    """Record the order in which backward() applies the chain rule at each node (a white-box hook)."""
    visited = []
    backward = Value._backward

    def recording(node):
        visited.append(node)
        return backward(node)

    x, y = Value(1.5), Value(-0.5)
    h = (x * y).tanh() + x  # shared x: two paths to it
    root = (h * h + y.exp()).sigmoid()
    monkeypatch.setattr(Value, "_backward", recording)
    root.backward()
    monkeypatch.undo()
    assert [step.node for step in root.backward_steps()] == visited


@given(graphs())
def test_every_node_is_processed_after_all_nodes_that_use_it(graph):
    *_, root = built(graph)[1]
    order = [step.node for step in root.backward_steps()]
    position = {id(node): i for i, node in enumerate(order)}
    assert len(position) == len(order), "a node was processed twice"
    assert order[0] is root
    for i, node in enumerate(order):
        for child in node._prev:
            assert position.get(id(child), math.inf) > i  # leaves are never processed


# --- stepping ---


@given(graphs())
def test_exhausting_backward_steps_leaves_the_gradients_backward_gives(graph):
    _, by_backward, _ = built(graph)
    _, by_steps, _ = graph.build()  # the same recipe, fresh Values
    by_backward[-1].backward()
    for _ in by_steps[-1].backward_steps():
        pass
    assert [v.grad for v in by_steps] == [v.grad for v in by_backward]


@given(graphs())
def test_each_step_applies_the_chain_rule_and_shows_its_work(graph):
    *_, root = built(graph)[1]
    received = {}  # id(node) -> its gradient so far, from the edges seen
    steps = list(root.backward_steps())
    for index, step in enumerate(steps):
        assert isinstance(step, Step) and step.index == index
        # the node's gradient is complete: it has received every contribution it will get
        assert step.grad == (1.0 if step.node is root else received[id(step.node)])
        assert {id(edge.child) for edge in step.edges} == {id(child) for child in step.node._prev}
        for edge in step.edges:
            assert edge.before == received.get(id(edge.child), 0.0)
            assert edge.contribution == edge.local * step.grad
            assert edge.after == edge.before + edge.contribution
            received[id(edge.child)] = edge.after
    for step in steps:
        assert step.node.grad == step.grad
        for edge in step.edges:
            assert edge.child.grad == received[id(edge.child)]


def test_a_step_shows_the_local_derivatives_of_its_op():
    x, y = Value(3.0), Value(-2.0)
    (step,) = list((x * y).backward_steps())
    assert [(e.child, e.local, e.contribution) for e in step.edges] == [(x, -2.0, -2.0), (y, 3.0, 3.0)]


# --- depth: no recursion, linear cost ---


def chain_of_negations(length):
    """x, -x, --x, ...: each node's only child is the previous one; the cheapest deep graph."""
    leaf = node = Value(0.5)
    for _ in range(length):
        node = -node
    return leaf, node


def test_a_chain_of_a_million_nodes():
    leaf, root = chain_of_negations(1_000_001)
    root.backward()
    assert leaf.grad == -1.0  # an odd number of negations


def test_stepping_through_a_deep_chain():
    leaf, root = chain_of_negations(20_001)  # micrograd's recursive sort fails at about 1,000
    steps = sum(1 for _ in root.backward_steps())
    assert steps == 20_001 and leaf.grad == -1.0


def backward_memory(length):
    """The peak memory, in bytes, that backward() allocates on a chain of this length."""
    _, root = chain_of_negations(length)
    gc.collect()
    tracemalloc.start()
    try:
        root.backward()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_backward_memory_grows_linearly():
    """Twice the nodes, twice the memory (quadratic would be 4x). Sizes above 50,000: below that a
    Python set grows its table 4x at a time instead of 2x, so memory is a coarser step function."""
    small, large = backward_memory(100_000), backward_memory(200_000)
    assert 1.8 < large / small < 2.2, (small, large)
