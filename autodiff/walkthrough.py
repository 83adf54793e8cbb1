"""A backward pass, one node at a time, explained: in the terminal, as SVG frames, as a web page.

    python -m autodiff.walkthrough                    # press Enter for each step
    python -m autodiff.walkthrough --example network  # a 2-2-1 network instead of one neuron
    python -m autodiff.walkthrough --all              # every step at once
    python -m autodiff.walkthrough --html steps.html  # a page to step through in a browser

The examples are those of 3Blue1Brown's "What is backpropagation really doing?": a sigmoid neuron
a = σ(z), z = w0·a0 + w1·a1 + b, and its cost C = (a - y)² against a target y; then a small
network of such neurons. At each step one node's gradient ∂C/∂node is complete, and the chain rule
passes it to the node's children: ∂C/∂child = ∂C/∂node · ∂node/∂child.
"""
import argparse
import html
import sys
from collections import Counter

from .files import atomic_write
from .graph import topological_order
from .step import backward_steps
from .value import Value

# --- the examples ---


def neuron():
    """The video's one neuron and its cost: C = (σ(w0·a0 + w1·a1 + b) - y)²."""
    weights = [Value(0.6, "w0"), Value(-0.4, "w1")]
    inputs = [Value(0.9, "a0"), Value(0.3, "a1")]
    z = Value.weighted_sum(weights, inputs, Value(0.1, "b"))
    z.label = "z"
    a = z.sigmoid()
    a.label = "a"
    return _cost(a, target=1.0)


def network():
    """A 2-2-1 sigmoid network and its cost, labelled as in the video: a(layer)_neuron, w(layer)_to,from."""
    inputs = [Value(0.9, "a(0)_0"), Value(0.3, "a(0)_1")]
    hidden = _layer(1, inputs, weights=[[0.6, -0.4], [0.2, 0.8]], biases=[0.1, -0.3])
    (out,) = _layer(2, hidden, weights=[[1.2, -0.7]], biases=[0.05])
    return _cost(out, target=1.0)


def _layer(number, inputs, weights, biases):
    """Sigmoid neurons, one per row of weights, each node labelled with its layer and place."""
    outputs = []
    for j, (row, bias) in enumerate(zip(weights, biases)):
        ws = [Value(w, f"w({number})_{j}{k}") for k, w in enumerate(row)]
        z = Value.weighted_sum(ws, inputs, Value(bias, f"b({number})_{j}"))
        z.label = f"z({number})_{j}"
        a = z.sigmoid()
        a.label = f"a({number})_{j}"
        outputs.append(a)
    return outputs


def _cost(output, target):
    cost = (output - Value(target, "y")) ** 2  # a - y stays unlabelled: names() shows how it reads
    cost.label = "C"
    return cost


EXAMPLES = {"neuron": neuron, "network": network}

# --- names and numbers as the text shows them ---


def names(nodes):
    """A readable name for each node: its label; else how it was made, e.g. "a - y"; else its op and value.

    `nodes` must come children first (a topological order), so that a node can be named after its
    children.
    """
    name = {}
    for node in nodes:
        if node.label:
            name[node] = node.label
        elif not node._children:
            name[node] = f"{node.data:g}"  # a constant, like the 1 in 1 - x
        else:
            expression = _expression(node.op, [_grouped(name[child]) for child in node._children])
            name[node] = expression if len(expression) <= 24 else f"{node.op} = {node.data:.4g}"
    return name


def _expression(op, children):
    if op in ("+", "-", "*", "/", "**"):
        return f" {op} ".join(children)
    if op.startswith("**"):  # a power by a number, like **2: one child
        return f"{children[0]}{op}"
    return f"{op}({', '.join(children)})"


def _grouped(name):
    """Brackets around a name that has spaces in it, so that ∂C/∂(a - y) reads as one thing."""
    return f"({name})" if " " in name else name


def number(x):
    return f"{x:.4g}"


def factor(x):
    """A number to write after × or +: in brackets when negative, as in 0.5 × (-2)."""
    return number(x) if x >= 0 else f"({number(x)})"


def local_rule(op):
    """In words, the local derivatives of an op: what each child's share is multiplied by."""
    if op.startswith("**") and op != "**":
        n = op[2:]
        return f"∂(x**{n})/∂x = {n}·x**({n} - 1)"
    return LOCAL_RULES.get(op, "")


LOCAL_RULES = {
    "+": "∂(x + y)/∂x = ∂(x + y)/∂y = 1: a sum passes its gradient on unchanged",
    "-": "∂(x - y)/∂x = 1 and ∂(x - y)/∂y = -1",
    "*": "∂(x·y)/∂x = y: each factor's local derivative is the other factor",
    "/": "∂(x/y)/∂x = 1/y and ∂(x/y)/∂y = -x/y²",
    "**": "∂(x**y)/∂x = y·x**(y - 1) and ∂(x**y)/∂y = x**y·log(x)",
    "neg": "∂(-x)/∂x = -1",
    "exp": "exp'(x) = exp(x)",
    "log": "log'(x) = 1/x",
    "tanh": "tanh'(x) = 1 - tanh(x)²",
    "relu": "relu'(x) = 1 where x > 0, else 0",
    "sigmoid": "σ'(x) = σ(x)·(1 - σ(x))",
    "w·x+b": "∂z/∂wᵢ = aᵢ (a weight matters as much as its input), ∂z/∂aᵢ = wᵢ, ∂z/∂b = 1",
}

# --- the walk ---


def describe(root):
    """The graph as text, inputs first: each node's name, value, and the op and children it came from."""
    nodes = topological_order(root)
    name = names(nodes)
    width = max(len(name[node]) for node in nodes)
    lines = [f"The graph of {name[root]}, inputs first:"]
    for node in nodes:
        made = f"{node.op} of {', '.join(name[c] for c in node._children)}" if node._children else "leaf"
        lines.append(f"  {name[node]:<{width}}  = {node.data:<10.4g}  {made}")
    return "\n".join(lines)


def walk(root):
    """Backpropagate from `root` one node at a time, explaining each step.

    Yields (step, explanation, known): `known` maps every node whose gradient is final after this
    step to that gradient, as render.draw(grads=...) takes it. Like backward(), this leaves every
    node's .grad filled in, but for this pass alone: leaves start from zero too, so that the numbers
    shown add up.
    """
    if not isinstance(root, Value):
        raise TypeError(f"walkthrough needs a Value to backpropagate from, got {type(root).__name__}")
    if not root._children:
        raise ValueError(f"nothing to step through: {root!r} is a leaf, not computed from anything")
    nodes = topological_order(root)
    name = names(nodes)
    uses = Counter(child for node in nodes for child in node._children)
    uses_left = Counter(uses)  # a gradient is final once every use has passed its share back
    total = sum(1 for node in nodes if node._children)
    for node in nodes:
        if not node._children:
            node.grad = 0.0  # leaves keep gradients across backward() calls: start this pass from zero
    known = {root: 1.0}
    for step in backward_steps(root, 1.0):
        lines = _header(step, total, name, name[root])
        for edge in step.edges:
            uses_left[edge.child] -= 1
            lines += _chain_rule(step, edge, name, name[root], uses[edge.child], uses_left[edge.child])
            if uses_left[edge.child] == 0:
                known[edge.child] = edge.after
        rule = local_rule(step.node.op)
        if rule:
            lines.append(f"  ({step.node.op}: {rule})")
        yield step, "\n".join(lines), dict(known)


def _header(step, total, name, cost):
    node = step.node
    children = ", ".join(name[child] for child in node._children)
    lines = [f"Step {step.index + 1} / {total}: {name[node]} = {number(node.data)}, made by {node.op} from {children}"]
    if step.index == 0:
        lines.append(f"∂{cost}/∂{cost} = 1: the backward pass starts here, seeded with 1.")
    else:
        lines.append(
            f"∂{cost}/∂{_grouped(name[node])} = {number(step.grad)} is complete: "
            "every node that uses it has passed its share back."
        )
    lines.append("The chain rule passes it on to each child, times the child's local derivative:")
    return lines


def _chain_rule(step, edge, name, cost, uses, uses_left):
    """One child's share, in symbols and in numbers; and, for a child used more than once, its sum so far."""
    parent, child = _grouped(name[step.node]), _grouped(name[edge.child])
    total = f"∂{cost}/∂{child}"
    sign = "=" if uses == 1 else "+="
    lines = [
        f"  {total} {sign} ∂{cost}/∂{parent} · ∂{parent}/∂{child}"
        f" = {number(step.grad)} × {factor(edge.local)}"
        f" = {number(edge.contribution)}"
    ]
    if uses > 1 and uses_left == uses - 1:
        lines.append(f"      ({child} is used {uses} times: its gradient sums {uses} shares, this is the first)")
    elif uses > 1:
        done = "complete" if uses_left == 0 else "so far"
        lines.append(
            f"      ({child} had {number(edge.before)} from an earlier use; this adds to it:"
            f" {total} = {number(edge.before)} + {factor(edge.contribution)} = {number(edge.after)}, {done})"
        )
    return lines


def leaf_gradients(root):
    """The last word of a walkthrough: what gradient descent would nudge, and by how much."""
    nodes = topological_order(root)
    name = names(nodes)
    lines = [f"Done. The gradient of {name[root]} with respect to each leaf, which training nudges against:"]
    lines += [f"  ∂{name[root]}/∂{_grouped(name[n])} = {number(n.grad)}" for n in nodes if not n._children]
    return "\n".join(lines)


# --- frames and a page to step through them ---


def frames(root):
    """One (dot, explanation) per step: the graph, as DOT text, with the step's node highlighted and
    every gradient known so far filled in. A page lays the DOT out in the browser; `dot` need not exist."""
    from .render import draw  # only here: the terminal walkthrough needs no drawing

    return [(draw(root, highlight=step.node, grads=known).source, explanation) for step, explanation, known in walk(root)]


def write_html(root, path):
    """Write a web page that steps through frames(root) to `path`, atomically; return the number of steps.

    The page needs no server, no network and no Graphviz installed: the frames (as DOT), the style,
    the script and the WebAssembly Graphviz that lays the frames out are all inline.
    """
    from .render import _script_json, renderer_script

    steps = frames(root)
    title = f"Backpropagation through {names(topological_order(root))[root]}, one node at a time"
    data = _script_json([{"dot": dot, "text": text} for dot, text in steps])
    text = PAGE.format(title=html.escape(title), count=len(steps), steps=data, renderer=renderer_script())
    atomic_write(path, lambda file: file.write(text.encode("utf-8")))
    return len(steps)


# Each frame is laid out by the browser the first time it is shown, then kept: stepping back is instant.
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
  body {{ font-family: system-ui, sans-serif; margin: 1.5em; }}
  nav {{ display: flex; gap: 1em; align-items: center; margin-bottom: 1em; }}
  button {{ font-size: 1em; padding: 0.3em 1em; }}
  .frame svg {{ max-width: 100%; height: auto; }}  /* graphs drawn left to right are wide: fit the page */
  pre {{ font-size: 0.95em; line-height: 1.5; white-space: pre-wrap; }}
</style>
</head>
<body>
<h1>{title}</h1>
<nav>
  <button id="prev">&larr; Prev</button>
  <span id="counter">step 1 / {count}</span>
  <button id="next">Next &rarr;</button>
  <span>(or the &larr; &rarr; keys)</span>
</nav>
<div id="view"><div class="frame"></div><pre></pre></div>
<script>{renderer}</script>
<script>
  const steps = {steps};
  const frame = document.querySelector("#view .frame");
  const explanation = document.querySelector("#view pre");
  const drawn = [];  // the <svg> of each step, once laid out
  let current = 0;

  async function show(index) {{
    current = Math.max(0, Math.min(steps.length - 1, index));
    const step = current;
    document.getElementById("counter").textContent = `step ${{step + 1}} / ${{steps.length}}`;
    document.getElementById("prev").disabled = step === 0;
    document.getElementById("next").disabled = step === steps.length - 1;
    explanation.textContent = steps[step].text;
    if (!drawn[step]) {{
      const scratch = document.createElement("div");
      drawn[step] = await seebackprop.drawDot(scratch, steps[step].dot);
    }}
    if (step === current) {{  // the reader may have moved on while this frame was laid out
      frame.replaceChildren(drawn[step]);
      document.getElementById("view").dataset.shown = step + 1;
    }}
  }}

  document.getElementById("prev").addEventListener("click", () => show(current - 1));
  document.getElementById("next").addEventListener("click", () => show(current + 1));
  document.addEventListener("keydown", (event) => {{
    if (event.key === "ArrowLeft") show(current - 1);
    if (event.key === "ArrowRight") show(current + 1);
  }});
  show(0);
</script>
</body>
</html>
"""


# --- the command line ---


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="python -m autodiff.walkthrough", description="Step through a backward pass, one node at a time."
    )
    parser.add_argument("--example", choices=EXAMPLES, default="neuron", help="which graph (default: neuron)")
    parser.add_argument("--all", action="store_true", help="print every step without waiting for Enter")
    parser.add_argument("--html", metavar="PATH", help="write a page that steps through the frames, and stop")
    args = parser.parse_args(argv)
    root = EXAMPLES[args.example]()
    if args.html:
        try:
            count = write_html(root, args.html)
        except OSError as error:
            sys.exit(f"cannot write {args.html}: {error}")
        print(f"wrote {args.html}: {count} steps; open it in a browser")
        return
    print(describe(root))
    waiting = not args.all
    if waiting:
        print("\nPress Enter for each step.")
    for _, explanation, _ in walk(root):
        if waiting and not sys.stdin.readline():
            waiting = False  # stdin is closed: show the rest without waiting for it
        print()
        print(explanation)
    print()
    print(leaf_gradients(root))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:  # Ctrl-C is how one stops stepping: no traceback for it
        sys.exit(130)
