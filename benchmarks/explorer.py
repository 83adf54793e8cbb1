"""The explorer's speed as a user starts it: every endpoint's answer time, and training in the page against the demo's.

    python benchmarks/explorer.py                 # about 3 minutes on 2 cores
    python benchmarks/explorer.py --requests 100 --no-browser

The server is the real command, `python -m nn.explore --port 0 --no-browser`, in its own process
with this process's environment: its BLAS threads are whatever nn/threads.py chooses there (or
your OPENBLAS_NUM_THREADS, if you set one). The digits are random bytes of MNIST's shape, written
as IDX files for --data-dir (timing does not depend on the pixels): no download.

1. Every endpoint: p50, p95 and the slowest of --requests requests, one after another over one
   keep-alive connection, round trip measured here. Target: p95 <= 10 ms, /api/neuron on layer 1
   <= 20 ms (its scalar graph has 784 inputs).
2. Training: steps a second of the explorer's training (POST /api/train start, then /api/state
   polled five times a second, as the page does) against demos/train_mnist.py's (its epoch
   seconds from --metrics-json), each the real command in its own process, taking turns; and the
   explorer again with numpy's default threads (OPENBLAS_NUM_THREADS set to the number of cores),
   as it ran before nn/threads.py.
3. The page in Chromium: the time from the pad's report to the answer drawn, while drawing.

Each part runs on the machine as it is, then again with one core kept busy by a process this
script starts (a Python loop): the load of a shared machine, or of a learner's other programs.
The load average is printed beside each state: on a shared machine, the figures say as much about
the others as about the explorer.
"""
import argparse
import base64
import contextlib
import gzip
import http.client
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nn.data import IDX_FILES, IMAGES_MAGIC, LABELS_MAGIC  # noqa: E402
from nn import threads  # noqa: E402


def load():
    return f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores"


def write_random_mnist(directory, seed=0):
    """Random digits as the four IDX files (gzipped) that --data-dir reads."""
    rng = np.random.default_rng(seed)
    arrays = {"train_images": rng.integers(0, 256, (60_000, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, 60_000, dtype=np.uint8),
              "test_images": rng.integers(0, 256, (10_000, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, 10_000, dtype=np.uint8)}
    for key, (name, _) in IDX_FILES.items():
        array = arrays[key]
        magic = IMAGES_MAGIC if array.ndim == 3 else LABELS_MAGIC
        header = np.array([magic, *array.shape], dtype=">u4").tobytes()
        (directory / (name + ".gz")).write_bytes(gzip.compress(header + array.tobytes(), compresslevel=1))
    return directory


@contextlib.contextmanager
def explorer(data_dir, env=None):
    """`python -m nn.explore` as a user starts it (in env, else this environment); yields (host, port)."""
    command = [sys.executable, "-m", "nn.explore", "--port", "0", "--no-browser", "--data-dir", str(data_dir)]
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, text=True, env=env)
    try:
        for line in process.stdout:
            found = re.search(r"http://([\d.]+):(\d+)/", line)
            if found:
                break
        else:
            raise SystemExit(f"the explorer did not start: {' '.join(command)}")
        yield found.group(1), int(found.group(2))
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def a_busy_core(busy):
    """A process spinning on one core while the block runs (nothing if busy is False)."""
    if not busy:
        yield
        return
    spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    time.sleep(1.0)  # it has its core
    try:
        yield
    finally:
        spinner.kill()
        spinner.wait()


class Connection:
    def __init__(self, host, port):
        self.connection = http.client.HTTPConnection(host, port, timeout=60)

    def ask(self, method, path, body=None):
        """(milliseconds, status, answer) of one request."""
        data = None if body is None else json.dumps(body).encode()
        headers = {"Content-Type": "application/json"} if body is not None else {}
        start = time.perf_counter()
        self.connection.request(method, path, data, headers)
        response = self.connection.getresponse()
        answer = response.read()
        return 1000 * (time.perf_counter() - start), response.status, answer


def a_stroke(side=112):
    """The ink of a drawn "7" on the pad, as the page sends it: side x side bytes, in base64."""
    ink = np.zeros((side, side))
    ink[20:30, 25:85] = 1.0
    for row in range(30, 95):
        column = 85 - (row - 30) * 0.6
        ink[row, int(column) - 5:int(column) + 5] = 1.0
    return base64.b64encode((255 * ink).astype(np.uint8).tobytes()).decode()


PIXELS = {"pixels": (np.random.default_rng(1).integers(0, 256, 784) / 255).tolist(), "target": 3}
ENDPOINTS = [  # (name, method, path, body, target p95 in ms)
    ("GET  / (the page)", "GET", "/", None, 10),
    ("GET  /js/main.js", "GET", "/js/main.js", None, 10),
    ("GET  /vendor/viz-global.js (1.4 MB)", "GET", "/vendor/viz-global.js", None, 10),
    ("GET  /api/state (weights and all)", "GET", "/api/state", None, 10),
    ("GET  /api/state?since=<steps> (a poll)", "GET", "/api/state?since={steps}", None, 10),
    ("POST /api/example pixels", "POST", "/api/example", PIXELS, 10),
    ("POST /api/example drawing (a stroke)", "POST", "/api/example", {"drawing": {"size": 112, "ink": a_stroke()}, "target": 7}, 10),
    ("POST /api/digit by index", "POST", "/api/digit", {"set": "test", "index": 17}, 10),
    ("POST /api/digit by label", "POST", "/api/digit", {"set": "train", "label": 7, "start": 5000}, 10),
    ("POST /api/digit one it gets wrong", "POST", "/api/digit", {"set": "test", "wrong": True, "start": 3}, 10),
    ("POST /api/neuron layer 1", "POST", "/api/neuron", {**PIXELS, "layer": 1, "neuron": 3}, 20),
    ("POST /api/neuron layer 2", "POST", "/api/neuron", {**PIXELS, "layer": 2, "neuron": 3}, 10),
    ("POST /api/neuron layer 3", "POST", "/api/neuron", {**PIXELS, "layer": 3, "neuron": 3}, 10),
    ("POST /api/average 8 test digits", "POST", "/api/average",
     {"examples": [{"set": "test", "index": i} for i in range(8)]}, 10),
    ("POST /api/average a batch of 100", "POST", "/api/average", {"examples": [], "fill": 100}, 10),
    ("GET  /api/model (the weights' hash)", "GET", "/api/model", None, 10),
    ("POST /api/train untrained (reset)", "POST", "/api/train", {"action": "untrained"}, 10),
    ("POST /api/train step", "POST", "/api/train", {"action": "step"}, 10),
    ("GET  /api/batch (the mini-batch table)", "GET", "/api/batch", None, 10),
    ("POST /api/train start", "POST", "/api/train", {"action": "start"}, 10),
    ("POST /api/train pause", "POST", "/api/train", {"action": "pause"}, 10),
]


def endpoint_times(host, port, requests):
    """{name: milliseconds of each request}: start and pause alternate, as a page's buttons do."""
    connection = Connection(host, port)
    times = {name: [] for name, *_ in ENDPOINTS}
    steps = json.loads(connection.ask("GET", "/api/state")[2])["training"]["steps"]
    for _ in range(3):  # warm up
        for name, method, path, body, _ in ENDPOINTS:
            connection.ask(method, path.format(steps=steps), body)
    for _ in range(requests):  # endpoints in turn, so that a busy moment of the machine is shared out
        for name, method, path, body, _ in ENDPOINTS:
            ms, status, answer = connection.ask(method, path.format(steps=steps), body)
            if status != 200:
                raise SystemExit(f"{name}: {status} {answer[:200]!r}")
            times[name].append(ms)
    connection.ask("POST", "/api/train", {"action": "pause"})
    return times


def explorer_steps_per_second(host, port, seconds):
    """Training in the explorer, with /api/state polled five times a second as the page does."""
    connection = Connection(host, port)
    connection.ask("POST", "/api/train", {"action": "untrained"})
    first = json.loads(connection.ask("POST", "/api/train", {"action": "start"})[2])["training"]["steps"]
    start = time.perf_counter()
    steps = first
    while time.perf_counter() - start < seconds:
        time.sleep(0.2)
        steps = json.loads(connection.ask("GET", f"/api/state?since={steps}")[2])["training"]["steps"]
    elapsed = time.perf_counter() - start
    connection.ask("POST", "/api/train", {"action": "pause"})
    return (steps - first) / elapsed


def demo_steps_per_second(data_dir, epochs=2):
    """demos/train_mnist.py's training as a user runs it, from its best epoch (600 steps of 100)."""
    with tempfile.TemporaryDirectory() as out:
        metrics = Path(out) / "metrics.json"
        subprocess.run([sys.executable, "demos/train_mnist.py", "--epochs", str(epochs), "--data-dir", str(data_dir),
                        "--out", out, "--metrics-json", str(metrics)], cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        seconds = min(epoch["seconds"] for epoch in json.loads(metrics.read_text())["epochs"])
    return 600 / seconds


def frame_times(url, strokes=3):
    """(answer -> picture, pad's report -> picture) in ms, from the page's own timings, best of several strokes."""
    from playwright.sync_api import sync_playwright

    from autodiff import chromium

    with sync_playwright() as p:
        browser = chromium.launch(p)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        page.goto(url)
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        samples = []
        for _ in range(strokes):
            page.evaluate("window.explorerTimings = []")
            box = page.locator("#pad").bounding_box()
            page.mouse.move(box["x"] + 60, box["y"] + 40)
            page.mouse.down()
            for i in range(120):
                page.mouse.move(box["x"] + 60 + i, box["y"] + 40 + (i * 1.3) % 150)
                page.wait_for_timeout(8)
            page.mouse.up()
            page.wait_for_timeout(300)
            samples.append(page.evaluate("window.explorerTimings"))
        browser.close()
    best = min(samples, key=lambda timings: np.percentile([t["render"] for t in timings], 95))
    return [t["render"] for t in best], [t["total"] for t in best]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200, help="of each endpoint, in each state")
    parser.add_argument("--seconds", type=float, default=8, help="of each sample of the explorer's training")
    parser.add_argument("--samples", type=int, default=2, help="of each training, taking turns")
    parser.add_argument("--no-browser", action="store_true", help="skip the page's frame time (needs chromium)")
    args = parser.parse_args()
    print(f"python -m nn.explore in its own process; {threads.user_set() or 'no BLAS thread setting in the environment: nn/threads.py chooses'}")
    with tempfile.TemporaryDirectory() as scratch:
        data_dir = write_random_mnist(Path(scratch))
        for busy in (False, True):
            state = "one core kept busy by this benchmark" if busy else "the machine as it is"
            with a_busy_core(busy), explorer(data_dir) as (host, port):
                print(f"\n=== {state}: {load()} ===")
                times = endpoint_times(host, port, args.requests)
                print(f"1. answer times, {args.requests} requests each over one keep-alive connection ({load()}):")
                print(f"   {'endpoint':42s} {'p50':>7s} {'p95':>7s} {'max':>7s}   target p95")
                for name, *_, target in ENDPOINTS:
                    ms = np.array(times[name])
                    p95 = np.percentile(ms, 95)
                    print(f"   {name:42s} {np.percentile(ms, 50):5.1f}ms {p95:5.1f}ms {ms.max():5.0f}ms   <= {target:2d} ms "
                          f"{'PASS' if p95 <= target else 'MISS'}")
                page, demo, default = [], [], []

                def with_default_threads():
                    env = {**os.environ, "OPENBLAS_NUM_THREADS": str(os.cpu_count())}
                    with explorer(data_dir, env) as (other_host, other_port):
                        default.append(explorer_steps_per_second(other_host, other_port, args.seconds))

                turns = [lambda: page.append(explorer_steps_per_second(host, port, args.seconds)),
                         lambda: demo.append(demo_steps_per_second(data_dir)), with_default_threads]
                for sample in range(args.samples):
                    for turn in turns[sample % 3:] + turns[:sample % 3]:  # each goes first in turn
                        turn()
                print(f"2. training steps a second (batches of 100), best of {args.samples}, taking turns ({load()}):")
                print(f"   python -m nn.explore, polled as the page does  {max(page):6.0f}   "
                      f"(samples {', '.join(f'{s:.0f}' for s in page)})")
                print(f"   demos/train_mnist.py                           {max(demo):6.0f}   "
                      f"(samples {', '.join(f'{s:.0f}' for s in demo)})")
                print(f"   python -m nn.explore, {os.cpu_count()} BLAS threads (before)   {max(default):6.0f}   "
                      f"(samples {', '.join(f'{s:.0f}' for s in default)})")
                print(f"   the explorer's speed: {max(page) / max(demo):.0%} of the demo's "
                      f"({max(default) / max(demo):.0%} with {os.cpu_count()} threads)")
                if not args.no_browser:
                    try:
                        render, total = frame_times(f"http://{host}:{port}/")
                    except Exception as error:  # no chromium or playwright here
                        print(f"3. skipped: {error}")
                    else:
                        print(f"3. the page while drawing ({len(render)} frames; {load()}): answer -> picture "
                              f"p50 {np.percentile(render, 50):.1f} ms, p95 {np.percentile(render, 95):.1f} ms "
                              f"(target < 50 ms); pad's report -> picture p50 {np.percentile(total, 50):.1f} ms, "
                              f"p95 {np.percentile(total, 95):.1f} ms")


if __name__ == "__main__":
    main()
