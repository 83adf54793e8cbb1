"""One epoch of MNIST-sized training with our fast path and with PyTorch on the CPU, side by side.

Both engines train the same network with the same batch size, cost, optimizer and dtype (float32,
PyTorch's default) on the same 60,000 x 784 inputs, in this one process, alternating runs.
Timing does not depend on the pixel values, so the inputs are random bytes: no download needed.

    pip install -r benchmarks/requirements.txt     # torch==2.13.0, never a dependency of the package
    python benchmarks/fast_vs_pytorch.py

It prints seconds per epoch for each, the ratio, and the fraction of this machine's floating-point
limit we reach: the multiply-adds of forward and backward per epoch, against the GFLOP/s of a
large numpy matmul measured in the same run.
"""
import os
import subprocess
import sys
import time
from pathlib import Path

# As demos/train_mnist.py does: one BLAS thread. Our matrices are small (100 x 784 x 16), and two
# OpenBLAS threads on them cost more in hand-offs than they gain (several times slower on a busy
# machine). The machine's limit below is still measured with every core.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # numpy's BLAS; PyTorch keeps its own threads

import numpy as np  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nn.fast import FastMLP  # noqa: E402
from nn.losses import cross_entropy, squared_error  # noqa: E402
from nn.optim import SGD  # noqa: E402

try:
    import torch
except ImportError:
    sys.exit("PyTorch is not installed: pip install -r benchmarks/requirements.txt")

CONFIGS = [  # name, sizes, activation, output, cost, batch, learning rate, target ratio
    ("784-16-16-10 sigmoid, squared error, batch 100", [784, 16, 16, 10], "sigmoid", "sigmoid", "squared", 100, 3.0, 0.5),
    ("784-128-10 ReLU, cross-entropy, batch 128", [784, 128, 10], "relu", "linear", "cross-entropy", 128, 0.1, 1.0),
]
N, REPEATS = 60_000, 3


def epoch_ours(net, optimizer, cost, images, labels, targets, batch, rng):
    for idx in np.array_split(rng.permutation(N), range(batch, N, batch)):
        outputs = net(images[idx])  # a Tensor that is not learned
        loss = squared_error(outputs, targets[idx]) if cost == "squared" else cross_entropy(outputs, labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


def torch_net(net):
    """The same layers as `net`, with the same starting weights."""
    layers = []
    for w, b, i in zip(net.weights, net.biases, range(len(net.weights))):
        linear = torch.nn.Linear(w.shape[1], w.shape[0])
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(w.data))
            linear.bias.copy_(torch.from_numpy(b.data))
        layers.append(linear)
        name = net.output if i == len(net.weights) - 1 else net.activation
        layers += {"sigmoid": [torch.nn.Sigmoid()], "relu": [torch.nn.ReLU()], "linear": []}[name]
    return torch.nn.Sequential(*layers)


def epoch_torch(model, optimizer, cost, images, labels, targets, batch, rng):
    for idx in np.array_split(rng.permutation(N), range(batch, N, batch)):
        idx = torch.from_numpy(idx)
        outputs = model(images[idx])
        if cost == "squared":
            loss = ((outputs - targets[idx]) ** 2).sum(dim=1).mean()
        else:
            loss = torch.nn.functional.cross_entropy(outputs, labels[idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()


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


def _timed(f):
    """Seconds that f() takes."""
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def flops_per_epoch(sizes):
    """2 flops per multiply-add: forward x @ W.T, backward dW = g.T @ x and dx = g @ W (not for the input)."""
    forward = sum(m * n for m, n in zip(sizes, sizes[1:]))
    backward = forward + sum(m * n for m, n in zip(sizes[1:], sizes[2:]))
    return 2 * N * (forward + backward)


def main():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, size=(N, 784), dtype=np.uint8)
    labels = rng.integers(0, 10, size=N)
    images = (pixels / 255.0).astype(np.float32)
    targets = np.eye(10, dtype=np.float32)[labels]
    images_t, labels_t, targets_t = torch.from_numpy(images), torch.from_numpy(labels), torch.from_numpy(targets)
    peak = matmul_gflops()
    print(f"numpy float32 matmul: {peak:.1f} GFLOP/s (the limit); torch {torch.__version__}, {torch.get_num_threads()} threads")
    print(f"{'configuration':50s} {'ours':>8s} {'PyTorch':>8s} {'ratio':>6s} {'target':>7s}  of the limit")
    for name, sizes, activation, output, cost, batch, lr, target in CONFIGS:
        net = FastMLP(sizes[0], sizes[1:], activation, output, dtype=np.float32)
        model = torch_net(net)
        ours_optimizer = SGD(net.parameters(), lr=lr)
        torch_optimizer = torch.optim.SGD(model.parameters(), lr=lr)
        ours, theirs = [], []
        for r in range(REPEATS):  # alternate, so that a noisy moment hurts both
            time.sleep(0.5)  # let the other engine's worker threads stop spinning: they share our cores
            ours.append(_timed(lambda: epoch_ours(net, ours_optimizer, cost, images, labels, targets, batch,
                                                  np.random.default_rng(r))))
            time.sleep(0.5)
            theirs.append(_timed(lambda: epoch_torch(model, torch_optimizer, cost, images_t, labels_t, targets_t,
                                                     batch, np.random.default_rng(r))))
        ours_s, theirs_s = min(ours), min(theirs)  # the fastest epoch: noise only ever adds time
        ratio = ours_s / theirs_s
        verdict = "PASS" if ratio <= target else "BELOW TARGET"
        fraction = flops_per_epoch(sizes) / ours_s / 1e9 / peak
        print(f"{name:50s} {ours_s:7.3f}s {theirs_s:7.3f}s {ratio:6.2f} {'<= ' + str(target):>7s}  {fraction:6.1%}  {verdict}")


if __name__ == "__main__":
    main()
