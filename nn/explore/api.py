"""The explorer's API, whatever carries it: the web server's JSON over HTTP (server.py) and the notebook
widget's messages (widget.py) both call answer(), so the page and the widget ask the same questions
of the same Python functions; only the transport differs (static/js/api.js is its other side).

    GET  state?since=N   the network's weights, and training's progress (costs from step N)
    POST example         {"pixels" | "drawing", "target"}: the forward pass and every nudge
    POST digit           {"set", "index" | "label" and/or "wrong", "start"}: a test or training example
    POST neuron          {"pixels", "target", "layer", "neuron"}: one neuron's backward pass, step by step
    POST train           {"action": start | pause | step | untrained | loaded}
    POST average         {"examples", "fill", "apply"}: each example's wishes, their average, one step by it
    GET  model           the network on screen, named by a hash of its weights (for links)
    GET  batch           the mini-batch table of the last training step
    GET  models          the models the page may switch to, with their shapes and accuracies
    POST models          {"name"}: switch to one of them
"""
import re
from urllib.parse import parse_qs

from . import checks
from .checks import BadRequest


class NoSuchCall(Exception):
    """An API path the explorer does not know (its own class: an IndexError is a LookupError, and a bug)."""


def answer(session, method, path, query="", body=None):
    """The JSON-ready answer to one request; BadRequest for a bad one, NoSuchCall for an unknown path.

    path: after /api/ ("state", "example", ...); query: a URL query string; body: a POST's JSON object.
    """
    if method == "GET":
        if path == "state":
            since = parse_qs(query).get("since", ["0"])[0]
            if not re.fullmatch(r"[0-9]{1,12}", since):  # ASCII digits: "²".isdigit() is true, int("²") fails
                raise BadRequest(f"since must be a whole number of steps, got {since[:20]!r}")
            return session.state(int(since))
        if path == "batch":
            return session.batch()
        if path == "model":
            return session.model()
        if path == "models":
            return {"models": session.list_models(), "current": session.model_name}
        raise NoSuchCall(path)
    if not isinstance(body, dict):
        raise BadRequest("the body must be a JSON object")
    if path == "example":
        return session.example(checks.image(body), checks.digit(body, "target", None))  # None: not labelled yet
    if path == "neuron":
        return session.neuron(checks.image(body), checks.digit(body),
                              checks.integer(body, "layer", 1, 9), checks.integer(body, "neuron", 0, 10_000))
    if path == "digit":
        which = checks.choice(body, "set", ("test", "train"), "test")
        return session.digit(which, checks.integer(body, "index", 0, 10**9, None),
                             checks.digit(body, "label", None), checks.flag(body, "wrong"),
                             checks.integer(body, "start", 0, 10**9, 0))
    if path == "average":
        return session.average(checks.examples(body, ("test", "train")), checks.integer(body, "fill", 0, 100, 0),
                               checks.flag(body, "apply"))
    if path == "train":
        return session.train(checks.choice(body, "action", ("start", "pause", "step", "untrained", "loaded")))
    if path == "models":
        name = checks.field(body, "name")
        if not isinstance(name, str):
            raise BadRequest(f"name must be a model's name, got {name!r:.40}")
        return session.use_model(name)
    raise NoSuchCall(path)
