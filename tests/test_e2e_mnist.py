"""End to end, for real: fetch the full MNIST set, train the video's network for 2 epochs, score >= 90%.

Needs the network (the usual mirrors, or PyPI), so it runs only when asked: `make e2e`, which CI runs.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(os.environ.get("SEEBACKPROP_E2E") != "1", reason="set SEEBACKPROP_E2E=1 (make e2e)")


def test_the_default_network_learns_mnist_in_two_epochs(tmp_path):
    from nn.data import load_mnist

    train_images, train_labels, test_images, test_labels = load_mnist(cache_dir=tmp_path / "cache")
    assert train_images.shape == (60000, 784) and test_images.shape == (10000, 784)
    assert train_labels.shape == (60000,) and test_labels.shape == (10000,)

    metrics = tmp_path / "metrics.json"
    env = {**os.environ, "SEEBACKPROP_CACHE": str(tmp_path / "cache")}
    subprocess.run(
        [sys.executable, str(ROOT / "demos" / "train_mnist.py"), "--epochs", "2",
         "--out", str(tmp_path / "run"), "--metrics-json", str(metrics)],
        check=True, env=env, timeout=1800,
    )
    epochs = json.loads(metrics.read_text())["epochs"]
    assert len(epochs) == 2
    assert epochs[-1]["test_accuracy"] >= 0.90, epochs
