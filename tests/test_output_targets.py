"""Outputs are written only as regular files, and never over a file another part of the run owns (issue 14, cause 4).

Every writer goes through autodiff.files.atomic_write. Whatever already sits at the target, of
every file type, is either a regular file (replaced) or refused by name and left exactly as it was.
"""
import json
import os
import shutil
import socket
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest

import nn.cli
import nn.data
from autodiff.files import atomic_write, owned_by
from nn.fast import FastMLP
from test_train import demo, demo_args, data  # noqa: F401  the training command on synthetic digits

KINDS = ["absent", "regular", "directory", "symlink", "dangling symlink", "fifo", "device", "socket"]


@pytest.fixture
def short_tmp():
    """A short folder: a Unix socket's path must fit in 108 bytes."""
    folder = tempfile.mkdtemp(prefix="sbp")
    yield Path(folder)
    shutil.rmtree(folder)


def make(kind, path):
    """Put a `kind` at `path`; a function that says what is there now, to compare before and after."""
    keep = []
    if kind == "regular":
        path.write_bytes(b"the user's own")
    elif kind == "directory":
        path.mkdir()
        (path / "inside").write_text("kept")
    elif kind == "symlink":
        (path.parent / "linked").write_bytes(b"the file the link names")
        path.symlink_to(path.parent / "linked")
    elif kind == "dangling symlink":
        path.symlink_to(path.parent / "nowhere")
    elif kind == "fifo":
        os.mkfifo(path)
    elif kind == "device":
        os.mknod(path, stat.S_IFCHR | 0o666, os.makedev(1, 3))  # a second /dev/null (the tests run as root in CI)
    elif kind == "socket":
        server = socket.socket(socket.AF_UNIX)
        server.bind(str(path))
        keep.append(server)

    def state():
        if not os.path.lexists(path):
            return None
        info = os.lstat(path)
        linked = (os.readlink(path), (path.parent / "linked").read_bytes() if (path.parent / "linked").exists()
                  else None) if stat.S_ISLNK(info.st_mode) else None
        return stat.S_IFMT(info.st_mode), info.st_ino, linked, sorted(os.listdir(path)) if path.is_dir() else None
    return state, keep


def device_possible(kind):
    if kind == "device" and os.geteuid() != 0:
        pytest.skip("making a device node needs root")


WRITERS = {
    "atomic_write": lambda path: atomic_write(path, lambda file: file.write(b"new")),
    "FastMLP.save": lambda path: FastMLP(4, [3, 2]).save(path),
}


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("writer", WRITERS)
def test_only_regular_files_are_replaced_and_anything_else_is_named_and_kept(short_tmp, writer, kind):
    device_possible(kind)
    target = short_tmp / "target"
    state, keep = make(kind, target)
    before = state()
    if kind in ("absent", "regular"):
        WRITERS[writer](target)
        assert stat.S_ISREG(os.lstat(target).st_mode) and target.read_bytes() != b"the user's own"
    else:
        with pytest.raises(OSError, match=f"{target}: is a {kind.replace('dangling ', '')}") as refused:
            WRITERS[writer](target)
        assert "nothing was written" in str(refused.value)
        assert state() == before  # the same thing, the same inode, the link's file untouched
    assert [name for name in os.listdir(short_tmp) if name.endswith(".tmp")] == []


def test_a_file_owned_by_another_writer_is_refused_by_name(tmp_path):
    owned = tmp_path / "owned.npz"
    owned.write_bytes(b"precious")
    owned_by("the test's precious file", lambda: owned)
    try:
        for alias in (owned, tmp_path / "." / "owned.npz", tmp_path / "alias"):
            if alias.name == "alias":
                os.link(owned, alias)  # a hard link is the same file under another name
            with pytest.raises(OSError, match="is the test's precious file"):
                atomic_write(alias, lambda file: file.write(b"other"))
        atomic_write(owned, lambda file: file.write(b"new"), owner="the test's precious file")
        assert owned.read_bytes() == b"new"
    finally:
        owned_by("the test's precious file", None)


def test_the_mnist_cache_is_refused_to_every_other_writer(tmp_path, monkeypatch):
    monkeypatch.setenv("SEEBACKPROP_CACHE", str(tmp_path / "cache"))
    cache = nn.data.cache_file()
    cache.parent.mkdir()
    cache.write_bytes(b"the cache")
    with pytest.raises(OSError, match="is the MNIST cache"):
        FastMLP(4, [3, 2]).save(cache)
    assert cache.read_bytes() == b"the cache"


# --- the training command: --metrics-json -----------------------------------------------------------

@pytest.mark.parametrize("target, named", [
    ("run/checkpoint.npz", "the run's checkpoint"),
    ("run/model.npz", "the run's model"),
    ("run/curves.png", "the run's curves"),
    ("run/.lock", "the run's lock"),
    ("cache/mnist.npz", "the MNIST cache"),
    ("idx/t10k-labels-idx1-ubyte", "one of the --data-dir files (t10k-labels-idx1-ubyte)"),
])
def test_metrics_json_is_refused_over_the_runs_own_files_and_the_data(demo, tmp_path, monkeypatch, capsys,
                                                                        target, named):
    monkeypatch.setenv("SEEBACKPROP_CACHE", str(tmp_path / "cache"))
    for folder in ("run", "cache", "idx"):
        (tmp_path / folder).mkdir()
    path = tmp_path / target
    path.write_bytes(b"kept")
    args = demo_args(tmp_path / "run", "--epochs", "1", "--metrics-json", str(path))
    if target.startswith("idx"):
        args += ["--data-dir", str(tmp_path / "idx")]
    with pytest.raises(SystemExit) as stopped:
        demo.main(args)
    assert stopped.value.code == 2
    assert f"--metrics-json {path} is {named}" in capsys.readouterr().err.replace("\n", " ")
    assert path.read_bytes() == b"kept"


@pytest.mark.parametrize("kind", ["fifo", "device", "socket", "symlink"])
def test_metrics_json_at_a_special_file_is_refused_before_training(demo, short_tmp, monkeypatch, capsys, kind):
    device_possible(kind)
    target = short_tmp / "metrics"
    state, keep = make(kind, target)
    before = state()
    monkeypatch.setattr(nn.data, "load_mnist", lambda *args, **kwargs: pytest.fail("training started"))
    with pytest.raises(SystemExit):
        demo.main(demo_args(short_tmp / "run", "--metrics-json", str(target)))
    assert f"{target}: is a {kind}" in capsys.readouterr().err
    assert state() == before


def test_metrics_json_still_writes_a_regular_file(demo, tmp_path):
    metrics = tmp_path / "metrics.json"
    metrics.write_text("old")
    demo.main(demo_args(tmp_path / "run", "--epochs", "1", "--metrics-json", str(metrics)))
    assert [e["epoch"] for e in json.loads(metrics.read_text())["epochs"]] == [1]
