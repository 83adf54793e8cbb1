"""The walkthrough must say what the backward pass really did, in numbers a reader can check by hand."""
import contextlib
import html
import io
import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import graphviz
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import Value, render, walkthrough
from autodiff.graph import topological_order
from autodiff.walkthrough import EXAMPLES, frames, leaf_gradients, local_rule, main, names, trainable, walk, write_html

REPO = Path(__file__).resolve().parent.parent

# An edge line ends "= <∂C/∂node> × <local derivative> = <contribution>"; negatives are bracketed.
# The first step's lines have no symbols before the numbers: ∂C/∂C · ∂C/∂x would read circularly.
EDGE = re.compile(r"^  ∂.+ \+?= (?:∂.+ · ∂.+ = )?(\S+) × (\S+) = (\S+)$")


def read(number):
    return float(number.strip("()"))


def close(shown, exact):
    """Equal to the 4 significant digits the text shows."""
    return math.isclose(shown, exact, rel_tol=1e-3, abs_tol=1e-12)


def explained_edges(text):
    """(∂C/∂node, local, contribution) for each chain-rule line of one step's explanation."""
    return [tuple(read(x) for x in EDGE.match(line).groups()) for line in text.splitlines() if EDGE.match(line)]


# --- an evaluator of the forward pass in plain floats, to differentiate numerically ---


def _weighted_sum(xs):
    n = (len(xs) - 1) // 2
    return sum(w * a for w, a in zip(xs[:n], xs[n : 2 * n])) + xs[-1]


FORWARD = {
    "+": lambda xs: xs[0] + xs[1],
    "-": lambda xs: xs[0] - xs[1],
    "*": lambda xs: xs[0] * xs[1],
    "**2": lambda xs: xs[0] ** 2,
    "sigmoid": lambda xs: 0.5 * (1.0 + math.tanh(xs[0] / 2)),  # the same function, never overflows
    "tanh": lambda xs: math.tanh(xs[0]),
    "w·x+b": _weighted_sum,
}


def evaluate(root, nudged=None, h=0.0):
    value = {}
    for node in topological_order(root):
        if node._children:
            value[node] = FORWARD[node.op]([value[child] for child in node._children])
        else:
            value[node] = node.data + (h if node is nudged else 0.0)
    return value[root]


def numerical_derivative(root, leaf, h=1e-6):
    return (evaluate(root, leaf, h) - evaluate(root, leaf, -h)) / (2 * h)


# --- random graphs in which nodes are used more than once ---


@st.composite
def graphs(draw):
    """A graph of +, -, *, sigmoid, tanh over a few labelled leaves; any node may be reused."""
    count = draw(st.integers(1, 4))
    nodes = [Value(draw(st.floats(-2, 2)), f"x{i}") for i in range(count)]
    for _ in range(draw(st.integers(1, 8))):
        op = draw(st.sampled_from(["+", "-", "*", "sigmoid", "tanh"]))
        x = draw(st.sampled_from(nodes))
        if op in ("sigmoid", "tanh"):
            nodes.append(getattr(x, op)())
        else:
            y = draw(st.sampled_from(nodes))
            nodes.append({"+": x + y, "-": x - y, "*": x * y}[op])
    if not nodes[-1]._children:
        nodes.append(nodes[-1] * nodes[-1])
    return nodes[-1]


def check_walk(root):
    """Every number the text shows agrees with the Steps, and every leaf's shares add up to its derivative."""
    shares = {}
    seen = set()
    cost = names(topological_order(root))[root]
    cost = f"({cost})" if " " in cost else cost
    for step, text, _ in walk(root):
        lines = text.splitlines()
        if step.node is root:
            assert f"∂{cost}/∂{cost} ·" not in text  # the first step does not read in a circle
        assert "**" not in text  # mathematics, not Python
        explained = explained_edges(text)
        assert len(explained) == len(step.edges)
        for (grad, local, contribution), edge in zip(explained, step.edges):
            assert close(grad, step.grad) and close(local, edge.local)
            assert close(contribution, edge.local * step.grad)
            assert math.isclose(contribution, grad * local, rel_tol=2e-3, abs_tol=1e-12)  # the sum adds up
            shares.setdefault(edge.child, []).append(contribution)
        # a child that already had a share in this pass is said to have one, with that share's total
        notes = [line for line in lines if "from an earlier use" in line]
        earlier = []
        for edge in step.edges:
            if edge.child in seen:
                earlier.append(edge)
            seen.add(edge.child)
        assert len(notes) == len(earlier)
        for note, edge in zip(notes, earlier):
            assert f"had {edge.before:.4g} from an earlier use" in note
    # the shares were shown to 4 digits, and finite differences lose digits to the largest value
    scale = max(abs(node.data) for node in topological_order(root))
    for leaf, contributions in shares.items():
        if not leaf._children:
            tolerance = 1e-3 * (1 + sum(map(abs, contributions))) + 1e-8 * scale
            assert abs(sum(contributions) - numerical_derivative(root, leaf)) <= tolerance


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_explained_numbers_agree_with_the_steps_and_with_finite_differences(example):
    check_walk(EXAMPLES[example]())


@settings(max_examples=60, deadline=None)
@given(graphs())
def test_explained_numbers_agree_on_random_graphs_with_reuse(root):
    check_walk(root)


def sigmoid(x):
    return 1 / (1 + math.exp(-x))


def test_the_neuron_matches_the_video_formulas():
    """∂C/∂w(1)_00 = a(0)_0 · σ'(z) · 2(a - y), written out by hand."""
    root = EXAMPLES["neuron"]()
    leaf = {node.label: node.data for node in topological_order(root) if not node._children}
    z = leaf["w(1)_00"] * leaf["a(0)_0"] + leaf["w(1)_01"] * leaf["a(0)_1"] + leaf["b(1)_0"]
    a = sigmoid(z)
    by_hand = leaf["a(0)_0"] * a * (1 - a) * 2 * (a - leaf["y_0"])
    *_, (step, text, _) = walk(root)
    start = "  ∂C/∂w(1)_00 = ∂C/∂z(1)_0 · ∂z(1)_0/∂w(1)_00"
    line = next(line for line in text.splitlines() if line.startswith(start))
    assert close(read(line.rsplit("= ", 1)[1]), by_hand)


def test_in_the_network_a_hidden_activation_sums_the_wishes_of_both_outputs():
    """C = Σ_j (a(2)_j - y_j)² over two outputs, and ∂C/∂a(1)_k = Σ_j w(2)_jk σ'(z(2)_j) 2(a(2)_j - y_j),
    written out by hand."""
    root = EXAMPLES["network"]()
    v = {node.label: node.data for node in topological_order(root) if node.label}
    a1 = [sigmoid(v[f"w(1)_{j}0"] * v["a(0)_0"] + v[f"w(1)_{j}1"] * v["a(0)_1"] + v[f"b(1)_{j}"]) for j in (0, 1)]
    z2 = [v[f"w(2)_{j}0"] * a1[0] + v[f"w(2)_{j}1"] * a1[1] + v[f"b(2)_{j}"] for j in (0, 1)]
    a2 = [sigmoid(z) for z in z2]
    assert math.isclose(root.data, sum((a2[j] - v[f"y_{j}"]) ** 2 for j in (0, 1)))  # the cost sums both outputs
    wishes = {k: [v[f"w(2)_{j}{k}"] * a2[j] * (1 - a2[j]) * 2 * (a2[j] - v[f"y_{j}"]) for j in (0, 1)] for k in (0, 1)}
    texts = "\n".join(text for _, text, _ in walk(root))
    for k in (0, 1):
        assert all(abs(wish) > 1e-3 for wish in wishes[k])  # both outputs want something of it
        shares = [read(m) for m in re.findall(rf"^  ∂C/∂a\(1\)_{k} \+= .* = (\S+)$", texts, flags=re.MULTILINE)]
        assert len(shares) == 2 and all(any(close(s, w) for s in shares) for w in wishes[k])
        total = re.search(rf"∂C/∂a\(1\)_{k} = \S+ \+ \S+ = (\S+), complete, the sum of all 2 shares", texts)
        assert close(read(total.group(1)), sum(wishes[k]))


def test_the_last_word_of_a_graph_without_neurons_lists_every_leaf():
    a, b = Value(2.0, "a"), Value(-3.0, "b")
    c = a * b + b**2
    for _ in walk(c):
        pass
    lines = leaf_gradients(c).splitlines()
    assert lines[1:] == ["  ∂(a·b + b²)/∂a = -3", "  ∂(a·b + b²)/∂b = -4"]  # ∂c/∂a = b, ∂c/∂b = a + 2b


def test_rules_are_written_as_mathematics():
    assert local_rule("**2") == "∂(x²)/∂x = 2x"
    assert local_rule("**3") == "∂(x³)/∂x = 3x²"
    assert local_rule("**-1") == "∂(x⁻¹)/∂x = -x⁻²"
    assert local_rule("**0.5") == "∂(x^0.5)/∂x = 0.5·x^(-0.5)"
    name = names(topological_order(EXAMPLES["network"]()))
    assert "(a(2)_0 - y_0)²" in name.values()


SUPERSCRIPT_DIGITS = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")


def as_python(rule):
    """The right-hand side of a power rule, as a Python expression in x: 3x² -> 3*x**(2)."""
    expression = rule.split(" = ", 1)[1].replace("·", "*").replace("^", "**")
    expression = re.sub(r"([⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+)", lambda m: f"**({m.group(1).translate(SUPERSCRIPT_DIGITS)})", expression)
    return re.sub(r"(\d)x", r"\1*x", expression)


@settings(max_examples=60, deadline=None)
@given(st.one_of(st.integers(-6, 6).map(float), st.floats(-4, 4).map(lambda n: round(n, 2))))
def test_a_power_rule_means_what_finite_differences_measure(n):
    x = 1.7
    rule = local_rule(f"**{n:g}")
    derivative = eval(as_python(rule), {"x": x})  # the rule as a reader would compute it by hand
    h = 1e-6
    assert math.isclose(derivative, ((x + h) ** n - (x - h) ** n) / (2 * h), rel_tol=1e-6, abs_tol=1e-8), rule


def test_every_interior_node_has_a_readable_name():
    x, y = Value(2.0, "x"), Value(3.0, "y")
    difference = x - y
    long = Value.weighted_sum([x, y], [y, x], difference)
    root = (long * 2).tanh()
    name = names(topological_order(root))
    assert name[difference] == "x - y"
    assert name[long] == f"w·x+b = {long.data:.4g}"  # too long to spell out: its op and value
    assert all(name[node] for node in name)


def test_bad_roots_get_clear_errors(tmp_path):
    with pytest.raises(TypeError, match="needs a Value"):
        next(walk(3.0))
    with pytest.raises(ValueError, match="is a leaf"):
        next(walk(Value(1.0, "w")))
    big = sum((Value(float(i)) for i in range(60)), Value(0.0))  # 121 values
    with pytest.raises(ValueError, match="all 121 values .* step through it with walk"):
        write_html(big, tmp_path / "big.html")
    assert list(tmp_path.iterdir()) == []


def run(*args, stdin=subprocess.DEVNULL, columns=None):
    env = {**os.environ, **({"COLUMNS": str(columns)} if columns else {})}
    return subprocess.run(
        [sys.executable, "-m", "autodiff.walkthrough", *args],
        cwd=REPO, stdin=stdin, capture_output=True, text=True, encoding="utf-8", timeout=120, env=env,
    )


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_command_line_prints_one_explanation_per_step(example):
    interior = sum(1 for node in topological_order(EXAMPLES[example]()) if node._children)
    result = run("--all", "--example", example)
    assert result.returncode == 0, result.stderr
    headers = re.findall(r"^Step (\d+) / (\d+):", result.stdout, flags=re.MULTILINE)
    assert headers == [(str(k), str(interior)) for k in range(1, interior + 1)]
    assert result.stdout.count("Done:") == 1


def test_the_command_line_does_not_wait_when_stdin_is_closed():
    result = run()  # no --all: it would wait for Enter, but stdin is at its end
    assert result.returncode == 0, result.stderr
    assert "Step 4 / 4:" in result.stdout and "Done:" in result.stdout


@pytest.mark.parametrize("columns", [40, 72])
def test_the_terminal_text_wraps_to_the_terminal_width(columns):
    result = run("--all", "--example", "network", columns=columns)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert max(map(len, lines)) <= columns
    assert max(map(len, lines)) >= columns - 12  # it fills the width, not some narrower default
    unwrapped = run("--all", "--example", "network", columns=10_000).stdout
    assert max(map(len, unwrapped.splitlines())) > 100  # so there was something to wrap
    assert result.stdout.split() == unwrapped.split()  # the same words, in the same order


class Keyboard:
    """A reader at the terminal: types each answer once the stepper asks, and notes what was shown by then."""

    def __init__(self, answers, out):
        self.answers, self.out, self.seen = list(answers), out, []

    def readline(self):
        self.seen.append(re.findall(r"^Step (\d+) /", self.out.getvalue(), flags=re.MULTILINE))
        return self.answers.pop(0) if self.answers else ""


def step(answers, monkeypatch, example="network"):
    out = io.StringIO()
    keyboard = Keyboard(answers, out)
    monkeypatch.setattr(sys, "stdin", keyboard)
    with contextlib.redirect_stdout(out):
        main(["--example", example])
    return keyboard.seen, out.getvalue()


def test_each_step_waits_for_its_enter(monkeypatch):
    """Stepping shows step k only after the k-th Enter, then the leaves' gradients."""
    seen, shown = step(["\n"] * 13 + ["\n"], monkeypatch)
    assert [len(s) for s in seen] == list(range(1, 14))
    assert shown.count("\nStep ") == 13 and shown.count("Done:") == 1


def test_the_reader_can_step_back_and_quit(monkeypatch):
    seen, shown = step(["n\n", "\n", "b\n", "p\n", "b\n", "x\n", "\n", "q\n", "\n"], monkeypatch)
    steps = re.findall(r"^Step (\d+) /", shown, flags=re.MULTILINE)
    assert steps == ["1", "2", "3", "2", "1", "2"]  # back at step 1 stays there; x is not understood
    assert "(this is the first step)" in shown and "'x'?" in shown
    assert len(seen) == 8  # it stopped asking at q
    assert "Done:" not in shown


@pytest.mark.parametrize("stdin", [None, "closed"])
def test_stepping_without_a_usable_stdin_shows_everything(monkeypatch, stdin):
    if stdin == "closed":
        stdin = io.StringIO()
        stdin.close()  # readline() raises ValueError
    monkeypatch.setattr(sys, "stdin", stdin)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        main([])
    assert out.getvalue().count("\nStep ") == 4 and "Done:" in out.getvalue()


# --- frames and the page ---

SVG = "{http://www.w3.org/2000/svg}"


def drawn_nodes(svg):
    """{svg id: (its classes, its text)} for every node box in a frame."""
    boxes = {}
    for group in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        if group.get("id", "").startswith("node-"):
            text = " | ".join(t.text or "" for t in group.iter(f"{SVG}text"))
            boxes[group.get("id")] = (group.get("class", "").split(), text)
    return boxes


def drawn_edges(svg):
    """{(tail id, head id): its classes} for every edge in a frame."""
    edges = {}
    for group in ElementTree.fromstring(svg).iter(f"{SVG}g"):
        if "edge" in group.get("class", "").split():
            tail, head = group.find(f"{SVG}title").text.split("->")
            edges[(tail, head)] = group.get("class").split()
    return edges


@pytest.mark.needs("dot")
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_each_frame_highlights_its_step_and_shows_the_gradients_known_so_far(example):
    root = EXAMPLES[example]()
    pictures = frames(root)
    steps = [step for step, _, _ in walk(root)]
    assert len(pictures) == len(steps) + 1  # and a last frame with every leaf's gradient
    nodes = topological_order(root)
    parents = {node: [] for node in nodes}
    for node in nodes:
        for child in node._children:
            parents[child].append(node)
    passed_on = set()
    for step, (dot, explanation) in zip(steps, pictures):
        svg = graphviz.Source(dot).pipe(format="svg", encoding="utf-8")
        boxes, edges = drawn_nodes(svg), drawn_edges(svg)
        me, op = f"node-{step.node._id}", f"op-{step.node._id}"
        children = {f"node-{child._id}" for child in step.node._children}
        assert [i for i, (classes, _) in boxes.items() if "highlight" in classes] == [me]
        assert {i for i, (classes, _) in boxes.items() if "updated" in classes} == children
        passing = {edge for edge, classes in edges.items() if "passing" in classes}
        assert passing == {(child, op) for child in children} | {(op, me)}
        assert explanation.startswith(f"Step {step.index + 1} / {len(steps)}:")
        passed_on.add(step.node)
        for node in nodes:
            # a gradient is known once every node that uses it has passed its share on
            known = node is root or all(parent in passed_on for parent in parents[node])
            grad = boxes[f"node-{node._id}"][1].rsplit("grad ", 1)[1]
            if known:
                assert math.isclose(float(grad), node.grad, abs_tol=1e-4)  # the final gradient
            else:
                assert grad == "?"


@pytest.mark.needs("dot")
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_last_frame_gives_every_leaf_its_gradient_and_marks_what_training_changes(example):
    root = EXAMPLES[example]()
    dot, text = frames(root)[-1]
    boxes = drawn_nodes(graphviz.Source(dot).pipe(format="svg", encoding="utf-8"))
    leaves = [node for node in topological_order(root) if not node._children]
    # independently of trainable(): the video's names say which leaves are weights and biases
    weights_and_biases = {leaf for leaf in leaves if leaf.label[0] in "wb"}
    assert trainable(root) == weights_and_biases and {leaf.label[0] for leaf in leaves} == {"w", "b", "a", "y"}
    for leaf in leaves:
        classes, box = boxes[f"node-{leaf._id}"]
        assert ("parameter" in classes) == (leaf in weights_and_biases) != ("data" in classes)
        assert math.isclose(float(box.rsplit("grad ", 1)[1]), numerical_derivative(root, leaf), abs_tol=1e-4)
    changed, fixed = text.split("The inputs and targets")
    for leaf in leaves:
        line = f"  ∂C/∂{leaf.label} = {leaf.grad:.4g}"
        assert line in (changed if leaf in weights_and_biases else fixed).splitlines()
    assert not any("highlight" in classes for classes, _ in boxes.values())


def test_the_page_is_self_contained_and_holds_every_frame(tmp_path):
    root = EXAMPLES["network"]()
    path = tmp_path / "steps.html"
    assert write_html(root, path) == 13
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.IGNORECASE)
    assert not re.search(r"<script[^>]*\ssrc\s*=|<link\b|<iframe\b|@import|url\(\s*['\"]?\s*(https?:)?//", page)
    assert "step 1 / 13" in page
    steps = json.loads(re.search(r"const steps = (.*);\n", page).group(1))
    assert [(s["dot"], s["text"]) for s in steps] == frames(root)  # every frame, as DOT for the browser
    assert [s["caption"] for s in steps] == [f"step {k} / 13" for k in range(1, 14)] + ["all gradients"]
    assert render.renderer_script() in page  # and the Graphviz that lays them out, inline
    assert [p.name for p in tmp_path.iterdir()] == ["steps.html"]  # no temporary file left behind


def test_the_page_explains_its_notation_once(tmp_path):
    path = tmp_path / "steps.html"
    write_html(EXAMPLES["network"](), path)
    page = path.read_text(encoding="utf-8")
    notation = re.findall(r'<details id="notation".*?</details>', page, flags=re.DOTALL)
    assert len(notation) == 1
    for symbol in ("a(l)_k", "w(l)_jk", "b(l)_j", "z(l)_j", "y_j", "C", "∂C/∂x"):
        assert page.count(f"<b>{symbol}</b>") == notation[0].count(f"<b>{symbol}</b>") == 1  # defined once
    labels = {node.label for node in topological_order(EXAMPLES["network"]()) if node.label}
    assert all(re.fullmatch(r"[awbz]\(\d\)_\d+|y_\d|C", label) for label in labels)  # what it explains is what is drawn


def test_a_failed_drawing_leaves_the_old_page_alone(tmp_path, monkeypatch):
    path = tmp_path / "steps.html"
    path.write_text("the old page")

    def broken(*args, **kwargs):
        raise RuntimeError("dot crashed")

    monkeypatch.setattr(walkthrough, "draw", broken)  # the drawing its frames are made with
    with pytest.raises(RuntimeError, match="dot crashed"):
        write_html(EXAMPLES["neuron"](), path)
    assert path.read_text() == "the old page"
    assert [p.name for p in tmp_path.iterdir()] == ["steps.html"]


def test_the_command_line_writes_the_page(tmp_path):
    path = tmp_path / "out.html"
    result = run("--html", str(path))
    assert result.returncode == 0, result.stderr
    page = path.read_text(encoding="utf-8")
    assert len(json.loads(re.search(r"const steps = (.*);\n", page).group(1))) == 4 + 1
