"""The explorer's speed: the server's answer to a stroke, the page's frame time, training in the page, page weight.

    python benchmarks/explorer.py            # needs Debian's chromium and playwright for the page's figures

1. A stroke on the pad: p95 of 500 POST /api/example requests carrying a drawing (preprocessing,
   forward pass, every nudge by backward(), the numpy check, JSON), over one keep-alive
   connection, measured at the client: target < 10 ms. Again while training runs in the background.
2. The page's frame time in Chromium while a stroke is drawn: from the pad's report to the picture
   drawn (round trip included), and the drawing alone: target < 50 ms.
3. Training in the page (the server's background thread, with the page open and polling) against
   demos/train_mnist.py's training (nn.train.train) on the same settings: an epoch each, test
   accuracy included, side by side in this process, taking turns: target >= 80%.
4. Page weight: the bytes the page loads, and the size of the answers it polls for.

Timing does not depend on the pixel values, so the digits are random bytes of MNIST's shape, as in
fast_vs_pytorch.py: no download. Each figure is the best of several samples (noise only adds time).
"""
import argparse
import base64
import http.client
import json
import os
import sys
import threading
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # as the demo does

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from autodiff import chromium  # noqa: E402
from nn.explore.server import ExplorerServer, page_files  # noqa: E402
from nn.explore.session import Session  # noqa: E402
from nn.explore.training import BATCH_SIZE, LEARNING_RATE, SEED  # noqa: E402
from nn.train import COSTS  # noqa: E402
from nn.fast import FastMLP  # noqa: E402
from nn.optim import SGD  # noqa: E402
from nn.train import train  # noqa: E402



def random_mnist(seed=0):
    rng = np.random.default_rng(seed)
    return (rng.integers(0, 256, (60_000, 784), dtype=np.uint8), rng.integers(0, 10, 60_000),
            rng.integers(0, 256, (10_000, 784), dtype=np.uint8), rng.integers(0, 10, 10_000))


def a_stroke(side=112):
    """The ink of a drawn "7" on the pad, as the page sends it: side x side bytes, in base64."""
    ink = np.zeros((side, side))
    ink[20:30, 25:85] = 1.0
    for row in range(30, 95):
        column = 85 - (row - 30) * 0.6
        ink[row, int(column) - 5:int(column) + 5] = 1.0
    return base64.b64encode((255 * ink).astype(np.uint8).tobytes()).decode()


def percentile(values, p):
    return float(np.percentile(values, p))


def stroke_latency(server, requests):
    """Milliseconds per POST /api/example with a drawing, over one keep-alive connection."""
    host, port = server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=30)
    body = json.dumps({"drawing": {"size": 112, "ink": a_stroke()}, "target": 7}).encode()
    times = []
    for _ in range(requests):
        start = time.perf_counter()
        connection.request("POST", "/api/example", body, {"Content-Type": "application/json"})
        response = connection.getresponse()
        answer = response.read()
        times.append(1000 * (time.perf_counter() - start))
        assert response.status == 200, answer[:200]
    connection.close()
    return np.array(times), len(body), len(answer)


def demo_epoch_seconds(data):
    """One epoch of demos/train_mnist.py's training (nn.train.train, its settings), test accuracy included."""
    net = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid", seed=SEED)
    optimizer = SGD(net.parameters(), lr=LEARNING_RATE)
    start = time.perf_counter()
    train(net, optimizer, COSTS["squared"], data, epochs=1, batch_size=BATCH_SIZE, seed=SEED)
    return time.perf_counter() - start


def page_epoch_seconds(session, page, polls):
    """One epoch of the explorer's background training, started by the page's Train button, test
    accuracy included: (seconds, the page's updates per second meanwhile, from its first)."""
    session.switch("untrained")
    trainer = session.trainer
    page.wait_for_timeout(1200)  # the page has seen the switch
    start = time.perf_counter()
    page.click("#train")
    while len(trainer.accuracy) < 2:  # epoch 0's accuracy, then epoch 1's
        time.sleep(0.005)
    trainer.pause()
    end = time.perf_counter()
    seen = [t for t in polls if start <= t <= end]
    rate = (len(seen) - 1) / (seen[-1] - seen[0]) if len(seen) > 2 else 0.0
    return end - start, rate


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--rounds", type=int, default=3, help="of --requests each")
    parser.add_argument("--samples", type=int, default=4, help="epochs of each training, taking turns")
    args = parser.parse_args()
    session = Session(random_mnist())
    server = ExplorerServer(session, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(f"load average before: {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")

    # 1. a stroke: the server's answer
    stroke_latency(server, 20)  # warm up
    rounds = {"idle": [], "while training": []}
    for _ in range(args.rounds):  # the best round of each: other programs on the machine only add time
        idle, request_size, answer_size = stroke_latency(server, args.requests)
        rounds["idle"].append(idle)
        session.trainer.start()
        rounds["while training"].append(stroke_latency(server, args.requests)[0])
        session.trainer.pause()
    print(f"\n1. stroke -> forward + every nudge, {args.requests} requests, best of {args.rounds} rounds "
          f"(request {request_size / 1e3:.0f} kB, answer {answer_size / 1e3:.0f} kB), round trip on 127.0.0.1:")
    for name, samples in rounds.items():
        times = min(samples, key=lambda t: percentile(t, 95))
        print(f"   {name:15s} p50 {percentile(times, 50):5.2f} ms  p95 {percentile(times, 95):5.2f} ms  "
              f"max {times.max():6.2f} ms   target p95 < 10 ms {'PASS' if percentile(times, 95) < 10 else 'MISS'}")

    # 2-4 need the page in a browser
    try:
        from playwright.sync_api import sync_playwright

        browser_path = chromium.executable()
    except (ImportError, chromium.ChromiumNotFound):
        print("\n2-4 skipped: they need Debian's chromium and the playwright package")
        return
    with sync_playwright() as p:
        browser = chromium.launch(p, browser_path)
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        loaded = {}
        page.on("response", lambda response: loaded.setdefault(response.url, response))
        polls = []  # when the server was asked for the network's state, by the page

        def state(since=0, answer=session.state):
            polls.append(time.perf_counter())
            return answer(since)

        session.state = state
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        page.wait_for_timeout(1500)

        # 2. frame time while drawing
        frame_samples = []
        for sample in range(3):
            page.evaluate("window.explorerTimings = []")
            box = page.locator("#pad").bounding_box()
            page.mouse.move(box["x"] + 60, box["y"] + 40)
            page.mouse.down()
            for i in range(120):
                page.mouse.move(box["x"] + 60 + i, box["y"] + 40 + (i * 1.3) % 150)
                page.wait_for_timeout(8)
            page.mouse.up()
            page.wait_for_timeout(300)
            frame_samples.append(page.evaluate("window.explorerTimings"))
        best = min(frame_samples, key=lambda timings: percentile([t["render"] for t in timings], 95))
        total, render = [t["total"] for t in best], [t["render"] for t in best]
        print(f"\n2. the page's frame time while drawing ({len(best)} frames, best of {len(frame_samples)} strokes):")
        print(f"   answer -> picture on screen (next frame)     p50 {percentile(render, 50):5.1f} ms  "
              f"p95 {percentile(render, 95):5.1f} ms   target < 50 ms {'PASS' if percentile(render, 95) < 50 else 'MISS'}")
        print(f"   pad's report -> picture (round trip too)     p50 {percentile(total, 50):5.1f} ms  p95 {percentile(total, 95):5.1f} ms")

        # 3. training speed, with the page open (polling 5 times a second while training)
        demo, explorer, rates = [], [], []
        data = (session.trainer.train_images, session.trainer.train_labels,
                session.trainer.test_images, session.trainer.test_labels)
        for sample in range(args.samples):
            def in_the_page():
                seconds, rate = page_epoch_seconds(session, page, polls)
                explorer.append(seconds)
                rates.append(rate)

            runs = [lambda: demo.append(demo_epoch_seconds(data)), in_the_page]
            for run in runs[::1 if sample % 2 == 0 else -1]:  # taking turns to go first
                run()
                page.wait_for_timeout(300)  # the page catches up between samples
        updates = page.evaluate("window.explorerTraining.costs.length")
        ratio = min(demo) / min(explorer)
        print(f"\n3. one epoch of training, 60,000 digits in batches of {BATCH_SIZE}, SGD at {LEARNING_RATE:g}, "
              f"test accuracy included (best of {args.samples}):")
        print(f"   demos/train_mnist.py (nn.train.train)  {min(demo):5.2f} s   (samples: {', '.join(f'{s:.2f}' for s in demo)})")
        print(f"   the explorer, page open                {min(explorer):5.2f} s   (samples: {', '.join(f'{s:.2f}' for s in explorer)})")
        print(f"   the explorer's speed: {ratio:.0%} of the demo's   target >= 80% {'PASS' if ratio >= 0.8 else 'MISS'}   "
              f"(the page plotted {updates:,} costs)")
        print(f"   the page's updates while training: {max(rates):.1f} a second (samples: "
              f"{', '.join(f'{r:.1f}' for r in rates)})   target >= 4 {'PASS' if max(rates) >= 4 else 'MISS'}")

        # 4. page weight
        own = sum(path.stat().st_size for url, path in page_files().items() if url != "/" and "/vendor/" not in url)
        vendor = sum(path.stat().st_size for url, path in page_files().items() if "/vendor/" in url)
        transferred = {url: len(response.body()) for url, response in list(loaded.items())
                       if response.ok and "/api/" not in url}
        state = len(page.evaluate("fetch('/api/state?since=0').then(r => r.text())"))
        print("\n4. page weight (uncompressed):")
        print(f"   the page's own files {own / 1e3:6.1f} kB; vendored Graphviz (WebAssembly) and draw_dot.js "
              f"{vendor / 1e6:.2f} MB; loaded in all: {sum(transferred.values()) / 1e6:.2f} MB in {len(transferred)} files")
        print(f"   answers: /api/state {state / 1e3:.0f} kB (weights included), /api/example {answer_size / 1e3:.0f} kB")
        browser.close()
    server.shutdown()
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
