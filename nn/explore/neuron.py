"""Zoom into one neuron: its scalar graph w·x + b → σ, and its backward pass a step at a time.

The graph is built from Values with the layer's numbers, so that the scalar engine works out the
same gradients the layer view shows: for an output neuron the graph ends in its part of the cost,
C_j = (a_j - y_j)², and the backward pass starts there with 1 (∂C/∂C_j = 1, since C is the sum of
the C_j); for a hidden neuron it starts at a_j with ∂C/∂a_j, the gradient the layers above it
sent back. Each step comes with the DOT text that autodiff.render writes, which the page lays out
with the vendored WebAssembly Graphviz, and the chain rule in words and numbers, in the
walkthrough's notation.
"""
from collections import Counter

from autodiff import Value
from autodiff.graph import topological_order
from autodiff.render import draw
from autodiff.step import backward_steps
from autodiff.walkthrough import _grouped, factor, local_rule, names, number

SHOWN_PER_ROLE = 4  # of a neuron's 784 weights, the text names the few that matter most
DRAWN_NODES = 24  # more, and the drawing groups a neuron's weights and its inputs: readable on a projector


def neuron_graph(layer, j, inputs, w, b, target=None, activation="sigmoid"):
    """(root, leaves by role): Values for neuron j of `layer`, fed the activations `inputs` of the layer below,
    through its layer's activation (sigmoid, tanh, relu, or linear: none)."""
    below = layer - 1
    a_in = [Value(float(x), f"a({below})_{k}") for k, x in enumerate(inputs)]
    ws = [Value(float(x), f"w({layer})_{j},{k}") for k, x in enumerate(w)]
    bias = Value(float(b), f"b({layer})_{j}")
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
    """The backward pass through neuron j, step by step: [{"dot", "text", "node"}], and the numbers it ends with.

    Give `target` for an output neuron under the squared error (the graph then ends in its cost),
    `upstream` = ∂C/∂a_j for a hidden one, or for an output under the cross-entropy, which is no sum
    of one cost per output (upstream_from="cost").
    """
    root, parts = neuron_graph(layer, j, inputs, w, b, target, activation)
    seed = 1.0 if target is not None else float(upstream)
    nodes = topological_order(root)
    name = names(nodes)
    cost = "C"
    uses = Counter(child for node in nodes for child in node._children)
    total = sum(1 for node in nodes if node._children)
    known = {root: seed}
    frames = []
    for step in backward_steps(root, seed):
        lines = [f"Step {step.index + 1} / {total}: {name[step.node]} = {number(step.node.data)}, "
                 f"made by {step.node.op} from {_children(step.node, name)}"]
        if step.index == 0 and target is not None:
            lines.append(f"∂{cost}/∂{name[root]} = 1: C is the sum of the outputs' costs C_j, so each adds one for one.")
        elif step.index == 0:
            lines.append(f"∂{cost}/∂{name[root]} = {number(seed)}: " + (
                "what the cost sent back: the cross-entropy's softmax minus the target, for this output."
                if upstream_from == "cost" else
                "what the layers above sent back (each neuron above wishes this activation moved, in proportion "
                "to its weight; summed)."))
        else:
            lines.append(f"∂{cost}/∂{_grouped(name[step.node])} = {number(step.grad)} is complete.")
        lines.append("The chain rule passes it on to each child, times the child's local derivative:")
        lines += _chain_rule_lines(step, name, cost)
        for edge in step.edges:
            uses[edge.child] -= 1
            if uses[edge.child] == 0:
                known[edge.child] = edge.after
        rule = local_rule(step.node.op)
        if rule:
            lines.append(f"  ({step.node.op}: {rule})")
        source = draw(root, highlight=step.node, grads=known, max_nodes=DRAWN_NODES).source
        frames.append({"dot": source, "text": "\n".join(lines), "node": name[step.node]})
    numbers = {
        "z": parts["z"].data, "a": parts["a"].data,
        "da": parts["a"].grad, "dz": parts["z"].grad, "db": parts["bias"][0].grad,
        "dw": [v.grad for v in parts["weights"]], "da_below": [v.grad for v in parts["inputs"]],
    }
    return frames, numbers


def _children(node, name):
    children = [name[c] for c in node._children]
    if len(children) > 7:  # a neuron's 784 weights and inputs
        n = (len(children) - 1) // 2
        return f"{n} weights, {n} inputs and a bias"
    return ", ".join(children)


def _chain_rule_lines(step, name, cost):
    """One line per child; for a weighted sum with many inputs, the bias and the largest few of each role."""
    edges = list(step.edges)
    hidden = 0
    if len(edges) > 2 * SHOWN_PER_ROLE + 1:
        n = (len(edges) - 1) // 2
        weights, inputs, bias = edges[:n], edges[n:2 * n], edges[2 * n:]
        largest = lambda group: sorted(group, key=lambda e: -abs(e.contribution))[:SHOWN_PER_ROLE]  # noqa: E731
        hidden = len(edges) - 2 * SHOWN_PER_ROLE - 1
        edges = bias + largest(weights) + largest(inputs)
    parent = _grouped(name[step.node])
    lines = [f"  ∂{cost}/∂{_grouped(name[e.child])} = ∂{cost}/∂{parent} · ∂{parent}/∂{_grouped(name[e.child])}"
             f" = {number(step.grad)} × {factor(e.local)} = {number(e.contribution)}" for e in edges]
    if hidden:
        lines.append(f"  … and {hidden} more weights and inputs, the same way (the largest are shown)")
    return lines
