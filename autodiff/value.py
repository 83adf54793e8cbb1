"""Value: one scalar in a computation graph.

Every op below computes its forward value and, side by side, the local derivative of that value
with respect to each input. backward() (in graph.py) multiplies those local derivatives along every
path from the root: the chain rule. tensor.py has the same ops, with the same names and the same
derivative rules, on numpy arrays.
"""
import math
from collections.abc import Iterable, Mapping, Set
from itertools import compress
from numbers import Real
from operator import mul

from .graph import backward, creation_counter
from .step import backward_steps


def _checked(data):
    """The float a user gave us, or a clear error: gradients of garbage are garbage."""
    if type(data) is float or type(data) is int:
        pass  # the common case, quickly
    elif isinstance(data, Value):
        raise TypeError("Value data must be a real number, got a Value (use it directly)")
    elif not isinstance(data, Real):
        raise TypeError(f"Value data must be a real number, got {type(data).__name__}: {data!r}")
    data = float(data)
    if not math.isfinite(data):
        raise ValueError(f"Value data must be finite, got {data}")
    return data


def _operand(x):
    return x if isinstance(x, Value) else Value(x)


def _node(data, children, local_grads, op, kind=None):
    """The result of an op (a Value, or a `kind` of Value). Built without __init__'s checks, which only user input needs."""
    if not _isfinite(data):
        operands = ", ".join(f"{c.data:g}" for c in children)
        raise OverflowError(f"{op}({operands}) overflows the range of a float")
    v = _new(kind or Value)
    v.data = data
    v.grad = 0.0
    v._children = children
    v._local_grads = local_grads
    v.op = op
    v.label = ""
    v._id = _next_id()
    return v


def _finite(op, operands, *derivatives):
    """The local derivatives, or an error: an infinite one would make a silent inf in the gradients."""
    if not all(map(math.isfinite, derivatives)):
        raise OverflowError(f"{op}({', '.join(f'{x:g}' for x in operands)}): its derivative overflows the range of a float")
    return derivatives


_NO_CHILDREN, _NO_NAME = (), ""  # the defaults, told apart from what a user passes by identity: quickly


class Value:
    """A scalar that remembers how it was computed, so that backward() can find its gradient."""

    __slots__ = ("data", "grad", "_children", "_local_grads", "op", "label", "_id", "_closure")

    def __init__(self, data, _children=_NO_CHILDREN, _op=_NO_NAME, label=_NO_NAME):
        """micrograd's constructor: Value(2.0, label="a"), or Value(data, (a, b), "+") inside a new op.

        A Value made with children takes its local derivatives from a `_backward` closure that you
        set afterwards, as micrograd's ops do; Value.from_op takes them as numbers instead.
        """
        self.data = data if type(data) is float and _isfinite(data) else _checked(data)
        self.grad = 0.0
        self._children = ()  # the Values this one was computed from
        self._local_grads = ()  # d(self)/d(child), one number per child
        self.op = ""  # the name of the op that made this Value; "" for a leaf
        self.label = ""  # a name to show when rendering
        self._id = _next_id()  # creation order, which graph.py uses as a topological order
        if _children is not _NO_CHILDREN or _op is not _NO_NAME or label is not _NO_NAME:  # not a plain leaf
            _made_by_hand(self, _children, _op, label)

    # --- arithmetic: forward value, then the local derivative for each operand ---

    def __add__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return _node(self.data + other.data, (self, other), (1.0, 1.0), "+")

    def __mul__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return _node(self.data * other.data, (self, other), (other.data, self.data), "*")

    def __sub__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        return _node(self.data - other.data, (self, other), (1.0, -1.0), "-")

    def __truediv__(self, other):
        other = other if isinstance(other, Value) else Value(other)
        a, b = self.data, other.data
        if b == 0.0:
            raise ZeroDivisionError(f"div: division by zero ({a:g} / {b:g})")
        out = a / b
        return _node(out, (self, other), _finite("/", (a, b), 1.0 / b, -out / b), "/")

    def __neg__(self):
        return _node(-self.data, (self,), (-1.0,), "neg")

    def __pow__(self, other):
        """x ** y for a number y (one child) or a Value y (two children: x and y)."""
        x = self.data
        y = other.data if isinstance(other, Value) else _checked(other)
        if x < 0.0 and not y.is_integer():
            raise ValueError(f"pow: a negative base needs an integer exponent, got {x:g} ** {y:g}")
        if x == 0.0 and y < 0.0:
            raise ZeroDivisionError(f"pow: zero to a negative power ({x:g} ** {y:g})")
        if x == 0.0 and 0.0 < y < 1.0:
            raise ValueError(f"pow: the derivative of x ** {y:g} is infinite at x = 0")
        if x < 0.0 and isinstance(other, Value):
            raise ValueError(f"pow: a Value exponent needs a base >= 0 to be differentiable, got {x:g} ** {y:g}")
        try:
            out = x**y
            d_dx = y * x ** (y - 1) if y != 0.0 else 0.0
        except OverflowError:
            raise OverflowError(f"pow: {x:g} ** {y:g} overflows the range of a float") from None
        if not isinstance(other, Value):
            return _node(out, (self,), _finite("**", (x, y), d_dx), f"**{y:g}")
        d_dy = out * math.log(x) if x > 0.0 else 0.0  # x ** y is 0 for all y > 0 near x = 0
        return _node(out, (self, other), _finite("**", (x, y), d_dx, d_dy), "**")

    # --- the same ops with the operands swapped: 2 * v, 1 - v, 2 ** v ---

    def __radd__(self, other):
        return _operand(other) + self

    def __rmul__(self, other):
        return _operand(other) * self

    def __rsub__(self, other):
        return _operand(other) - self

    def __rtruediv__(self, other):
        return _operand(other) / self

    def __rpow__(self, other):
        return _operand(other) ** self

    # --- functions of one input ---

    def exp(self):
        x = self.data
        try:
            e = math.exp(x)
        except OverflowError:
            raise OverflowError(f"exp: exp({x:g}) overflows the range of a float") from None
        return _node(e, (self,), (e,), "exp")

    def log(self):
        x = self.data
        if x <= 0.0:
            raise ValueError(f"log: the logarithm needs a positive input, got log({x:g})")
        return _node(math.log(x), (self,), _finite("log", (x,), 1.0 / x), "log")

    def tanh(self):
        t = math.tanh(self.data)
        return _node(t, (self,), (1.0 - t * t,), "tanh")

    def sigmoid(self):
        x = self.data
        if x >= 0.0:  # exp of a non-positive number: never overflows
            s = 1.0 / (1.0 + math.exp(-x))
        else:
            e = math.exp(x)
            s = e / (1.0 + e)
        return _node(s, (self,), (s * (1.0 - s),), "sigmoid")

    def relu(self):
        x = self.data
        return _node(x if x > 0.0 else 0.0, (self,), (1.0 if x > 0.0 else 0.0,), "relu")

    @staticmethod
    def weighted_sum(weights, inputs, bias):
        """A neuron's w·x + b as one node with 2n+1 children.

        Its local derivatives are the video's: each weight's is its input ("neurons that fire
        together wire together"), each input's is its weight, the bias's is 1.

        Inputs that are plain numbers (an image's pixels), or Constants, are data: they stay the
        node's children, so drawings and steps show them as the neuron's inputs, but they receive
        no gradient, as a Tensor's children with requires_grad=False do not: no one uses the
        gradient of a pixel, and it was half of a first layer's backward pass. Inputs that mix
        Values and numbers are all Values, the numbers constant leaves, as in 2 * v.
        """
        inputs = neuron_inputs(inputs)
        if len(weights) != len(inputs):
            raise ValueError(f"weighted_sum: {len(weights)} weights but {len(inputs)} inputs")
        if type(inputs) is Constants:
            xs = inputs.values
            total = sum([weights[i].data * xs[i] for i in inputs.nonzero]) + bias.data  # x = 0 adds nothing
            node = _node(total, (*weights, *inputs, bias), inputs, "w·x+b", _WeightedSumOfData)
            node._walk = _computed(weights) + ((bias,) if bias._children else ())
            return node
        ws = [w.data for w in weights]
        xs = [x.data for x in inputs]
        total = sum(map(mul, ws, xs)) + bias.data
        return _node(total, (*weights, *inputs, bias), (*xs, *ws, 1.0), "w·x+b")

    @staticmethod
    def from_op(data, children, local_grads, op):
        """A new op's result, made as the built-in ops make theirs: the forward value, and one local
        derivative d(result)/d(child) per child. backward() and stepping treat it like any op.

            def cube(x):
                return Value.from_op(x.data ** 3, (x,), (3 * x.data ** 2,), "cube")
        """
        if not isinstance(op, str):
            raise TypeError(f"from_op: op must be a string naming the op, got {type(op).__name__}: {op!r}")
        who = f"from_op({op!r})"
        children = _children_of(children, who)
        local_grads = tuple(local_grads) if isinstance(local_grads, Iterable) else (local_grads,)
        if len(local_grads) != len(children):
            raise ValueError(f"{who}: give one local derivative per child: {len(children)} children, {len(local_grads)} derivatives")
        for what, x in [("the result", data)] + [(f"local derivative {i}", d) for i, d in enumerate(local_grads)]:
            if not isinstance(x, Real):
                raise TypeError(f"{who}: {what} must be a real number, got {type(x).__name__}: {x!r:.80}")
        local_grads = _finite(op, [c.data for c in children], *map(float, local_grads))
        return _node(float(data), children, local_grads, op)  # _node refuses a result that overflowed

    # --- backpropagation ---

    def _chain_rule(self):
        g = self.grad
        return [(child, d, d * g) for child, d in zip(self._children, self._local_grads)]

    def _backward(self):
        g = self.grad
        for child, d in zip(self._children, self._local_grads):
            child.grad += d * g

    def backward(self):
        """Fill in d(self)/d(node) as .grad for every node this Value depends on.

        Gradients of leaves accumulate across calls, as in PyTorch: call zero_grad() (or set
        .grad = 0) between optimisation steps. Interior nodes show the gradient of the last pass.
        """
        backward(self, 1.0)

    def backward_steps(self):
        """The same backward pass, one node at a time: a generator of Steps (see step.py)."""
        return backward_steps(self, 1.0)

    # --- micrograd's names for the graph, so its drawing code keeps working ---

    @property
    def _prev(self):
        return set(self._children)

    @property
    def _op(self):
        return self.op

    def __repr__(self):
        label = f"label={self.label!r}, " if self.label else ""
        return f"Value({label}data={self.data:.6g}, grad={self.grad:.6g})"


Value._walk = Value._children  # what a backward pass looks into (graph.py): every child, read as fast as ._children


class _ClosureValue(Value):
    """A Value made as micrograd makes one: Value(data, children, op), then out._backward = closure.

    Its local derivatives are hidden inside the closure, so backward() calls the closure, and
    stepping (step.py) calls it and reads what it added to each child. A class of its own keeps the
    built-in ops' _backward a plain method: the hot path of every backward pass.
    """

    __slots__ = ()

    @property
    def _backward(self):
        if self._closure is None:  # a leaf's has nothing to pass on, as micrograd's default lambda: None
            return self._missing_closure if self._children else _nothing_to_pass_on
        return self._closure

    @_backward.setter
    def _backward(self, closure):
        if not callable(closure):
            raise TypeError(f"_backward must be a function of no arguments, got {type(closure).__name__}: {closure!r:.80}")
        self._closure = closure

    def _missing_closure(self):
        raise TypeError(
            f"backward: a Value made by Value({self.data:g}, children, {self.op!r}) has no _backward, so "
            "its children's gradients cannot be computed (this pass stopped there): set out._backward to "
            "a function that adds each child's share of out.grad to child.grad, as micrograd's ops do, "
            "or make it with Value.from_op(data, children, local_grads, op)"
        )

    def _chain_rule(self):
        """What the closure adds to each child, found by running it once more on gradients set aside.

        backward() runs the closure itself and stepping reads what it added (step.py): this is for
        check_gradients, to name a closure that added NaN or inf. One entry per distinct child.
        """
        if self._closure is None:
            return self._missing_closure()
        children = list(dict.fromkeys(self._children))
        kept = [child.grad for child in children]
        try:
            for child in children:
                child.grad = 0.0
            self._closure()
            shares = [child.grad for child in children]
        finally:
            for child, grad in zip(children, kept):
                child.grad = grad
        g = self.grad
        return [(child, share / g if g else None, share) for child, share in zip(children, shares)]


def _made_by_hand(value, children, op, label):
    """The rest of Value(data, _children, _op, label), checked: a plain leaf never comes here."""
    if isinstance(children, str) and not label:  # Value(2.0, "a"): the label, as this library always took it
        children, label = (), children
    if not isinstance(label, str):
        raise TypeError(f"Value: label must be a string, got {type(label).__name__}: {label!r:.80}")
    if not isinstance(op, str):
        raise TypeError(f"Value: _op must be a string naming the op, got {type(op).__name__}: {op!r:.80}")
    value.label, value.op = label, op
    value._children = _children_of(children, "Value")
    if type(value) is Value:  # made as micrograd makes an op's result: its _backward is the closure the user sets
        value.__class__ = _ClosureValue
        value._closure = None


def _nothing_to_pass_on():
    """The _backward of a leaf made with micrograd's arguments, and no closure: it has no children."""


def _children_of(children, who):
    """Children as a tuple of Values (micrograd passes a tuple, and keeps it as a set), or a clear error."""
    if isinstance(children, (str, bytes)) or not isinstance(children, Iterable):
        raise TypeError(f"{who}: the children must be a tuple of Values, got {type(children).__name__}: {children!r:.80}")
    children = tuple(children)
    for child in children:
        if not isinstance(child, Value):
            raise TypeError(f"{who}: every child must be a Value, got {type(child).__name__}: {child!r:.80}")
    return children


_known_weights = {}  # id(a list of weights) -> (a copy of it, those of its Values that are not leaves)
_KEPT_AT_MOST = 250_000  # Values that the copies keep alive (about 30 MB): enough for a 784-300 first layer


def _computed(weights):
    """The weights that were computed from other Values (most often none), as a tuple.

    A leaf stays a leaf, so for a list seen before that still holds the same Values, the answer
    stands: comparing the list with a copy (by identity, in C) is ten times faster than looking at
    each weight again, which every example of a training loop would otherwise do.
    """
    known = _known_weights.get(id(weights))
    if known is not None and type(weights) is list and known[0] == weights:
        return known[1]
    computed = tuple([w for w in weights if w._children])
    if type(weights) is list:
        if sum(len(copy) for copy, _ in _known_weights.values()) + len(weights) > _KEPT_AT_MOST:
            _known_weights.clear()  # the copies would keep the networks of a long session alive
        _known_weights[id(weights)] = (weights.copy(), computed)
    return computed


def neuron_inputs(x):
    """A neuron's inputs as weighted_sum uses them: plain numbers (pixels) become Constants, data
    that gets no gradient; Values stay Values, and numbers among them become Values too (as in 2 * v).
    A layer calls it once for all of its neurons, which then find their inputs converted already."""
    if type(x) is Constants:
        return x
    if type(x) is not list:
        if isinstance(x, (Value, Mapping, Set, str, bytes)) or not isinstance(x, Iterable):
            keys = " (its keys would be read)" if isinstance(x, Mapping) else ""
            raise TypeError(f"a neuron's inputs must be a list of numbers or Values, in order, got "
                            f"{type(x).__name__} {x!r:.40}{keys}")
        if not hasattr(x, "__len__"):  # a generator: read once, here
            x = list(x)
    is_value = [isinstance(xi, Value) for xi in x]
    if not any(is_value):
        return Constants(x)
    if all(is_value):
        return x
    return [_operand(xi) for xi in x]


class Constants(tuple):
    """Plain numbers given as a neuron's inputs: the leaves that show them, and their values.

    weighted_sum gives them no gradient. A layer makes them once for all of its neurons, which
    then share the leaves, as they share the inputs.
    """

    def __new__(cls, numbers):
        leaves = super().__new__(cls, map(Value, numbers))
        leaves._take([leaf.data for leaf in leaves])
        return leaves

    def _take(self, values):
        """Keep the checked numbers, and what the sums and the gradient check want of them."""
        self.values = values  # checked floats, for the sums
        self.nonzero = list(compress(range(len(values)), values))  # the inputs that move their weights
        self.abs_sum = sum(map(abs, values)) + 1.0  # Σ|∂z/∂wᵢ| + |∂z/∂b|, for graph.check_gradients

    def refill(self, numbers):
        """The same leaves, holding new numbers: cheaper than new leaves, for a training loop that drops
        each example's graph before the next (a graph kept from before would see the new numbers)."""
        if len(numbers) != len(self):
            raise ValueError(f"refill: {len(numbers)} numbers for {len(self)} inputs")
        values = [x if type(x) is float and _isfinite(x) else _checked(x) for x in numbers]
        for leaf, x in zip(self, values):
            leaf.data = x
        self._take(values)
        return self


class _WeightedSumOfData(Value):
    """w·x + b whose inputs x are Constants: only the weights and the bias get gradients.

    Its children are the weights, the inputs and the bias, as for any weighted sum, so a drawing
    shows the inputs. Its _local_grads are the Constants, whose values are the weights' local
    derivatives (∂z/∂wᵢ = xᵢ; the bias's is 1). Stepping shows every weight's share; backward()
    skips the weights whose input is 0, whose share is 0: most of an MNIST digit is dark pixels.

    Its _walk, what a backward pass looks into (graph.py), is only the weights and the bias that were
    computed from other Values: usually none. Walking all 2n+1 children to find that out was a third
    of the time of an MNIST example's backward pass.
    """

    __slots__ = ("_walk",)

    def _chain_rule(self):
        g, children, xs = self.grad, self._children, self._local_grads.values
        learning = zip((*children[: len(xs)], children[-1]), (*xs, 1.0))  # the weights, then the bias
        return [(child, d, d * g) for child, d in learning]

    def _backward(self):
        g, children, inputs = self.grad, self._children, self._local_grads
        xs = inputs.values
        for i in inputs.nonzero:
            children[i].grad += xs[i] * g  # weight i: ∂z/∂wᵢ = xᵢ
        children[-1].grad += g  # the bias: ∂z/∂b = 1


_new = object.__new__
_isfinite = math.isfinite
_next_id = creation_counter.__next__
