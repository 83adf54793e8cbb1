"""The notebook tour, executed as a reader would (nbclient), on a machine without Graphviz's `dot`.

Its last section reads a real MNIST digit, so it runs with the end-to-end tests (`make e2e`, which
CI runs): the data comes through nn.data, from the cache or fetched once. Every claim the text
makes is checked against what the cells printed, and the drawing, an HTML output laid out by the
vendored WebAssembly Graphviz, is opened in Chromium to see that it really draws.
"""
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from conftest import missing

pytestmark = pytest.mark.skipif(os.environ.get("SEEBACKPROP_E2E") != "1", reason="set SEEBACKPROP_E2E=1 (make e2e)")

NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "tour.ipynb"


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """The notebook after running every cell, with `dot` out of the kernel's reach."""
    try:
        import nbformat
        from nbclient import NotebookClient
    except ImportError:
        missing("nbclient and nbformat are not installed (pip install -e '.[test]')")
    no_programs = tmp_path_factory.mktemp("no-programs")  # a PATH holding no `dot`
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    probe = nbformat.v4.new_code_cell(PROBE, metadata={"tags": ["probe"]})  # reads the picture's colour scale
    notebook.cells.insert(notebook.cells.index(cell(notebook, "picture")) + 1, probe)
    old_path = os.environ["PATH"]
    os.environ["PATH"] = str(no_programs)  # the kernel inherits it
    try:
        NotebookClient(notebook, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    finally:
        os.environ["PATH"] = old_path
    out = tmp_path_factory.mktemp("notebook") / "tour.ipynb"
    nbformat.write(notebook, out)
    return notebook, out


PROBE = """if "image" in globals():  # the picture cell's handle on what plt.imshow drew
    print("cmap", image.get_cmap().name, "vmin", image.norm.vmin, "vmax", image.norm.vmax,
          "largest", float(abs(image.get_array()).max()), "colour bar", image.colorbar is not None)
else:
    print("the picture cell keeps no handle (image = plt.imshow(...)) to read its colour scale from")"""


def cell(notebook, tag):
    [found] = [c for c in notebook.cells if tag in c.get("metadata", {}).get("tags", [])]
    return found


def printed(notebook, tag):
    return "".join(o.get("text", "") for o in cell(notebook, tag).outputs if o.output_type == "stream")


def test_no_cell_fails_and_the_numbers_are_as_the_text_says(executed):
    notebook, _ = executed
    for c in notebook.cells:
        assert not [o for o in c.get("outputs", []) if o.output_type == "error"], c.source
    assert printed(notebook, "value").split() == ["-3.0", "-4.0"]
    assert printed(notebook, "steps").strip().endswith("a.grad = -3.0  b.grad = -4.0")
    first, last = map(float, re.search(r"loss: ([\d.]+) at the first step, ([\d.]+) at the last",
                                       printed(notebook, "mlp")).groups())
    assert first > 1.0 and last < 0.1
    wants = re.findall(r"output (\d): ([\d.]+), wants (up|down) +([+-][\d.]+)", printed(notebook, "nudges"))
    assert [int(d) for d, *_ in wants] == list(range(10))
    assert [w for _, _, w, _ in wants] == ["up" if d == 2 else "down" for d in range(10)]
    for _, activation, _, nudge in wants:  # -∂C/∂a = -2(a - y): in proportion to the distance from the target
        assert 0.0 < float(activation) < 1.0 and abs(float(nudge)) > 0.0
    worst = float(re.search(r"chain rule: ([\d.e+-]+)", printed(notebook, "check")).group(1))
    assert worst < 1e-12
    assert any("image/png" in o.get("data", {}) for o in cell(notebook, "picture").outputs)
    # the last cell opens the explorer inline: a widget view (tests/test_explore_notebook.py draws on one)
    assert any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in cell(notebook, "explorer").outputs)


def test_the_weight_nudge_picture_is_centred_on_zero_with_a_colour_bar(executed):
    notebook, _ = executed
    probe = printed(notebook, "probe").split()
    values = dict(zip(probe[::2], probe[1::2]))  # cmap RdBu vmin -x vmax x largest x colour bar True
    assert values["cmap"] in ("RdBu", "RdBu_r", "bwr", "coolwarm", "seismic")
    assert float(values["vmin"]) == -float(values["vmax"]) == -float(values["largest"]) != 0.0
    assert probe[-1] == "True"


def numbers(line):
    return [float(x) for x in re.findall(r"[+-]\d+\.\d+(?:e[+-]\d+)?", line.split(":", 1)[1])]


def test_every_outputs_wishes_summed_are_the_engines_gradient(executed):
    notebook, _ = executed
    lines = printed(notebook, "wishes").splitlines()
    wish, summed, engine = (numbers(line) for line in lines[:3])
    assert len(wish) == len(summed) == len(engine) == 16
    assert summed == engine  # as printed, to three decimals
    assert wish != summed  # the nine other outputs' wishes change the sum
    assert float(re.search(r"the sum and backward\(\): ([\d.e+-]+)", lines[3]).group(1)) < 1e-12


def test_the_average_of_the_examples_gradients_is_the_minibatchs(executed):
    notebook, _ = executed
    text = printed(notebook, "minibatch")
    wants = re.search(r"what each wants of w\(3\)_2,\d+: (.*) average ([+-][\d.e+-]+)", text)
    each, average = wants.group(1).split(), wants.group(2)
    half_ulp = lambda printed: 0.05 * 10.0 ** int(printed.split("e")[1])  # +1.2e-03 is within 0.05e-03
    assert len(each) == 8
    assert np.mean([float(x) for x in each]) == pytest.approx(  # the printed average is the average, as rounded
        float(average), abs=np.mean([half_ulp(x) for x in each]) + half_ulp(average))
    assert float(re.search(r"the average and the batch's backward\(\): ([\d.e+-]+)", text).group(1)) < 1e-12


def test_the_tour_points_to_the_explorer(executed):
    notebook, _ = executed
    assert any("python -m nn.explore" in c.source for c in notebook.cells if c.cell_type == "markdown")


def test_the_drawing_is_an_html_output_that_carries_the_renderer_once(executed):
    notebook, saved = executed
    [output] = cell(notebook, "drawing").outputs
    html = output["data"]["text/html"]
    assert "seebackprop.drawDot" in html and "DecompressionStream" in html
    dot = output["data"]["text/plain"]
    assert "grad -3.0000" in dot and "grad -4.0000" in dot
    carrying = [c for c in notebook.cells for o in c.get("outputs", []) if "DecompressionStream" in json.dumps(o)]
    assert carrying == [cell(notebook, "drawing")]  # the renderer is embedded once per notebook
    assert saved.stat().st_size < 800_000
    print(f"saved notebook with outputs: {saved.stat().st_size:,} bytes")


def test_the_drawing_appears_in_chromium(executed, browser, tmp_path):
    """All of the notebook's HTML outputs in one page, as Jupyter shows them: the SVG must appear."""
    notebook, _ = executed
    outputs = [o["data"]["text/html"] for c in notebook.cells for o in c.get("outputs", [])
               if "text/html" in o.get("data", {})]
    page_file = tmp_path / "outputs.html"
    page_file.write_text("<!DOCTYPE html><meta charset='utf-8'><body>" + "\n".join(outputs), encoding="utf-8")
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(page_file.as_uri())
    page.wait_for_selector(".seebackprop-graph svg", timeout=20_000)
    text = page.eval_on_selector(".seebackprop-graph svg", "svg => svg.textContent")
    page.screenshot(path=str(tmp_path / "drawing.png"))
    for shown in ("a", "b", "c", "data 2.0000", "grad -3.0000", "data -3.0000", "grad -4.0000"):
        assert shown in text
    assert errors == []
