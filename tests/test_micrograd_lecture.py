"""Karpathy's micrograd lecture code runs here: new ops made with Value(data, children, op) and an
out._backward closure, as micrograd's engine makes its own, and ops made with Value.from_op.

The references are independent of our engine's built-in ops: the lecture's own numbers, finite
differences, and the same graph built with the built-in ops (a different code path: local
derivatives stored as numbers, never a closure).
"""
import math

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from autodiff import Value
from autodiff.graph import topological_order
from conftest import assert_close_to_fd, central_difference

# --- micrograd's ops, written as in the lecture (outside the class, so they take `self` by name) ---


def lecture_add(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data + other.data, (self, other), "+")

    def _backward():
        self.grad += 1.0 * out.grad
        other.grad += 1.0 * out.grad

    out._backward = _backward
    return out


def lecture_mul(self, other):
    other = other if isinstance(other, Value) else Value(other)
    out = Value(self.data * other.data, (self, other), "*")

    def _backward():
        self.grad += other.data * out.grad
        other.grad += self.data * out.grad

    out._backward = _backward
    return out


def lecture_pow(self, k):
    out = Value(self.data**k, (self,), f"**{k}")

    def _backward():
        self.grad += k * self.data ** (k - 1) * out.grad

    out._backward = _backward
    return out


def lecture_tanh(self):
    x = self.data
    t = (math.exp(2 * x) - 1) / (math.exp(2 * x) + 1)
    out = Value(t, (self,), "tanh")

    def _backward():
        self.grad += (1 - t**2) * out.grad

    out._backward = _backward
    return out


def lecture_exp(self):
    out = Value(math.exp(self.data), (self,), "exp")

    def _backward():
        self.grad += out.data * out.grad

    out._backward = _backward
    return out


def local_tanh(x):
    """The same tanh through the documented API: the local derivative as a number."""
    t = math.tanh(x.data)
    return Value.from_op(t, (x,), (1 - t * t,), "tanh")


def lecture_neuron(tanh):
    """The lecture's neuron, with its numbers: o = tanh(x1·w1 + x2·w2 + b)."""
    x1, x2 = Value(2.0, label="x1"), Value(0.0, label="x2")
    w1, w2 = Value(-3.0, label="w1"), Value(1.0, label="w2")
    b = Value(6.8813735870195432, label="b")
    n = x1 * w1 + x2 * w2 + b
    n.label = "n"
    o = tanh(n)
    o.label = "o"
    return o, dict(x1=x1, x2=x2, w1=w1, w2=w2, b=b, n=n)


# the gradients the lecture works out by hand: do/dn = 1 - tanh(n)^2 = 0.5
LECTURE_GRADS = {"n": 0.5, "b": 0.5, "x1": -1.5, "w1": 1.0, "x2": 0.5, "w2": 0.0}


@pytest.mark.parametrize("tanh", [lecture_tanh, local_tanh, Value.tanh], ids=["closure", "from_op", "built-in"])
def test_the_lecture_neuron_gets_the_lecture_gradients(tanh):
    o, named = lecture_neuron(tanh)
    assert o.data == pytest.approx(0.7071067811865476, rel=1e-12)
    o.backward()
    for name, grad in LECTURE_GRADS.items():
        assert named[name].grad == pytest.approx(grad, abs=1e-12), name


def test_backpropagating_by_hand_as_the_lecture_does():
    """o.grad = 1, then each node's _backward() in reverse topological order: micrograd's own loop."""
    o, named = lecture_neuron(lecture_tanh)
    topo, visited = [], set()

    def build_topo(v):  # the lecture's recursive sort, on micrograd's names _prev and _op
        if v not in visited:
            visited.add(v)
            for child in v._prev:
                build_topo(child)
            topo.append(v)

    build_topo(o)
    assert o._op == "tanh" and o._prev == {named["n"]}
    o.grad = 1.0
    for node in reversed(topo):
        node._backward()  # a closure for o, the built-in ops' method for the rest, nothing for leaves
    for name, grad in LECTURE_GRADS.items():
        assert named[name].grad == pytest.approx(grad, abs=1e-12), name


def test_micrograds_constructor():
    a, b = Value(2.0, label="a"), Value(3.0, label="b")
    positional = Value(5.0, (a, b), "+")
    keywords = Value(5.0, _children=(a, b), _op="+", label="c")
    for made in (positional, keywords):
        assert made._children == (a, b) and made._prev == {a, b}
        assert made.op == made._op == "+"
        assert isinstance(made, Value)
    assert keywords.label == "c" and positional.label == ""
    assert Value(1.0, [a], "neg")._children == (a,)  # any collection of Values, as micrograd's set(_children)
    assert Value(2.0, "w0").label == "w0"  # a string there names the Value, as this library always took it


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda a: Value(1.0, label=3), "label must be a string, got int"),
        (lambda a: Value(1.0, label=a), "label must be a string, got Value"),
        (lambda a: Value(1.0, (a, 2.0), "+"), "every child must be a Value, got float"),
        (lambda a: Value(1.0, a, "neg"), "children must be a tuple of Values, got Value"),
        (lambda a: Value(1.0, (a,), 3), "_op must be a string"),
        (lambda a: Value(1.0, "a", label="b"), "children must be a tuple of Values, got str"),
    ],
)
def test_bad_constructor_arguments_are_named(make, message):
    with pytest.raises(TypeError, match=message):
        make(Value(2.0))


def test_a_node_made_by_hand_without_its_closure_is_refused_by_backward():
    a = Value(2.0)
    out = Value(4.0, (a,), "square") * 3.0
    with pytest.raises(TypeError, match=r"Value\(4, children, 'square'\) has no _backward.*Value.from_op"):
        out.backward()
    with pytest.raises(TypeError, match=r"Value\(4, children, 'square'\) has no _backward"):
        list(out.backward_steps())
    with pytest.raises(TypeError, match="_backward must be a function"):
        Value(4.0, (a,), "square")._backward = 2.0


# --- random graphs: lecture ops against built-in ops, and against finite differences ---

OPS = {  # name: (operands, lecture version, built-in version)
    "+": (2, lecture_add, lambda a, b: a + b),
    "*": (2, lecture_mul, lambda a, b: a * b),
    "**2": (1, lambda a: lecture_pow(a, 2), lambda a: a**2),
    "**3": (1, lambda a: lecture_pow(a, 3), lambda a: a**3),
    "tanh": (1, lecture_tanh, Value.tanh),
    "from_op tanh": (1, local_tanh, Value.tanh),
    "exp": (1, lecture_exp, Value.exp),
}


@st.composite
def recipes(draw):
    """Leaf values, then ops whose first operand is the newest node and others any earlier node (shared)."""
    leaves = draw(st.lists(st.floats(-1.5, 1.5), min_size=1, max_size=3))
    ops = []
    for i in range(draw(st.integers(1, 10))):
        newest = len(leaves) + i - 1
        name = draw(st.sampled_from(sorted(OPS)))
        ops.append((name, (newest, *[draw(st.integers(0, newest)) for _ in range(OPS[name][0] - 1)])))
    return leaves, ops


def build(recipe, version, leaf_values=None):
    leaf_values, ops = (leaf_values or recipe[0]), recipe[1]
    nodes = [Value(x) for x in leaf_values]
    for name, operands in ops:
        nodes.append(OPS[name][version](*[nodes[i] for i in operands]))
    return nodes


@given(recipes())
def test_lecture_ops_match_the_built_in_ops_and_finite_differences(recipe):
    try:
        lecture, builtin = build(recipe, 1), build(recipe, 2)
    except OverflowError:
        assume(False)
    scale = max(1.0, *(abs(n.data) for n in lecture))  # rounding grows with the values (as test_value_graphs)
    assume(scale <= 100)
    lecture[-1].backward()
    builtin[-1].backward()
    assert lecture[-1].data == pytest.approx(builtin[-1].data, rel=1e-12, abs=1e-12)
    leaves = len(recipe[0])
    for i in range(leaves):
        assert lecture[i].grad == pytest.approx(builtin[i].grad, rel=1e-9, abs=1e-9 * scale), f"leaf {i}"

        def f(x, i=i):
            moved = list(recipe[0])
            moved[i] = x
            return build(recipe, 1, moved)[-1].data

        assert_close_to_fd(lecture[i].grad, central_difference(f, recipe[0][i]), scale, what=f"leaf {i}")


@given(recipes())
def test_stepping_through_closures_leaves_the_gradients_of_backward(recipe):
    try:
        stepped, plain = build(recipe, 1), build(recipe, 1)
    except OverflowError:
        assume(False)
    assume(max(abs(n.data) for n in stepped) <= 100)
    steps = list(stepped[-1].backward_steps())
    plain[-1].backward()
    assert [s.grad for s in steps] == [n.grad for n in reversed(topological_order(plain[-1], leaves=False))]
    for a, b in zip(stepped, plain):
        assert a.grad == b.grad
    for step in steps:  # each edge reports what the closure added to its child
        for edge in step.edges:
            assert edge.after == pytest.approx(edge.before + edge.contribution, rel=1e-12, abs=1e-300)


def test_stepping_shows_what_a_closure_hides():
    x = Value(0.5, label="x")
    t = lecture_tanh(x)
    square = lecture_mul(t, t)  # one child used twice: one edge, both shares
    step_square, step_t = list(square.backward_steps())
    assert step_square.node is square and step_t.node is t
    [edge] = step_square.edges
    assert edge.child is t and edge.local == pytest.approx(2 * t.data) and edge.contribution == pytest.approx(2 * t.data)
    [edge] = step_t.edges
    assert edge.child is x and edge.local == pytest.approx(1 - math.tanh(0.5) ** 2)
    assert (edge.before, edge.after) == (0.0, x.grad)

    dead = lecture_mul(lecture_tanh(x), 0.0)  # the gradient reaching tanh is 0: its local derivative is unknown
    x.grad = 0.0
    tanh_step = list(dead.backward_steps())[1]
    assert tanh_step.grad == 0.0 and tanh_step.edges[0].local is None and tanh_step.edges[0].contribution == 0.0


# --- Value.from_op: a new op with its local derivatives, as the built-in ops make theirs ---


def test_from_op_steps_like_a_built_in_op():
    x, y = Value(1.5, label="x"), Value(-2.0, label="y")

    def hypot(a, b):  # sqrt(a² + b²), with d/da = a / r and d/db = b / r
        r = math.hypot(a.data, b.data)
        return Value.from_op(r, (a, b), (a.data / r, b.data / r), "hypot")

    out = hypot(x, y) * 2.0
    [scale, step] = list(out.backward_steps())
    assert step.node.op == "hypot"
    assert [e.local for e in step.edges] == [1.5 / 2.5, -2.0 / 2.5]  # exactly the numbers given
    for leaf, value in ((x, 1.5), (y, -2.0)):
        def f(v, leaf=leaf):
            a, b = (Value(v), y) if leaf is x else (x, Value(v))
            return (hypot(a, b) * 2.0).data

        assert_close_to_fd(leaf.grad, central_difference(f, value), 5.0, what=leaf.label)


@pytest.mark.parametrize(
    "args, error, message",
    [
        ((1.0, (Value(1.0),), (1.0, 2.0), "f"), ValueError, "one local derivative per child: 1 children, 2 derivatives"),
        ((1.0, (Value(1.0),), ("1",), "f"), TypeError, "local derivative 0 must be a real number, got str"),
        (("1", (Value(1.0),), (1.0,), "f"), TypeError, "the result must be a real number, got str"),
        ((1.0, (1.0,), (1.0,), "f"), TypeError, "every child must be a Value, got float"),
        ((1.0, (Value(1.0),), (1.0,), None), TypeError, "op must be a string"),
        ((math.inf, (Value(1.0),), (1.0,), "f"), OverflowError, r"f\(1\) overflows"),
        ((1.0, (Value(1.0),), (math.nan,), "f"), OverflowError, "its derivative overflows"),
    ],
)
def test_from_op_refuses_bad_input_by_name(args, error, message):
    with pytest.raises(error, match=message):
        Value.from_op(*args)


def test_the_lectures_first_graph_draws_before_and_after_backward():
    from autodiff import draw_dot

    a, b, c = Value(2.0, label="a"), Value(-3.0, label="b"), Value(10.0, label="c")
    e = a * b
    e.label = "e"
    d = e + c
    d.label = "d"
    f = Value(-2.0, label="f")
    L = d * f
    L.label = "L"
    before = draw_dot(L).source
    assert "Gradients not computed yet" in before and "{L | data -8.0000 | grad 0.0000}" in before
    L.backward()
    after = draw_dot(L).source
    assert "Gradients not computed yet" not in after
    lecture = {"L": (-8, 1), "f": (-2, 4), "d": (4, -2), "e": (-6, -2), "c": (10, -2), "a": (2, 6), "b": (-3, -4)}
    for label, (data, grad) in lecture.items():
        assert f"{{{label} | data {data:.4f} | grad {grad:.4f}}}" in after
