"""The README's Python examples run as written, in order, and print what their comments say.

A newcomer copies them one after another into one session, so they run here in one namespace, in
a scratch directory (they write files). A line `print(...)  # EXPECTED: words` must print exactly
EXPECTED. Examples that need what the tests cannot have offline (MNIST, the model `make demo` trains) are
left out, and so are those that need PyTorch where it is not installed.
"""
import contextlib
import importlib.util
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
CHECKED_PRINT = re.compile(r"^(\s*)print\((.*)\)\s*#\s*([-+\w.\s]+?)(?::.*)?$")
# What an example uses -> the module it needs; None: what the tests cannot have (the network, the demo's model).
NEEDS = {"torch": "torch", "load_mnist": None, "runs/mnist/": None}


def examples():
    return BLOCK.findall(README.read_text(encoding="utf-8"))


def checked(block):
    """The block with each `print(x)  # expected` turned into a check that x prints as expected."""
    lines = []
    for line in block.splitlines():
        match = CHECKED_PRINT.match(line)
        if match:
            indent, arguments, expected = match.groups()
            line = f"{indent}_expect({expected.strip()!r}, {arguments})"
        lines.append(line)
    return "\n".join(lines)


def runnable(block):
    for word, module in NEEDS.items():
        if word in block and (module is None or importlib.util.find_spec(module) is None):
            return False
    return True


def test_the_readme_has_examples_with_checked_output():
    blocks = examples()
    assert len(blocks) >= 4
    assert sum(1 for b in blocks for line in b.splitlines() if CHECKED_PRINT.match(line)) >= 3


def test_every_example_runs_in_order_and_prints_what_it_says(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    mismatches = []

    def expect(expected, *values):
        shown = " ".join(str(v) for v in values)
        if shown != expected:
            mismatches.append(f"printed {shown!r}, the README says {expected!r}")

    namespace = {"_expect": expect}
    ran = 0
    for block in examples():
        if not runnable(block):
            continue
        with contextlib.redirect_stdout(io.StringIO()):
            exec(compile(checked(block), str(README), "exec"), namespace)
        ran += 1
    assert ran >= 4
    assert mismatches == []


def test_a_wrong_comment_is_caught():
    """The checker itself: a comment that disagrees with the output is reported."""
    mismatches = []
    namespace = {"_expect": lambda expected, *v: mismatches.append(expected) if " ".join(map(str, v)) != expected else None}
    exec(checked("print(1 + 1)  # 3: wrong on purpose"), namespace)
    exec(checked("print(2 + 2)  # 4"), namespace)
    assert mismatches == ["3"]
