"""Whole graphs: backward() through shared nodes against finite differences and hand derivations."""
import math

from hypothesis import assume, given
from hypothesis import strategies as st

from autodiff import Value
from conftest import assert_close_to_fd, built, central_difference, graphs


@given(graphs())
def test_random_graph_gradients_match_finite_differences(graph):
    leaves, nodes, kinks = built(graph)
    root = nodes[-1]
    root.backward()
    scale = max(1.0, *(abs(n.data) for n in nodes))  # rounding error grows with the values computed

    for i, leaf in enumerate(leaves):

        def root_with_leaf_at(x):
            values = list(graph.leaf_values)
            values[i] = x
            try:
                _, perturbed, perturbed_kinks = graph.build(values)
            except OverflowError:
                assume(False)
            assume(perturbed_kinks == kinks)  # the step crossed relu's kink: no derivative there
            return perturbed[-1].data

        numeric = central_difference(root_with_leaf_at, graph.leaf_values[i])
        assert_close_to_fd(leaf.grad, numeric, scale, what=f"d(root)/d(x{i})")


@given(st.floats(-10, 10))
def test_a_node_used_twice_gets_both_contributions(a):
    x = Value(a)
    y = x + x  # 2a
    z = y * y  # 4a², so dz/dx = 8a and dz/dy = 2y = 4a
    z.backward()
    assert x.grad == 8 * a
    assert y.grad == 4 * a


@given(st.floats(-3, 3))
def test_diamond_matches_the_product_rule(a):
    x = Value(a)
    f = (x * x) * x.exp()  # x feeds two branches that meet again
    f.backward()
    expected = (2 * a + a * a) * math.exp(a)
    assert math.isclose(x.grad, expected, rel_tol=1e-12, abs_tol=1e-12)


@given(st.floats(-3, 3), st.floats(-3, 3))
def test_an_unused_leaf_gets_zero_and_an_unrelated_graph_is_untouched(a, b):
    x, y, unused = Value(a), Value(b), Value(1.0)
    other = y * 3.0
    f = x.tanh() + x * x
    f.backward()
    assert unused.grad == 0.0 and y.grad == 0.0 and other.grad == 0.0
    assert math.isclose(x.grad, 1 - math.tanh(a) ** 2 + 2 * a, rel_tol=1e-12, abs_tol=1e-12)


def test_a_node_listed_twice_as_children_counts_twice():
    """weighted_sum([x], [x], b) = x² + b: x is both the weight and the input."""
    x, b = Value(3.0), Value(0.5)
    Value.weighted_sum([x, x], [x, Value(2.0)], b).backward()  # x² + 2x + b
    assert x.grad == 2 * 3.0 + 2.0
    assert b.grad == 1.0
