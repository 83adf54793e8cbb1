"""How long the vendored WebAssembly Graphviz takes to lay out our drawings in Chromium, beside the
system's `dot` laying out the same DOT text.

    python benchmarks/render_in_browser.py [--repeat 5]

Graphs: the walkthrough's neuron (small), its 2-2-1 network, an MLP(2, [8, 8, 1]) drawn node by
node (medium), a chain of 981 Values, and the video's MLP(784, [16, 16, 10]) as its layer
summary (13,881 Values drawn as 17 nodes). Each is laid out --repeat times in one page (Graphviz compiled once, as a page does), and
the fastest time is printed, as is the fastest of `dot -Tsvg` on the same text, when `dot` exists.
Needs Debian's chromium and the playwright package (the test extra).
"""
import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodiff import chromium  # noqa: E402
from autodiff import Value, draw  # noqa: E402
from autodiff.graph import topological_order  # noqa: E402
from autodiff.render import renderer_script  # noqa: E402
from autodiff.walkthrough import EXAMPLES  # noqa: E402
from nn.mlp import MLP  # noqa: E402



def chain(n):
    x = Value(0.5, "x")
    for i in range(n):
        x = x * 0.999 + 0.001
    return x


def graphs():
    """(name, number of Values, DOT text) for each graph, small to large."""
    mlp = MLP(2, [8, 8, 1])
    video = MLP(784, [16, 16, 10], activation="sigmoid", output="sigmoid")
    cases = [
        ("neuron (walkthrough)", EXAMPLES["neuron"](), {}),
        ("2-2-1 network (walkthrough)", EXAMPLES["network"](), {}),
        ("MLP(2, [8, 8, 1]), every node", mlp([0.5, -0.3]), {"max_nodes": 10_000}),
        ("a chain x = x·0.999 + 0.001, 245 times", chain(245), {"max_nodes": 10_000}),
        ("MLP(784, [16, 16, 10]), summarised", sum(video([0.5] * 784)), {}),
    ]
    return [(name, len(topological_order(root)), draw(root, **options).source) for name, root, options in cases]


def time_dot(source, repeat):
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(["dot", "-Tsvg"], input=source.encode(), capture_output=True, check=True)
        best = min(best, time.perf_counter() - start)
    return best


PAGE = """<!DOCTYPE html><meta charset="utf-8"><body><div id="graph"></div>
<script>%s</script>
<script>
async function timeAll(sources, repeat) {
  const element = document.getElementById("graph");
  const start = performance.now();
  await seebackprop.drawDot(element, "digraph { a -> b }");  // compiles Graphviz's WebAssembly
  const firstUse = performance.now() - start;
  const best = [];
  for (const source of sources) {
    let fastest = Infinity;
    for (let i = 0; i < repeat; i++) {
      const t = performance.now();
      await seebackprop.drawDot(element, source);
      fastest = Math.min(fastest, performance.now() - t);
    }
    best.push(fastest);
  }
  return {firstUse, best};
}
</script>"""


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    try:
        browser_path = chromium.executable()
    except chromium.ChromiumNotFound as error:
        sys.exit(str(error))
    cases = graphs()
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        page_file = Path(tmp) / "bench.html"
        page_file.write_text(PAGE % renderer_script(), encoding="utf-8")
        browser = chromium.launch(p, browser_path)
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(page_file.as_uri())
        loaded = time.perf_counter() - start
        result = page.evaluate("([s, r]) => timeAll(s, r)", [[dot for _, _, dot in cases], args.repeat])
        browser.close()
    have_dot = shutil.which("dot") is not None
    print(f"page load with the 1.3 MB renderer inline: {loaded:.2f} s; "
          f"first layout (compiles the WebAssembly): {result['firstUse'] / 1000:.2f} s")
    print(f"{'graph':<42} {'Values':>7} {'browser':>9} {'dot':>9} {'ratio':>7}")
    for (name, values, source), ms in zip(cases, result["best"]):
        browser_s = ms / 1000
        if have_dot:
            dot_s = time_dot(source, args.repeat)
            print(f"{name:<42} {values:>7,} {browser_s:>8.3f}s {dot_s:>8.3f}s {browser_s / dot_s:>6.2f}x")
        else:
            print(f"{name:<42} {values:>7,} {browser_s:>8.3f}s {'-':>9} {'-':>7}")


if __name__ == "__main__":
    main()
