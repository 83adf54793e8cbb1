"""The models the explorer can show: a model.npz, and the settings its training run recorded beside it.

demos/train_mnist.py writes model.npz and checkpoint.npz into one folder; the checkpoint's "run"
names the optimizer with its numbers ("SGD(lr=0.1, momentum=0.9)"), the cost and the batch size,
and its history the test accuracy of every epoch. The page trains a model with those settings, and
its picker lists every model under runs/ with its shape and accuracy.
"""
import ast
import json
from pathlib import Path

from autodiff.files import read_npz

from ..fast import FastMLP
from .training import OPTIMIZERS, Settings
from .wants import Kind

COST_NAMES = {"squared_error_cost": "squared", "cross_entropy": "cross-entropy"}  # nn.train.COSTS' functions
DEEPEST = 3  # folders under the models folder that are searched for model.npz


def run_of(model_path):
    """(the run's settings, its history) from the checkpoint beside model_path, or (None, []) without one."""
    checkpoint = Path(model_path).with_name("checkpoint.npz")
    if not checkpoint.is_file():
        return None, []
    try:
        saved = json.loads(str(read_npz(checkpoint)["run"]))
        return saved["run"], saved["history"]
    except (KeyError, ValueError, TypeError) as error:
        raise ValueError(f"{checkpoint}: not a readable checkpoint ({type(error).__name__}: {error})") from None


def settings_of(run, output):
    """The Kind's cost and the Settings recorded by a run (None: the defaults for this output)."""
    if run is None:
        cost = "cross-entropy" if output == "linear" else "squared"
        return cost, Settings.default(cost)
    cost = COST_NAMES.get(run.get("cost"))
    if cost is None:
        raise ValueError(f"the run's cost {run.get('cost')!r} is not one the explorer knows ({', '.join(COST_NAMES)})")
    try:  # "SGD(lr=0.1, momentum=0.9)": read as a call of literal arguments, never evaluated
        call = ast.parse(run["optimizer"], mode="eval").body
        name = call.func.id
        options = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    except (KeyError, SyntaxError, ValueError, AttributeError):
        raise ValueError(f"the run's optimizer {run.get('optimizer')!r} cannot be read") from None
    if name not in OPTIMIZERS:
        raise ValueError(f"the run trained with {name}; the page trains with {' or '.join(OPTIMIZERS)}")
    return cost, Settings(name, options, cost, run.get("batch_size", 100), run.get("seed", 0))


def load_model(path):
    """(FastMLP, Kind, Settings) for a model.npz and the run recorded beside it."""
    model = FastMLP.load(path)
    run, _ = run_of(path)
    cost, settings = settings_of(run, model.output)
    return model, Kind(model.activation, model.output, cost), settings


def list_models(folder, classes=10):
    """Every model.npz under folder: its name (the folder it is in), shape, activations, cost, accuracy,
    and whether the explorer can show it (why not, if not). Unreadable files are listed with the reason."""
    from .session import check_model

    folder = Path(folder)
    found = []
    paths = sorted(p for depth in range(1, DEEPEST + 1) for p in folder.glob("/".join(["*"] * depth) + "/model.npz"))
    for path in paths:
        entry = {"name": path.parent.relative_to(folder).as_posix(), "sizes": None, "accuracy": None,
                 "usable": False, "why": ""}
        try:
            model, kind, settings = load_model(path)
            _, history = run_of(path)
            entry.update(sizes=model.sizes, **kind.describe(), training=settings.describe(),
                         accuracy=history[-1].get("test_accuracy") if history else None)
            check_model(model, entry["name"], classes)
            entry["usable"] = True
        except (ValueError, OSError) as error:
            entry["why"] = str(error)
        found.append(entry)
    return found
