"""The badge's test accuracy: never waited for by an answer, never a number of other weights.

Scoring every test digit takes ~13 ms for MNIST's 10,000: an answer to One step, Pause or a reset
that scored them first took 16-36 ms (benchmarks/explorer.py). Here the test digits are an array
whose slicing waits while a gate is closed (explore_fixtures.Gated): scoring them then takes as long as the test
wants, and an answer that waited for it would never come. The shares are checked against the
accuracy worked out here in numpy from the session's weights at that moment.
"""
import threading
import time

import numpy as np
import pytest

from explore_fixtures import gated_data, lively_network
from nn.explore.session import Session

WAIT = 30  # seconds: a deadline for what must happen, never a speed to meet


def gated_session(model=None):
    data, gate = gated_data()
    return Session(data, model), gate


def accuracy(session):
    """The share of the test digits the session's network reads right, by numpy here."""
    images, labels = session.data["test"]
    a = np.asarray(images) / 255.0
    for w, b in zip(session.net.weights, session.net.biases):
        a = 1.0 / (1.0 + np.exp(-(a @ w.data.T + b.data)))
    return float(np.mean(np.argmax(a, axis=1) == labels))


def answered(call):
    """call()'s value, or a failure if it has not come within WAIT seconds (then it waits on the gate)."""
    result = {}
    thread = threading.Thread(target=lambda: result.setdefault("value", call()), daemon=True)
    thread.start()
    thread.join(WAIT)
    assert "value" in result, "the answer waited for the test digits to be scored"
    return result["value"]


def measured(session):
    """The state once the score in progress is in."""
    deadline = time.monotonic() + WAIT
    while (state := session.state())["accuracy"].get("measuring"):
        assert time.monotonic() < deadline, "the score never came"
        time.sleep(0.01)
    return state


@pytest.mark.parametrize("model", [None, "loaded"])
def test_step_pause_and_reset_answer_without_waiting_for_the_score_and_say_it_is_coming(model):
    session, gate = gated_session(lively_network() if model else None)
    try:
        before = measured(session)["accuracy"]
        assert before == {"steps": 0, "share": pytest.approx(accuracy(session)), "measuring": False}
        gate.clear()  # scoring the test digits now takes until the gate opens
        stepped = answered(lambda: session.train("step"))
        assert stepped["training"]["steps"] == 1
        # the last score there is, with the step it was measured at, and word that a new one is coming
        assert stepped["accuracy"] == {"steps": 0, "share": before["share"], "measuring": True}
        paused = answered(lambda: session.train("pause"))
        assert paused["accuracy"]["measuring"] and paused["accuracy"]["steps"] == 0
        gate.set()
        after = measured(session)["accuracy"]
        assert after == {"steps": 1, "share": pytest.approx(accuracy(session)), "measuring": False}
        gate.clear()
        for which in ["untrained"] + (["loaded"] if model else []):  # networks scored before: known at once
            reset = answered(lambda: session.train(which))
            assert reset["accuracy"] == {"steps": 0, "share": pytest.approx(accuracy(session)), "measuring": False}
            assert reset["training"]["accuracy"] == [[0, reset["accuracy"]["share"]]]
    finally:
        gate.set()
        session.trainer.pause()


def test_a_score_measured_for_earlier_weights_is_never_shown_as_the_current_ones():
    session, gate = gated_session()
    try:
        gate.clear()
        for steps in range(1, 4):  # steps faster than the scores: each answer gives the last known one
            state = answered(lambda: session.train("step"))
            assert state["accuracy"]["steps"] < steps and state["accuracy"]["measuring"]
        gate.set()
        state = measured(session)
        assert state["accuracy"] == {"steps": 3, "share": pytest.approx(accuracy(session)), "measuring": False}
    finally:
        gate.set()


def test_weights_that_cannot_be_scored_say_why_and_the_scores_go_on():
    """A score that fails (weights so large that w·x+b overflows) is said, once, and never leaves the
    badge measuring forever; the next weights are scored as usual."""
    session, gate = gated_session()
    measured(session)
    kept = [p.data.copy() for p in session.net.parameters()]
    with session.lock:
        session.net.weights[0].data = np.full_like(kept[0], 1e308)  # new arrays, as switch() does
    state = measured(session)
    assert state["accuracy"]["share"] is None and "overflow" in state["accuracy"]["error"]
    with session.lock:
        for p, data in zip(session.net.parameters(), kept):
            p.data = data
        session.trainer.costs.append(0.0)  # a step's worth: another state of the weights, as after a step
    state = measured(session)
    assert state["accuracy"]["share"] == pytest.approx(accuracy(session)) and "error" not in state["accuracy"]


def test_an_epochs_score_is_labelled_with_the_steps_taken_when_it_was_measured():
    """A step by the average counts: the epoch's score after 1 + 3 steps is 'at step 4', not epochs x batches = 3."""
    from explore_fixtures import bar_data

    session = Session(bar_data(300, 50), None)  # batches of 100: 3 to an epoch
    session.average([{"set": "test", "index": 0}], apply=True)
    measured(session)  # the page polls, paused, then presses Train: the background thread takes the steps
    for _ in range(3):
        session.trainer.step()
    assert session.trainer.epoch == 2 and len(session.trainer.costs) == 4
    session.trainer.running = True  # as while training runs: the badge gives the last epoch's figure
    try:
        assert session.accuracy_now()["steps"] == 4
    finally:
        session.trainer.running = False
