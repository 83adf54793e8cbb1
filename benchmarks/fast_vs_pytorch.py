"""One epoch of MNIST-sized training: our fast path, a hand-written numpy floor, and PyTorch on the CPU.

All three train the same network with the same batch size, cost, optimizer and dtype (float32,
PyTorch's default) on the same 60,000 x 784 inputs, in this one process, taking turns.
Timing does not depend on the pixel values, so the inputs are random bytes: no download needed.

    pip install -r benchmarks/requirements.txt     # torch==2.13.0, never a dependency of the package
    python benchmarks/fast_vs_pytorch.py [--repeat N]

The floor is forward and backward written out by hand in numpy, with no graph: what any design
built on numpy pays for the arithmetic alone. Before timing, it must end with the same weights as
our network after the same batches (float64, to 1e-9), so that we know it does the same work. It
uses the fastest numpy we know for each part: a bias's gradient is a row of ones times g, as our
w·x+b rule's is (a BLAS product, 3x g.sum(axis=0) on a batch of 100), so no trick of ours is
counted as a gain over it.

PyTorch runs with its default threads (2 here), and again with one thread, as numpy has.
It prints seconds per epoch for each, our ratio to the floor and to PyTorch, and the fraction of
this machine's floating-point limit we reach: the multiply-adds of forward and backward per
epoch, against the GFLOP/s of a large numpy matmul measured in the same run. Then:
- the graph's own cost: a step of the small network's graph on tiny arrays (4-4-4-4, batch 2),
  where the arithmetic is almost nothing, ours against the floor: the microseconds per step that
  building, walking and checking the graph add, steadier than the epochs' ratio on a busy machine;
- an Adam epoch against a momentum epoch (ours, 784-128-10);
- for the wide layers, ours with 2 BLAS threads against 1 (threadpoolctl), on the machine as it
  is and with one more process spinning on a core: does a second thread pay, and when?
"""
import argparse
import functools
import math
import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

# As demos/train_mnist.py does: one BLAS thread for numpy (blas_threads() below measures why);
# PyTorch keeps its own threads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn.fast import FastMLP  # noqa: E402
from nn.losses import cross_entropy, squared_error  # noqa: E402
from nn.optim import SGD, Adam  # noqa: E402
from nn.train import compiled_step, squared_error_cost  # noqa: E402

try:
    import torch
except ImportError:
    sys.exit("PyTorch is not installed: pip install -r benchmarks/requirements.txt")

CONFIGS = [  # name, sizes, activation, output, cost, batch, learning rate, targets (vs floor, vs PyTorch)
    ("784-16-16-10 sigmoid, squared error, batch 100", [784, 16, 16, 10], "sigmoid", "sigmoid", "squared", 100, 3.0,
     (1.08, 0.55)),
    ("784-128-10 ReLU, cross-entropy, batch 128", [784, 128, 10], "relu", "linear", "cross-entropy", 128, 0.1,
     (1.08, 1.0)),
]
WIDTHS = [128, 256, 1024]  # the width sweep: 784-H-10 ReLU, cross-entropy, batch 128
N = 60_000
PARTS = 10  # samples per epoch


def batches(batch, seed, n=N):
    return np.array_split(np.random.default_rng(seed).permutation(n), range(batch, n, batch))


# --- ours ---

def epoch_ours(net, optimizer, cost, images, labels, targets, batch, seed, n=N):
    """The plain graph, built for every batch (train_mnist.py --no-compile)."""
    for idx in batches(batch, seed, n):
        outputs = net(images[idx])  # a Tensor that is not learned
        loss = squared_error(outputs, targets[idx]) if cost == "squared" else cross_entropy(outputs, labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def epoch_compiled(step, optimizer, images, labels, batch, seed, n=N):
    """The step recorded once and replayed, as nn.train.train does by default: labels in, one-hot made per batch."""
    for idx in batches(batch, seed, n):
        step(images[idx], labels[idx])
        optimizer.step()


def compiled(net, cost):
    return compiled_step(net, squared_error_cost if cost == "squared" else cross_entropy)


# --- the floor: the same arithmetic by hand, no graph ---

class Floor:
    """The network as plain arrays, trained by SGD with forward and backward written out."""

    def __init__(self, net, lr):
        self.weights = [w.data.copy() for w in net.weights]
        self.biases = [b.data.copy() for b in net.biases]
        self.activations = [net.activation] * (len(self.weights) - 1) + [net.output]
        self.lr = lr
        self.ones = functools.lru_cache(lambda n, dtype: np.ones(n, dtype))  # a row of ones per batch size

    def epoch(self, cost, images, labels, targets, batch, seed, n=N):
        for idx in batches(batch, seed, n):
            self.step(cost, images[idx], labels[idx], targets[idx])

    def step(self, cost, x, labels, targets):
        """Forward, the cost, backward and the update for one batch; the cost, as our trainer reports it."""
        layers = [x]  # each layer's output, from the input on
        for w, b, name in zip(self.weights, self.biases, self.activations):
            z = x @ w.T + b
            x = 1.0 / (1.0 + np.exp(-z)) if name == "sigmoid" else np.maximum(z, 0.0) if name == "relu" else z
            layers.append(x)
        rows = np.arange(len(x))
        if cost == "squared":  # d cost / d output, times the sigmoid's derivative
            difference = x - targets
            value = np.sum(difference * difference) / len(x)
            g = difference * (2.0 / len(x)) * (x * (1.0 - x))
        else:  # (softmax - one_hot) / batch
            shifted = x - x.max(axis=1, keepdims=True)
            log_sum = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            value = np.mean(log_sum[:, 0] - shifted[rows, labels])
            g = np.exp(shifted - log_sum)
            g[rows, labels] -= 1.0
            g /= len(x)
        for i in reversed(range(len(self.weights))):
            w, a = self.weights[i], layers[i]
            grad_w, grad_b = g.T @ a, self.ones(len(g), g.dtype) @ g  # the sum down the batch, by BLAS: 3x g.sum(0)
            if i:  # the input needs no gradient
                g = (g @ w) * (a * (1.0 - a) if self.activations[i - 1] == "sigmoid" else (a > 0.0))
            w -= self.lr * grad_w
            self.biases[i] -= self.lr * grad_b
        return value


def check_floor_does_our_work(sizes, activation, output, cost, batch, lr, images, labels, targets):
    """Train both from the same start on the same 100 batches, in float64: the same weights, or exit."""
    n = 100 * batch
    net = FastMLP(sizes[0], sizes[1:], activation, output, dtype=np.float64)
    floor = Floor(net, lr)
    x64, t64 = images[:n].astype(np.float64), targets[:n].astype(np.float64)
    epoch_ours(net, SGD(net.parameters(), lr=lr), cost, x64, labels, t64, batch, 0, n)
    floor.epoch(cost, x64, labels, t64, batch, 0, n)
    ours = [p.data for p in net.parameters()]
    theirs = [a for pair in zip(floor.weights, floor.biases) for a in pair]
    worst = max(np.max(np.abs(a - b)) for a, b in zip(ours, theirs))
    if not worst <= 1e-9:
        sys.exit(f"the floor and our network disagree after 100 batches of {sizes}: {worst:.3g} apart")
    return worst


# --- PyTorch ---

def epoch_torch(model, optimizer, cost, images, labels, targets, batch, seed, n=N):
    for idx in batches(batch, seed, n):
        idx = torch.from_numpy(idx)
        outputs = model(images[idx])
        if cost == "squared":
            loss = ((outputs - targets[idx]) ** 2).sum(dim=1).mean()
        else:
            loss = torch.nn.functional.cross_entropy(outputs, labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


# --- the machine's limit ---

PEAK = """
import time, numpy as np
n = 2048
a, b = np.random.rand(n, n).astype(np.float32), np.random.rand(n, n).astype(np.float32)
a @ b  # warm up the BLAS threads
seconds = []
for _ in range(5):
    start = time.perf_counter()
    a @ b
    seconds.append(time.perf_counter() - start)
print(2 * n**3 / min(seconds) / 1e9)
"""


def matmul_gflops():
    """GFLOP/s of a large float32 matmul with every core: in a child process free of our 1-thread setting."""
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    return float(subprocess.run([sys.executable, "-c", PEAK], env=env, capture_output=True, text=True, check=True).stdout)


def flops_per_epoch(sizes):
    """2 flops per multiply-add: forward x @ W.T, backward dW = g.T @ x and dx = g @ W (not for the input)."""
    forward = sum(m * n for m, n in zip(sizes, sizes[1:]))
    backward = forward + sum(m * n for m, n in zip(sizes[1:], sizes[2:]))
    return 2 * N * (forward + backward)


def one_thread(f):
    """f() with PyTorch on one thread, as our numpy: the engines compared without the second core."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        f()
    finally:
        torch.set_num_threads(threads)


def _timed(f):
    """Seconds that f() takes."""
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3,
                        help="epochs timed per engine, in samples of a tenth; the fastest sample counts")
    parser.add_argument("--no-pytorch", action="store_true",
                        help="ours against the floor only: quicker, and on a busy machine PyTorch's two threads "
                             "wait for each other (epochs of seconds to minutes), slowing everything else")
    args = parser.parse_args(argv)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(N, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, size=N)
    images = (pixels / 255.0).astype(np.float32)
    targets = np.eye(10, dtype=np.float32)[labels]
    images_t, labels_t, targets_t = torch.from_numpy(images), torch.from_numpy(labels), torch.from_numpy(targets)
    peak = matmul_gflops()
    print(f"numpy float32 matmul: {peak:.1f} GFLOP/s (the limit); torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; an epoch = 10 x the fastest of {args.repeat * PARTS} tenths")
    print(f"{'configuration':48s} {'ours':>7s} {'plain':>7s} {'floor':>7s} {'PyTorch':>7s}  {'ours/floor':>10s} "
          f"{'plain/floor':>11s} {'ours/PyTorch':>12s}  of the limit   load {load()}")
    for name, sizes, activation, output, cost, batch, lr, (floor_target, torch_target) in CONFIGS:
        check_floor_does_our_work(sizes, activation, output, cost, batch, lr, images, labels, targets)
        net = FastMLP(sizes[0], sizes[1:], activation, output, dtype=np.float32)
        plain_net = FastMLP(sizes[0], sizes[1:], activation, output, dtype=np.float32)
        floor, model = Floor(net, lr), net.to_torch()  # the same layers and starting weights
        ours_optimizer, plain_optimizer = SGD(net.parameters(), lr=lr), SGD(plain_net.parameters(), lr=lr)
        step = compiled(net, cost)
        torch_optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        n = N // PARTS  # a sample is a tenth of an epoch: every tenth does the same work
        runs = {
            "ours": lambda r: epoch_compiled(step, ours_optimizer, images, labels, batch, r, n),
            "plain": lambda r: epoch_ours(plain_net, plain_optimizer, cost, images, labels, targets, batch, r, n),
            "floor": lambda r: floor.epoch(cost, images, labels, targets, batch, r, n),
            "torch": lambda r: epoch_torch(model, torch_optimizer, cost, images_t, labels_t, targets_t, batch, r, n),
            "torch, 1 thread": lambda r: one_thread(lambda: epoch_torch(
                model, torch_optimizer, cost, images_t, labels_t, targets_t, batch, r, n)),
        }
        if args.no_pytorch:
            del runs["torch"], runs["torch, 1 thread"]
        seconds = interleaved(runs, args.repeat * PARTS)
        # an epoch is PARTS times the fastest sample: noise only ever adds time, and short samples
        # find the quiet moments of a busy machine more often than whole epochs do
        ours, plain, low, theirs, theirs_1 = (PARTS * min(seconds.get(engine, [math.nan]))
                                              for engine in ("ours", "plain", "floor", "torch", "torch, 1 thread"))
        verdict = "PASS" if ours / low <= floor_target and not ours / theirs > torch_target else "BELOW TARGET"
        fraction = flops_per_epoch(sizes) / ours / 1e9 / peak
        print(f"{name:48s} {ours:6.3f}s {plain:6.3f}s {low:6.3f}s {theirs:6.3f}s  {ours / low:5.2f} <={floor_target:4.2f} "
              f"{plain / low:11.2f} {ours / theirs:6.2f} <={torch_target:4.2f}  {fraction:6.1%}  {verdict}   "
              f"load {load()}")
        print(f"{'  in CPU seconds (one BLAS thread each)':48s} ours/floor {cpu_ratio('ours', 'floor'):.2f}, "
              f"plain/floor {cpu_ratio('plain', 'floor'):.2f}")
        if not args.no_pytorch:
            print(f"{'  against PyTorch with 1 thread, as numpy has':48s} {theirs_1:30.3f}s {ours / theirs_1:30.2f}")
    width_sweep(images, labels, targets, args.repeat)
    graph_overhead(args.repeat)
    adam_against_momentum(images, labels, targets, args.repeat)
    if not args.no_pytorch:
        blas_threads(images, labels, targets, args.repeat)


def load():
    """The machine's load average over the last minute: every figure is printed beside it."""
    return f"{os.getloadavg()[0]:.1f}"


def interleaved(runs, samples):
    """Seconds of each run's samples, the runs taking turns (their order rotating) so that a noisy moment hurts all.

    Also each sample's CPU seconds, in interleaved.cpu: for numpy on one BLAS thread, the time it
    would take on a free core. On a busy machine the wall clock mostly measures the wait for one.
    """
    seconds, interleaved.cpu = {engine: [] for engine in runs}, {engine: [] for engine in runs}
    engines = list(runs)
    for r in range(samples):
        for engine in engines[r % len(engines):] + engines[:r % len(engines)]:
            time.sleep(0.05)  # let PyTorch's worker threads stop spinning: they share our cores
            cpu = time.process_time()
            seconds[engine].append(_timed(lambda: runs[engine](r)))
            interleaved.cpu[engine].append(time.process_time() - cpu)
    return seconds


def cpu_ratio(a, b):
    """a's fastest sample over b's, in CPU seconds (see interleaved)."""
    return min(interleaved.cpu[a]) / min(interleaved.cpu[b])


def width_sweep(images, labels, targets, repeat):
    """784-H-10, ReLU and cross-entropy, batch 128: ours (replayed) against the floor as the layer widens."""
    print(f"width sweep, 784-H-10 ReLU, cross-entropy, batch 128, SGD 0.1: ours (replayed) / floor, target <= 1.08")
    for width in WIDTHS:
        net = FastMLP(784, [width, 10], "relu", "linear", dtype=np.float32)
        floor, optimizer, step = Floor(net, 0.1), SGD(net.parameters(), lr=0.1), compiled(net, "cross-entropy")
        n = N // PARTS
        seconds = interleaved({
            "ours": lambda r: epoch_compiled(step, optimizer, images, labels, 128, r, n),
            "floor": lambda r: floor.epoch("cross-entropy", images, labels, targets, 128, r, n),
        }, repeat * PARTS)
        ours, low = PARTS * min(seconds["ours"]), PARTS * min(seconds["floor"])
        print(f"  H = {width:5d}: ours {ours:6.3f}s, floor {low:6.3f}s: {ours / low:5.2f}  "
              f"{'PASS' if ours / low <= 1.08 else 'BELOW TARGET'}   in CPU seconds {cpu_ratio('ours', 'floor'):.2f}"
              f"   load {load()}")


def graph_overhead(repeat, steps=100):
    """Microseconds per step that the graph, and the replayed tape, add to the floor's, on arrays so small that
    the arithmetic is nothing."""
    _, sizes, activation, output, cost, _, lr, _ = CONFIGS[0]
    rng = np.random.default_rng(0)
    x, labels = rng.random((2, 4), dtype=np.float32), rng.integers(0, 4, 2)
    targets = np.eye(4, dtype=np.float32)[labels]
    net = FastMLP(4, [4] * (len(sizes) - 1), activation, output, dtype=np.float32)
    floor, optimizer = Floor(net, lr), SGD(net.parameters(), lr=lr)
    tape = compiled(net, cost)

    def graph():
        for _ in range(steps):
            loss = squared_error(net(x), targets)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()

    def replayed():
        for _ in range(steps):
            tape(x, labels)
            optimizer.step()

    time.sleep(0.5)  # PyTorch's worker threads, which ran last, stop spinning on our cores
    seconds = interleaved({"graph": lambda r: graph(), "tape": lambda r: replayed(),
                           "floor": lambda r: [floor.step(cost, x, labels, targets) for _ in range(steps)]},
                          30 * repeat)  # short samples, in turn: the fastest finds a quiet moment
    us, tape_us, floor_us = (1e6 * min(interleaved.cpu[engine]) / steps for engine in ("graph", "tape", "floor"))
    print(f"own cost per step (CPU time), 4-4-4-4 sigmoid, batch 2: floor {floor_us:.1f} us; the graph {us:.1f} us "
          f"({us - floor_us:.1f} us more); the replayed tape {tape_us:.1f} us ({tape_us - floor_us:.1f} us more)   "
          f"load {load()}")


def adam_against_momentum(images, labels, targets, repeat):
    """Seconds of an epoch with Adam over one with momentum: Adam's extra work is elementwise, in place."""
    _, sizes, activation, output, cost, batch, _, _ = CONFIGS[1]
    seconds = {"momentum": [], "Adam": []}
    for r in range(repeat * PARTS):
        for name, make in (("momentum", lambda ps: SGD(ps, lr=0.01, momentum=0.9)), ("Adam", lambda ps: Adam(ps))):
            net = FastMLP(sizes[0], sizes[1:], activation, output, dtype=np.float32)
            optimizer = make(net.parameters())
            seconds[name].append(_timed(lambda: epoch_ours(
                net, optimizer, cost, images, labels, targets, batch, r, N // PARTS)))
    adam, momentum = PARTS * min(seconds["Adam"]), PARTS * min(seconds["momentum"])
    verdict = "PASS" if adam / momentum <= 1.3 else "BELOW TARGET"
    print(f"784-128-10 epoch, Adam {adam:.3f}s / momentum {momentum:.3f}s = {adam / momentum:.2f} (<= 1.3)  {verdict}")


def spin(seconds):
    """Keep a core busy, as another program would."""
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def blas_threads(images, labels, targets, repeat):
    """Ours on the wide layers with 2 BLAS threads against 1, as the machine is, then with a core taken."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl is not installed: skipping the BLAS threads comparison")
        return
    _, sizes, activation, output, cost, batch, lr, _ = CONFIGS[1]
    n = N // PARTS  # a tenth of an epoch per sample: two threads under load can be 20 times slower
    for load in ("as it is", "one core taken"):
        spinner = None
        if load == "one core taken":
            spinner = multiprocessing.get_context("spawn").Process(target=spin, args=(600,), daemon=True)
            spinner.start()
        try:
            seconds = {1: [], 2: []}
            for r in range(2 * repeat):
                for threads in (1, 2):
                    net = FastMLP(sizes[0], sizes[1:], activation, output, dtype=np.float32)
                    optimizer = SGD(net.parameters(), lr=lr)
                    with threadpool_limits(threads, user_api="blas"):
                        seconds[threads].append(_timed(lambda: epoch_ours(
                            net, optimizer, cost, images, labels, targets, batch, r, n)))
        finally:
            if spinner is not None:
                spinner.terminate()
                spinner.join()
        one, two = PARTS * min(seconds[1]), PARTS * min(seconds[2])  # seconds per epoch
        print(f"784-128-10, machine {load:15s}: 2 BLAS threads {two:.3f}s / 1 thread {one:.3f}s = {two / one:.2f}")


if __name__ == "__main__":
    main()
