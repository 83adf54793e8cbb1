"""Train a small MLP of scalar Values to separate two interleaved half-moons.

This is micrograd's demo on our engine: 100 points, MLP(2, [16, 16, 1]), a max-margin (hinge)
loss with L2 regularisation, and plain gradient descent on the whole set. Every one of the
~80,000 nodes of each step's graph is a Value you could inspect.

    python demos/moons.py
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from autodiff import Value  # noqa: E402
from nn import MLP  # noqa: E402
from nn.optim import SGD  # noqa: E402


def make_moons(n, noise, rng):
    """Two interleaved half circles (labels -1 and +1), with Gaussian noise: sklearn's classic, in numpy."""
    half = n // 2
    t_top, t_bottom = np.linspace(0, np.pi, half), np.linspace(0, np.pi, n - half)
    top = np.column_stack([np.cos(t_top), np.sin(t_top)])
    bottom = np.column_stack([1 - np.cos(t_bottom), 0.5 - np.sin(t_bottom)])
    points = np.vstack([top, bottom]) + rng.normal(scale=noise, size=(n, 2))
    labels = np.concatenate([-np.ones(half), np.ones(n - half)])
    return points, labels


def cost_and_accuracy(model, points, labels, alpha=1e-4):
    """micrograd's demo loss: the mean hinge loss max(0, 1 - y·score) plus alpha·|w|²."""
    scores = [model([Value(x), Value(y)]) for x, y in points]
    hinge = sum((1 - label * score).relu() for label, score in zip(labels, scores)) * (1.0 / len(labels))
    l2 = alpha * sum(p * p for p in model.parameters())
    accuracy = np.mean([(score.data > 0) == (label > 0) for label, score in zip(labels, scores)])
    return hinge + l2, accuracy


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    rng = np.random.default_rng(args.seed)
    points, labels = make_moons(100, noise=0.1, rng=rng)
    model = MLP(2, [16, 16, 1], seed=args.seed)
    optimizer = SGD(model.parameters(), lr=1.0)
    print(f"{model}\n{len(model.parameters())} parameters")
    start = time.perf_counter()
    for step in range(args.steps):
        cost, accuracy = cost_and_accuracy(model, points, labels)
        optimizer.zero_grad()
        cost.backward()
        optimizer.lr = 1.0 - 0.9 * step / args.steps  # decay the step size as we near the minimum
        optimizer.step()
        if step % 10 == 0 or step == args.steps - 1:
            print(f"step {step:3d}  cost {cost.data:.4f}  accuracy {accuracy:.0%}  ({time.perf_counter() - start:.1f} s)")
    cost, accuracy = cost_and_accuracy(model, points, labels)
    print(f"final training accuracy: {accuracy:.1%}")
    return accuracy


if __name__ == "__main__":
    main()
