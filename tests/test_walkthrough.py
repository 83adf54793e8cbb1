"""The walkthrough must say what the backward pass really did, in numbers a reader can check by hand."""
import contextlib
import html
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import graphviz
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from autodiff import Value, render
from autodiff.graph import topological_order
from autodiff.walkthrough import EXAMPLES, frames, main, names, walk, write_html

REPO = Path(__file__).resolve().parent.parent

# An edge line ends "= <∂C/∂node> × <local derivative> = <contribution>"; negatives are bracketed.
EDGE = re.compile(r"^  ∂.+ \+?= ∂.+ · ∂.+ = (\S+) × (\S+) = (\S+)$")


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
    for step, text, _ in walk(root):
        lines = text.splitlines()
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


def test_the_neuron_matches_the_video_formulas():
    """∂C/∂w0 = a0 · σ'(z) · 2(a - y), written out by hand."""
    root = EXAMPLES["neuron"]()
    leaf = {node.label: node.data for node in topological_order(root) if not node._children}
    z = leaf["w0"] * leaf["a0"] + leaf["w1"] * leaf["a1"] + leaf["b"]
    a = 1 / (1 + math.exp(-z))
    by_hand = leaf["a0"] * a * (1 - a) * 2 * (a - leaf["y"])
    *_, (step, text, _) = walk(root)
    line = next(line for line in text.splitlines() if line.startswith("  ∂C/∂w0 = ∂C/∂z · ∂z/∂w0"))
    assert close(read(line.rsplit("= ", 1)[1]), by_hand)


def test_every_interior_node_has_a_readable_name():
    x, y = Value(2.0, "x"), Value(3.0, "y")
    difference = x - y
    long = Value.weighted_sum([x, y], [y, x], difference)
    root = (long * 2).tanh()
    name = names(topological_order(root))
    assert name[difference] == "x - y"
    assert name[long] == f"w·x+b = {long.data:.4g}"  # too long to spell out: its op and value
    assert all(name[node] for node in name)


def test_bad_roots_get_clear_errors():
    with pytest.raises(TypeError, match="needs a Value"):
        next(walk(3.0))
    with pytest.raises(ValueError, match="is a leaf"):
        next(walk(Value(1.0, "w")))


def run(*args, stdin=subprocess.DEVNULL):
    return subprocess.run(
        [sys.executable, "-m", "autodiff.walkthrough", *args],
        cwd=REPO, stdin=stdin, capture_output=True, text=True, encoding="utf-8", timeout=120,
    )


@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_the_command_line_prints_one_explanation_per_step(example):
    interior = sum(1 for node in topological_order(EXAMPLES[example]()) if node._children)
    result = run("--all", "--example", example)
    assert result.returncode == 0, result.stderr
    headers = re.findall(r"^Step (\d+) / (\d+):", result.stdout, flags=re.MULTILINE)
    assert headers == [(str(k), str(interior)) for k in range(1, interior + 1)]


def test_the_command_line_does_not_wait_when_stdin_is_closed():
    result = run()  # no --all: it would wait for Enter, but stdin is at its end
    assert result.returncode == 0, result.stderr
    assert "Step 4 / 4:" in result.stdout and "Done." in result.stdout


def test_each_step_waits_for_its_enter(monkeypatch):
    """Stepping shows step k only after the k-th Enter."""
    out = io.StringIO()
    steps_shown_at_each_enter = []

    class Keyboard:
        def readline(self):
            steps_shown_at_each_enter.append(out.getvalue().count("\nStep "))
            return "\n"

    monkeypatch.setattr(sys, "stdin", Keyboard())
    with contextlib.redirect_stdout(out):
        main(["--example", "network"])
    assert steps_shown_at_each_enter == list(range(8))
    assert out.getvalue().count("\nStep ") == 8


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


@pytest.mark.needs("dot")
@pytest.mark.parametrize("example", sorted(EXAMPLES))
def test_each_frame_highlights_its_step_and_shows_the_gradients_known_so_far(example):
    root = EXAMPLES[example]()
    pictures = frames(root)
    steps = [step for step, _, _ in walk(root)]
    assert len(pictures) == len(steps)
    nodes = topological_order(root)
    parents = {node: [] for node in nodes}
    for node in nodes:
        for child in node._children:
            parents[child].append(node)
    passed_on = set()
    for step, (dot, explanation) in zip(steps, pictures):
        boxes = drawn_nodes(graphviz.Source(dot).pipe(format="svg", encoding="utf-8"))
        assert [i for i, (classes, _) in boxes.items() if "highlight" in classes] == [f"node-{step.node._id}"]
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


def test_the_page_is_self_contained_and_holds_every_frame(tmp_path):
    root = EXAMPLES["network"]()
    path = tmp_path / "steps.html"
    assert write_html(root, path) == 8
    page = path.read_text(encoding="utf-8")
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", page, flags=re.IGNORECASE)
    assert not re.search(r"<script[^>]*\ssrc\s*=|<link\b|<iframe\b|@import|url\(\s*['\"]?\s*(https?:)?//", page)
    assert "step 1 / 8" in page
    steps = json.loads(re.search(r"const steps = (.*);\n", page).group(1))
    assert [(s["dot"], s["text"]) for s in steps] == frames(root)  # every frame, as DOT for the browser
    assert render.renderer_script() in page  # and the Graphviz that lays them out, inline
    assert [p.name for p in tmp_path.iterdir()] == ["steps.html"]  # no temporary file left behind


def test_a_failed_drawing_leaves_the_old_page_alone(tmp_path, monkeypatch):
    path = tmp_path / "steps.html"
    path.write_text("the old page")

    def broken(*args, **kwargs):
        raise RuntimeError("dot crashed")

    monkeypatch.setattr(render, "draw", broken)
    with pytest.raises(RuntimeError, match="dot crashed"):
        write_html(EXAMPLES["neuron"](), path)
    assert path.read_text() == "the old page"
    assert [p.name for p in tmp_path.iterdir()] == ["steps.html"]


def test_the_command_line_writes_the_page(tmp_path):
    path = tmp_path / "out.html"
    result = run("--html", str(path))
    assert result.returncode == 0, result.stderr
    page = path.read_text(encoding="utf-8")
    assert len(json.loads(re.search(r"const steps = (.*);\n", page).group(1))) == 4
