"""How long a GIF of the walkthrough's network example takes to export, three ways, side by side:

    python benchmarks/slides_export.py [--repeat 3] [--example network]

1. `python -m autodiff.walkthrough --example network --gif steps.gif` with the system's `dot` (the reference);
2. the same command on a PATH without `dot`: the frames laid out and drawn by the pages' own Graphviz in
   Chromium (a browser started for the run);
3. the stepper page's "Save walk (GIF)" button, from the click to the file saved, in a page already open
   (the frames drawn and encoded in the browser, gifenc).

Each is the real entry point as a user starts it: a fresh process for 1 and 2 (Python's start, the
imports, the walk, the drawing, the GIF). The three run in turn, --repeat rounds; the median of each
is printed beside its ratio to 1, with the machine's load average. Needs `dot`, Debian's chromium and
the playwright package (the test extra).
"""
import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from autodiff import chromium  # noqa: E402
from autodiff.walkthrough import EXAMPLES, write_html  # noqa: E402


def load():
    return os.getloadavg()[0]


def path_without(folder, program):
    """A PATH of links to every program on this one's, but `program`."""
    folder.mkdir()
    for directory in os.environ["PATH"].split(os.pathsep):
        if os.path.isdir(directory):
            for entry in os.scandir(directory):
                if entry.name != program and not (folder / entry.name).exists():
                    (folder / entry.name).symlink_to(entry.path)
    return str(folder)


def command(example, out, path):
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "autodiff.walkthrough", "--example", example, "--gif", str(out)],
                   cwd=ROOT, check=True, capture_output=True, env={**os.environ, "PATH": path})
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--example", choices=EXAMPLES, default="network")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        tmp = Path(tmp)
        without_dot = path_without(tmp / "bin", "dot")
        page_file = tmp / "steps.html"
        write_html(EXAMPLES[args.example](), page_file)
        browser = chromium.launch(p)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(page_file.as_uri())
        page.wait_for_selector('#stepper[data-shown="1"] svg')

        def button():
            start = time.perf_counter()
            with page.expect_download(timeout=120_000) as download:
                page.click("#step-gif")
            download.value.save_as(tmp / "button.gif")
            return time.perf_counter() - start

        ways = {
            "--gif with dot (reference)": lambda: command(args.example, tmp / "dot.gif", os.environ["PATH"]),
            "--gif without dot: Chromium": lambda: command(args.example, tmp / "chromium.gif", without_dot),
            "page button Save walk (GIF)": button,
        }
        times = {name: [] for name in ways}
        loads = []
        for _ in range(args.repeat):
            for name, way in ways.items():
                times[name].append(way())
                loads.append(load())
        browser.close()
    reference = statistics.median(times["--gif with dot (reference)"])
    print(f"GIF of the walkthrough's {args.example} example, median of {args.repeat} (load average 1 min during: "
          f"{min(loads):.2f}-{max(loads):.2f})")
    for name, samples in times.items():
        median = statistics.median(samples)
        print(f"  {name:<30} {median:6.2f} s   x{median / reference:4.2f}   "
              f"(runs: {', '.join(f'{t:.2f}' for t in samples)})")


if __name__ == "__main__":
    main()
