"""Zoom into one neuron: its scalar graph w·x + b → σ, and its backward pass a step at a time.

The graph is built from Values with the layer's numbers, so that the scalar engine works out the
same gradients the layer view shows: for an output neuron the graph ends in its part of the cost,
C_j = (a_j - y_j)², and the backward pass starts there with 1 (∂C/∂C_j = 1, since C is the sum of
the C_j); for a hidden neuron it starts at a_j with ∂C/∂a_j, the gradient the layers above it
sent back. The steps are the walkthrough's (autodiff.walkthrough.stepper): the same JSON, drawn by
the same stepper view as the stepper page.
"""
from autodiff import Value
from autodiff.value import collector_paused
from autodiff.walkthrough import number, stepper


def leaf(x, label):
    """Value(x, label): a plain leaf, labelled after (a first-layer neuron has 1,569 leaves; the
    constructor's checks of a label passed to it took a fifth of the zoom's time)."""
    value = Value(float(x))
    value.label = label
    return value


def neuron_graph(layer, j, inputs, w, b, target=None, activation="sigmoid"):
    """(root, leaves by role): Values for neuron j of `layer`, fed the activations `inputs` of the layer below,
    through its layer's activation (sigmoid, tanh, relu, or linear: none)."""
    below = layer - 1
    a_in = [leaf(x, f"a({below})_{k}") for k, x in enumerate(inputs)]
    ws = [leaf(x, f"w({layer})_{j},{k}") for k, x in enumerate(w)]
    bias = leaf(b, f"b({layer})_{j}")
    z = Value.weighted_sum(ws, a_in, bias)
    z.label = f"z({layer})_{j}"
    a = z if activation == "linear" else getattr(z, activation)()  # linear: a is z itself
    if a is not z:
        a.label = f"a({layer})_{j}"
    root = a
    if target is not None:  # an output neuron: its share of the cost
        root = (a - Value(float(target), f"y_{j}")) ** 2
        root.label = f"C_{j}"
    return root, {"weights": ws, "inputs": a_in, "bias": [bias], "z": z, "a": a}


def steps(layer, j, inputs, w, b, upstream=None, target=None, activation="sigmoid", upstream_from="layers"):
    """The backward pass through neuron j, as the stepper's steps (see walkthrough.stepper), and the numbers it ends with.

    Give `target` for an output neuron under the squared error (the graph then ends in its cost),
    `upstream` = ∂C/∂a_j for a hidden one, or for an output under the cross-entropy, which is no sum
    of one cost per output (upstream_from="cost").

    With the cyclic collector paused (a first-layer neuron is 1,569 Values, and its walk thousands
    of Edges; none hold cycles): it ran every few hundred objects, now and then through every
    object of the server, and made the zoom's slowest answers twice its usual time.
    """
    with collector_paused():
        return _steps(layer, j, inputs, w, b, upstream, target, activation, upstream_from)


def _steps(layer, j, inputs, w, b, upstream, target, activation, upstream_from):
    root, parts = neuron_graph(layer, j, inputs, w, b, target, activation)
    if target is not None:
        seed = 1.0
        start = f"∂C/∂C_{j} = 1: C is the sum of the outputs' costs C_j, so each adds one for one."
    else:
        seed = float(upstream)
        why = ("what the cost sent back: the cross-entropy's softmax minus the target, for this output."
               if upstream_from == "cost" else
               "what the layers above sent back (each neuron above wishes this activation moved, in proportion "
               "to its weight; summed).")
        start = f"∂C/∂{root.label} = {number(seed)}: {why}"
    data = stepper(root, seed, cost="C", start=start, summary=False)
    numbers = {
        "z": parts["z"].data, "a": parts["a"].data,
        "da": parts["a"].grad, "dz": parts["z"].grad, "db": parts["bias"][0].grad,
        "dw": [v.grad for v in parts["weights"]], "da_below": [v.grad for v in parts["inputs"]],
    }
    return data["steps"], numbers
