"""The explorer on any MLP that FastMLP holds (784 inputs, up to 10 outputs): any depth and width,
sigmoid, tanh or ReLU, either cost; a model's own training settings; the model picker; your own
images with their class names.

Every number the page shows for one example is checked against PyTorch's autograd on the same
network (an independent engine), through the same call the server and the notebook widget make.
"""
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from explore_fixtures import bar_data
from mnist_fixtures import idx_files, write_files
from nn.explore import api
from nn.explore.__main__ import main as explore_main
from nn.explore.models import list_models, load_model
from nn.explore.session import Session
from nn.explore.training import Settings
from nn.explore.wants import SHOWN, Kind, unpacked
from nn.fast import FastMLP
from nn.optim import SGD, Adam
from nn.train import COSTS, describe, save_checkpoint

torch = pytest.importorskip("torch")

DATA = bar_data(200, 50)
ACTIVATIONS = ("sigmoid", "tanh", "relu")


def torch_reference(net, x, target, cost):
    """(a per layer, ∂C/∂a per layer, ∂C/∂w per layer) by PyTorch's autograd, float64."""
    a = [torch.tensor(x, dtype=torch.float64, requires_grad=True)]
    ws = [torch.tensor(np.asarray(w.data, np.float64), requires_grad=True) for w in net.weights]
    bs = [torch.tensor(np.asarray(b.data, np.float64), requires_grad=True) for b in net.biases]
    for l, (w, b) in enumerate(zip(ws, bs), 1):
        z = w @ a[-1] + b
        name = net.output if l == len(ws) else net.activation
        a.append(z if name == "linear" else getattr(torch, name)(z))
        a[-1].retain_grad()
    y = torch.zeros(len(bs[-1]), dtype=torch.float64)
    y[target] = 1.0
    if cost == "squared":
        loss = ((a[-1] - y) ** 2).sum()
    else:
        loss = torch.nn.functional.cross_entropy(a[-1][None, :], torch.tensor([target]))
    loss.backward()
    return float(loss.detach()), [t.detach().numpy() for t in a], [t.grad.numpy() for t in a], [w.grad.numpy() for w in ws]


@settings(max_examples=25, deadline=None)
@given(hidden=st.lists(st.integers(1, 40), min_size=0, max_size=3), outputs=st.integers(2, 10),
       activation=st.sampled_from(ACTIVATIONS), output=st.sampled_from(ACTIVATIONS + ("linear",)),
       cost=st.sampled_from(("squared", "cross-entropy")), seed=st.integers(0, 100), index=st.integers(0, 49))
def test_every_number_of_an_example_is_pytorchs(hidden, outputs, activation, output, cost, seed, index):
    net = FastMLP(784, hidden + [outputs], activation, output, seed=seed)
    session = Session(DATA, net, kind=Kind(activation, output, cost), live=True)
    x = DATA[2][index] / 255.0
    target = int(DATA[3][index]) % outputs
    got = api.answer(session, "POST", "example", body={"pixels": x.tolist(), "target": target})
    loss, a, da, dw = torch_reference(net, x, target, cost)
    assert got["cost"] == pytest.approx(loss, rel=1e-9, abs=1e-12)
    assert got["check"]["agree"]
    n = len(net.weights)
    for l in range(1, n + 1):
        np.testing.assert_allclose(got["a"][l], a[l], rtol=1e-9, atol=1e-12)
        np.testing.assert_allclose(got["da"][l], da[l], rtol=1e-9, atol=1e-12)
        shown = got["shown"][l]
        assert shown == sorted(set(shown)) and len(shown) == min(len(a[l]), SHOWN)
    np.testing.assert_allclose(unpacked(got["dw1"]), dw[0][got["shown"][1]], rtol=1e-5, atol=1e-7)  # float32 images
    for l in range(2, n + 1):
        rows, columns = got["shown"][l], got["shown"][l - 1]
        np.testing.assert_allclose(unpacked(got["dw"][l]), dw[l - 1][np.ix_(rows, columns)], rtol=1e-9, atol=1e-12)
    assert got["guess"] == int(np.argmax(a[n]))


def test_a_wide_layer_shows_the_neurons_that_matter_most():
    net = FastMLP(784, [512, 512, 10], "relu", "linear", seed=1)
    session = Session(DATA, net, live=True)
    x = DATA[2][0] / 255.0
    got = api.answer(session, "POST", "example", body={"pixels": x.tolist(), "target": 3})
    for l in (1, 2):
        a, wish = np.array(got["a"][l]), np.abs(np.array(got["da"][l]))
        shown = got["shown"][l]
        assert len(shown) == SHOWN and got["totals"][l]["neurons"] == 512
        assert int(np.argmax(a)) in shown and int(np.argmax(wish)) in shown
        assert got["totals"][l]["active"] == int(np.sum(a > 0))
        assert got["totals"][l]["wish"] == pytest.approx(float(wish.sum()))
    state = api.answer(session, "GET", "state")
    assert state["w1"] is None and state["sizes"] == [784, 512, 512, 10]  # the weights come with each example
    assert unpacked(got["w"][3]).shape == (10, SHOWN)
    # a neuron can still be chosen by number, drawn or not
    hidden = next(j for j in range(512) if j not in got["shown"][2])
    zoom = api.answer(session, "POST", "neuron", body={"pixels": x.tolist(), "target": 3, "layer": 2, "neuron": hidden})
    assert zoom["max_difference"] < 1e-9


def run_folder(tmp_path, name, net, optimizer, cost, accuracy):
    folder = tmp_path / "runs" / name
    folder.mkdir(parents=True)
    net.save(folder / "model.npz")
    run = describe(net, optimizer, COSTS[cost], 20, 0)  # as nn.train records a run
    save_checkpoint(folder / "checkpoint.npz", net, optimizer, run,
                    [{"epoch": 1, "seconds": 1.0, "cost": 0.5, "test_accuracy": accuracy}])
    return folder


def test_training_in_the_page_uses_the_optimizer_its_checkpoint_recorded(tmp_path):
    net = FastMLP(784, [20, 10], "tanh", "linear", seed=2)
    folder = run_folder(tmp_path, "adam", net, Adam(net.parameters(), lr=0.003), "cross-entropy", 0.5)
    model, kind, settings_ = load_model(folder / "model.npz")
    assert (kind.cost, settings_.optimizer, settings_.lr, settings_.batch_size) == ("cross-entropy", "Adam", 0.003, 20)
    session = Session(DATA, model, kind=kind, settings=settings_)
    # the same step by hand: nn.optim.Adam on the first batch the trainer draws, the cross-entropy
    twin = FastMLP.from_state(model.state())
    reference = Adam(twin.parameters(), lr=0.003)
    batch = session.trainer.batches[0]
    loss = COSTS["cross-entropy"](twin(DATA[0][batch] / 255.0), DATA[1][batch])
    reference.zero_grad()
    loss.backward()
    reference.step()
    api.answer(session, "POST", "train", body={"action": "step"})
    for mine, theirs in zip(session.net.parameters(), twin.parameters()):
        np.testing.assert_allclose(mine.data, theirs.data, rtol=1e-12, atol=1e-15)
    state = api.answer(session, "GET", "state")
    assert "Adam at rate 0.003" in state["training"]["settings"] and "cross-entropy" in state["training"]["settings"]
    batch_table = api.answer(session, "GET", "batch")  # Adam's step: the weights before it were kept
    assert batch_table["max_difference"] < 1e-9


def test_the_model_picker_lists_and_switches(tmp_path):
    small = FastMLP(784, [16, 16, 10], "sigmoid", "sigmoid", seed=0)
    wide = FastMLP(784, [64, 10], "relu", "linear", seed=0)
    run_folder(tmp_path, "video", small, SGD(small.parameters(), lr=3.0), "squared", 0.9)
    run_folder(tmp_path, "wide", wide, SGD(wide.parameters(), lr=0.1, momentum=0.9), "cross-entropy", 0.95)
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "model.npz").write_bytes(b"not a model")
    session = Session(DATA, models=tmp_path / "runs")
    listed = {m["name"]: m for m in api.answer(session, "GET", "models")["models"]}
    assert listed["video"]["sizes"] == [784, 16, 16, 10] and listed["video"]["accuracy"] == 0.9
    assert listed["wide"]["sizes"] == [784, 64, 10] and listed["wide"]["cost"] == "cross-entropy"
    assert not listed["broken"]["usable"] and "broken" in listed["broken"]["why"]
    state = api.answer(session, "POST", "models", body={"name": "wide"})
    assert state["sizes"] == [784, 64, 10] and state["kind"]["cost"] == "cross-entropy" and state["name"] == "wide"
    assert "momentum 0.9" in state["training"]["settings"]
    np.testing.assert_array_equal(session.net.weights[0].data, wide.weights[0].data)
    with pytest.raises(api.BadRequest, match="broken"):
        api.answer(session, "POST", "models", body={"name": "broken"})
    with pytest.raises(api.BadRequest, match="no model named"):
        api.answer(session, "POST", "models", body={"name": "../../etc"})


def test_your_own_images_with_their_class_names(tmp_path, monkeypatch):
    """Three classes of bar images written as IDX files with a classes.txt: the CLI serves them, named."""
    images, labels, test_images, test_labels = bar_data(90, 30)
    labels, test_labels = labels % 3, test_labels % 3
    arrays = [images.reshape(-1, 28, 28), labels, test_images.reshape(-1, 28, 28), test_labels]
    folder = write_files(tmp_path / "shapes", idx_files(arrays, gz=False))
    (folder / "classes.txt").write_text("top\nmiddle\nbottom\n")
    seen = {}

    class Stop(Exception):
        pass

    def serve(server):
        seen["state"] = api.answer(server.session, "GET", "state")
        raise Stop

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr("nn.explore.server.ExplorerServer.serve_forever", serve)
    with pytest.raises(Stop):
        explore_main(["--data-dir", str(folder), "--port", "0", "--no-browser"])
    state = seen["state"]
    assert state["classes"] == ["top", "middle", "bottom"]
    assert state["sizes"][-1] == 3 and state["counts"] == {"train": 90, "test": 30}
    (folder / "classes.txt").write_text("one\none\n")
    with pytest.raises(SystemExit, match="classes.txt"):
        explore_main(["--data-dir", str(folder), "--port", "0", "--no-browser"])


def test_the_widget_reads_and_trains_a_scalar_mlp_live():
    """Explorer(mlp): a change made to the MLP's Values shows in the next answer; a step taken in the widget
    is in the MLP's Values after it (the same function the page's server calls, without a kernel)."""
    pytest.importorskip("anywidget")
    from nn.explore import Explorer
    from nn.mlp import MLP

    mlp = MLP(784, [8, 10], activation="sigmoid", output="sigmoid")
    explorer = Explorer(mlp, data=DATA)
    x = (DATA[2][0] / 255.0).tolist()
    before = explorer.ask("POST", "example", body={"pixels": x, "target": 1})
    mlp.layers[1].neurons[1].b.data += 5.0  # output 1 much more active, by a cell of the notebook
    after = explorer.ask("POST", "example", body={"pixels": x, "target": 1})
    expected = FastMLP.from_scalar(mlp)(np.array([x])).data[0]
    np.testing.assert_allclose(after["a"][2], expected, rtol=1e-12)
    assert after["a"][2][1] > before["a"][2][1]
    explorer.ask("POST", "train", body={"action": "step"})
    for w, layer in zip(explorer.session.net.weights, mlp.layers):
        np.testing.assert_array_equal(w.data, [[v.data for v in n.w] for n in layer.neurons])
    assert explorer.session.trainer.costs  # it did step
    explorer.close()


def test_the_page_names_the_classes(browser):
    """Three classes named in classes.txt: the outputs, the target buttons and the page's words follow them."""
    from explore_fixtures import running

    images, labels, test_images, test_labels = bar_data(90, 30)
    data = (images, labels % 3, test_images, test_labels % 3)
    with running(Session(data, classes=["top", "middle", "bottom"])) as server:
        page = browser.new_page(viewport={"width": 1024, "height": 768})
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(server.url)
        page.wait_for_selector("body[data-ready=true]", timeout=60_000)
        page.wait_for_function("document.getElementById('picked').textContent.includes('of 30')")
        assert page.locator("#targets button").all_inner_texts() == ["top", "middle", "bottom"]
        assert page.locator("#network text", has_text="middle").count() == 1  # the outputs' labels
        body = page.inner_text("body")
        assert "Draw an image" in body and "digit" not in body.lower()
        label = ["top", "middle", "bottom"][int(test_labels[0] % 3)]
        assert f'a "{label}"' in page.inner_text("#picked")
        assert errors == []
        page.close()
