"""The package as a user installs it: a wheel, in a fresh environment outside the checkout (issue 17.4).

Offline: the wheel is built without build isolation (setuptools from the test extra), installed
with --no-index, and finds numpy, matplotlib and the other dependencies in this test environment
through a .pth file: the wheel's own code, its page files and its console script come from the
wheel alone (checked: nothing is imported from the checkout).
"""
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
import venv
import zipfile
from pathlib import Path

import numpy as np
import pytest

from mnist_fixtures import idx_files, write_files
from test_train import synthetic_digits

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """A wheel built from a copy of the package's sources (building writes build/ and *.egg-info beside them)."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    for package in ("autodiff", "nn", "seebackprop"):
        shutil.copytree(ROOT / package, source / package, ignore=shutil.ignore_patterns("__pycache__"))
    wheels = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                    "--quiet", "-w", str(wheels), str(source)], check=True, timeout=600)
    [built] = wheels.glob("seebackprop-*.whl")
    return built


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory):
    """A fresh venv (no system site-packages) with the wheel installed: its bin folder."""
    env_dir = tmp_path_factory.mktemp("venv")
    venv.create(env_dir, with_pip=True)
    python = env_dir / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "--no-index", "--no-deps", "--quiet", str(wheel)],
                   check=True, timeout=600)
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    ours = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    Path(site, "dependencies-from-the-test-environment.pth").write_text("\n".join(sorted(ours)) + "\n")
    return env_dir / "bin"


def test_the_wheel_holds_the_packages_and_their_page_files_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert {"seebackprop/__init__.py", "nn/cli.py", "autodiff/walkthrough.py", "nn/explore/static/index.html"} \
        <= set(names)
    assert not [n for n in names if n.startswith(("tests/", "demos/", "benchmarks/", "runs/")) or "__pycache__" in n]
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "seebackprop = seebackprop:main" in zipfile.ZipFile(wheel).read(entry_points).decode()


def run(bin_dir, cwd, *args, **kwargs):
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(SEEBACKPROP_CACHE=str(cwd / "cache"), PATH=f"{bin_dir}{os.pathsep}{env.get('PATH', '')}")
    return subprocess.Popen([str(bin_dir / args[0]), *args[1:]], cwd=cwd, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_each_command_runs_from_another_folder(installed, tmp_path):
    rng = np.random.default_rng(3)
    (train_images, train_labels), (test_images, test_labels) = synthetic_digits(200, rng), synthetic_digits(50, rng)
    write_files(tmp_path / "digits", idx_files((train_images.reshape(-1, 28, 28), train_labels,
                                                test_images.reshape(-1, 28, 28), test_labels), gz=True))
    where = run(installed, tmp_path, "python", "-c", "import nn, autodiff; print(nn.__file__, autodiff.__file__)")
    assert str(installed.parent) in where.communicate(timeout=120)[0]  # the wheel's code, not the checkout's

    train = run(installed, tmp_path, "seebackprop", "train", "--data-dir", "digits", "--epochs", "1",
                "--hidden", "8", "--batch-size", "20")
    out, err = train.communicate(timeout=600)
    assert train.returncode == 0, err
    assert "epoch 1/1" in out and (tmp_path / "runs" / "digits-8-batch20" / "model.npz").exists()

    explore = run(installed, tmp_path, "seebackprop", "explore", "--no-browser", "--port", "0",
                  "--model", "runs/digits-8-batch20/model.npz", "--data-dir", "digits")
    try:
        said = explore.stdout.readline() + explore.stdout.readline()
        url = re.search(r"http://\S+", said)
        assert url, said + (explore.stderr.read() if explore.poll() is not None else "")
        with urllib.request.urlopen(url.group(0), timeout=60) as page:
            assert page.status == 200 and b"<html" in page.read().lower()
    finally:
        explore.terminate()
        explore.wait(timeout=60)

    step = run(installed, tmp_path, "seebackprop", "step", "--all")
    out, err = step.communicate(timeout=300)
    assert step.returncode == 0, err
    assert "The graph of C" in out and "∂C/∂" in out  # the graph, then the chain rule at each step
