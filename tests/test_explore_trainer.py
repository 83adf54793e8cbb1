"""The explorer's training (nn/explore/training.py): a step recorded once and replayed, with the plain graph's weights.

The reference is nn.train.train_epoch on the plain graph (a graph built anew for every batch), over
the same shuffled batches: the explorer's weights must equal its weights bit for bit, whatever the
optimizer. And the page's mini-batch table must stay the table of the step it names, even when the
trainer takes another step while the table is being worked out.
"""
import numpy as np
import pytest

from explore_fixtures import bar_data, lively_network
from nn.data import shuffled_batches
from nn.explore import session as session_module
from nn.explore.session import Session
from nn.explore.training import Settings
from nn.fast import FastMLP
from nn.train import COSTS, train_epoch

SETTINGS = [Settings(), Settings("SGD", {"lr": 0.1, "momentum": 0.9}), Settings("Adam", {"lr": 0.01})]


@pytest.mark.parametrize("settings", SETTINGS, ids=lambda s: s.describe())
def test_the_trainer_replays_one_recorded_step_and_ends_with_the_plain_graphs_weights(settings, monkeypatch):
    data = bar_data(1000, 50)
    net = lively_network()
    session = Session(data, net, settings=settings)  # trains its own copy of net
    graphs = []  # graphs of a training batch built through the session's network (the 50 test digits are scored too)
    real = FastMLP.__call__
    monkeypatch.setattr(FastMLP, "__call__", lambda self, x: (
        graphs.append(1) if self is session.net and len(x) == settings.batch_size else None, real(self, x))[1])
    steps = 25  # two epochs and a half of 10 batches
    for _ in range(steps):
        session.train("step")
    monkeypatch.undo()

    reference = FastMLP.from_state(net.state())
    optimizer = settings.make_optimizer(reference.parameters())
    images, labels = data[:2]
    done, epoch = 0, 1
    while done < steps:
        batches = shuffled_batches(len(images), settings.batch_size, np.random.default_rng([settings.seed, epoch]))
        batches = batches[:steps - done]
        train_epoch(reference, optimizer, COSTS[settings.cost], images, labels, batches)  # the plain graph
        done += len(batches)
        epoch += 1
    for mine, theirs in zip(session.net.parameters(), reference.parameters()):
        assert np.array_equal(mine.data, theirs.data)
    assert len(graphs) <= 2  # recorded, checked by a second recording, then replayed


def test_the_batch_table_is_its_steps_while_the_trainer_steps_again_meanwhile(monkeypatch):
    session = Session(bar_data(500, 50), lively_network())
    for _ in range(3):  # past the two recordings: the replay's own gradient arrays from now on
        session.train("step")
    last = session.trainer.last_batch
    real = session_module.per_example_nudges

    def trainer_steps_meanwhile(*args, **kwargs):  # the table is worked out outside the lock
        session.trainer.step()
        return real(*args, **kwargs)

    monkeypatch.setattr(session_module, "per_example_nudges", trainer_steps_meanwhile)
    table = session.batch()
    assert table["indices"] == last["indices"].tolist()
    assert table["max_difference"] < 1e-9, table["max_difference"]  # the examples' average is that step's gradient
