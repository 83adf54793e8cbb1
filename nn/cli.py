"""Train a network to read handwritten digits (MNIST), as in 3Blue1Brown's video: `seebackprop train`.

The same command three ways: `seebackprop train` (installed with the package), `python -m nn.train`,
and `python demos/train_mnist.py` in a checkout. The defaults are the video's network: 784 pixels in,
two hidden layers of 16 sigmoid neurons, 10 sigmoid outputs, the squared-error cost, plain
stochastic gradient descent on batches of 100.

    seebackprop train                        # the video's network: 94.6% of the test digits, in 10 s
    seebackprop train --resume               # continue a run that was interrupted (Ctrl-C)
    seebackprop train --engine scalar --epochs 1   # the same network as Values, a graph per digit

A wider network, with the cost and optimizer of common practice: 98.4% after 25 to 40 s of training:

    seebackprop train --hidden 512 --activation relu --cost cross-entropy \
        --optimizer momentum --lr 0.1 --dtype float32

The best recipe we found for a minute of training (see RECIPES): 99.1% of the test digits in 50 s:

    seebackprop train --recipe best

The output layer follows the cost: sigmoid outputs for the squared error (each output a 0..1
"how much is it this digit"), linear outputs (logits) for cross-entropy, whose softmax is part
of the cost. Written to --out (default: runs/mnist for the video's network, else a folder of
runs/ named after the settings): checkpoint.npz after every epoch; at the end model.npz (load it
with nn.fast.FastMLP.load), curves.png (cost and accuracy per epoch) and mistakes.png.
"""
import argparse
import json
import os
import shlex
import signal
import sys
import time
from pathlib import Path


import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

matplotlib.use("Agg")  # pictures go to files, never to a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

from autodiff.files import atomic_write, check_target, same_file  # noqa: E402

from . import data as mnist  # noqa: E402
from . import guard  # noqa: E402
from .fast import FastMLP  # noqa: E402
from . import scalar_train  # noqa: E402
from .mlp import MLP, VALUE_BYTES, check_network  # noqa: E402
from .optim import SGD, Adam  # noqa: E402
from .train import COSTS, predict, train  # noqa: E402

DEFAULT_OUT = "runs/mnist"  # where nudges.py and the explorer look for the trained model

OPTIMIZERS = {  # name -> (make it, its default learning rate)
    "sgd": (lambda params, lr: SGD(params, lr), 3.0),  # Nielsen's book used 3.0 with this cost
    "momentum": (lambda params, lr: SGD(params, lr, momentum=0.9), 0.1),
    "adam": (lambda params, lr: Adam(params, lr), 0.001),
}


# Presets: options that go together. Any option given as well overrides the preset's.
# "best" was chosen on a validation split, never on the test digits: trained on the first 50,000
# training images, scored on the other 10,000 (seed 0, 20 epochs of 784-512-512-10): plain momentum
# 98.52%; with the cosine decay 98.45%; with shifts of up to 1 pixel as well 98.86%, of up to 2
# pixels 98.96%. 15 epochs of that: 98.87%, and they fit in a minute of training on 2 cores.
RECIPES = {
    "best": dict(hidden=[512, 512], activation="relu", cost="cross-entropy", optimizer="momentum", lr=0.1,
                 epochs=15, dtype="float32", lr_decay="cosine", shift=2),
}


def parse(argv, prog=None):
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--recipe", choices=list(RECIPES), help="a preset of the options below (see RECIPES)")
    parser.add_argument("--hidden", type=int, nargs="+", default=[16, 16], metavar="N", help="hidden layer sizes")
    parser.add_argument("--activation", choices=["sigmoid", "relu", "tanh"], default="sigmoid",
                        help="of the hidden layers")
    parser.add_argument("--cost", choices=list(COSTS), default="squared",
                        help="squared: sigmoid outputs; cross-entropy: linear outputs (logits)")
    parser.add_argument("--optimizer", choices=list(OPTIMIZERS), default="sgd", help="momentum is SGD with 0.9")
    parser.add_argument("--lr", type=float, help="learning rate (default: 3.0 sgd, 0.1 momentum, 0.001 adam)")
    parser.add_argument("--epochs", type=int, default=10, help="in all, counting those a resumed run already did")
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0, help="of the initial weights and the shuffling")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float64")
    parser.add_argument("--engine", choices=["fast", "scalar"], default="fast",
                        help="fast: a mini-batch at a time on arrays; scalar: a graph of Values per example")
    parser.add_argument("--workers", type=int, metavar="N",
                        help="with --engine scalar: processes that share each mini-batch (default: one per core)")
    parser.add_argument("--lr-decay", choices=["cosine"], help="lower the learning rate to 0 over the run")
    parser.add_argument("--shift", type=int, default=0, metavar="PIXELS",
                        help="move each training image by up to this many pixels at random")
    parser.add_argument("--data-dir", help="a directory of the four MNIST IDX files (default: cache, then download)")
    parser.add_argument("--out", help=f"where the checkpoint, the model and the pictures go (default: {DEFAULT_OUT} "
                                      "for the video's network, else a folder of runs/ named after the settings)")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--metrics-json", help="write the figures of every epoch to this file, after each epoch")
    recipe = parser.parse_known_args(argv)[0].recipe
    if recipe:
        parser.set_defaults(**RECIPES[recipe])
    args = parser.parse_args(argv)
    if args.out is None:
        args.out = default_out(args, parser)
    for name, what in (("out", "folder"), ("metrics_json", "file"), ("data_dir", "folder")):
        if getattr(args, name) == "":  # Path("") is the current folder: a run would write over what is there
            parser.error(f"--{name.replace('_', '-')} is empty: name a {what}")
    if not 0 <= args.shift <= 4:
        parser.error("--shift must be 0 to 4 pixels")
    for name in ("epochs", "batch_size"):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if min(args.hidden) < 1:
        parser.error("--hidden sizes must be at least 1")
    if args.lr is not None and not args.lr > 0:
        parser.error("--lr must be positive")
    if args.seed < 0:
        parser.error(f"--seed must be 0 or more, got {args.seed}")
    if args.metrics_json and Path(args.metrics_json).is_dir():
        parser.error(f"--metrics-json {args.metrics_json} is a folder; name a file")
    if args.metrics_json:
        what = next((what for what, path in taken(args).items() if same_file(args.metrics_json, path)), None)
        if what:
            parser.error(f"--metrics-json {args.metrics_json} is {what}: name a file of its own")
        try:
            check_target(args.metrics_json)
        except OSError as error:
            parser.error(f"--metrics-json {error}")
    # a network too large for this machine's memory, or for this process's address-space limit, is
    # refused here, with the estimate: numpy would otherwise fail mid-run with a MemoryError traceback
    per_parameter = VALUE_BYTES if args.engine == "scalar" else 4 * np.dtype(args.dtype).itemsize + 8
    try:
        sizes = check_network("--hidden", 784, args.hidden + [10], args.activation, "linear", args.seed, per_parameter)
        parameters = sum((m + 1) * n for m, n in zip(sizes, sizes[1:]))
        guard.check_memory(f"--hidden: layer sizes {sizes} ({parameters:,} parameters) with MNIST",
                           parameters * per_parameter + DATA_BYTES)
    except (ValueError, MemoryError) as error:
        parser.error(str(error))
    if args.workers is not None:
        try:
            scalar_train.check_workers(args.workers)
        except ValueError as error:
            parser.error(f"--workers: {error}")
    if args.engine == "scalar" and (args.recipe or args.lr_decay or args.shift):
        parser.error("--recipe, --lr-decay and --shift are for the fast engine")
    if args.engine == "scalar" and args.dtype != "float64":
        parser.error("--engine scalar computes with Python floats: float64 only")
    if args.workers is not None and (args.engine != "scalar" or args.workers < 1):
        parser.error("--workers is for --engine scalar, and must be at least 1")
    return args


DATA_BYTES = 2 * 70_000 * 784  # MNIST's images as bytes, and once more while they are read

NAMED = ["hidden", "activation", "cost", "optimizer", "lr", "batch_size", "seed", "dtype", "engine", "lr_decay", "shift"]


def default_out(args, parser):
    """runs/mnist for the video's network, else runs/ and a name made of the settings that differ from it.

    Two runs with different settings never write over each other, nor over the model that `make
    demo` made and the other tools read; a run with the same settings (to --resume it) finds its
    folder again. The number of epochs is no part of the name: --resume extends a run.
    """
    base = {name: parser.get_default(name) for name in NAMED}  # the video's, or a recipe's settings
    if args.lr is None or args.lr == OPTIMIZERS[args.optimizer][1]:
        args_lr = None
    else:
        args_lr = args.lr
    parts = [Path(args.data_dir).resolve().name if args.data_dir else "mnist"]
    if args.recipe:
        parts.append(args.recipe)
    for name in NAMED:
        value = args_lr if name == "lr" else getattr(args, name)
        if value == base[name] or (name == "lr" and value is None):
            continue
        if name == "hidden":
            parts.append("-".join(map(str, value)))
        elif name in ("lr", "batch_size", "seed", "shift"):
            parts.append(f"{dict(lr='lr', batch_size='batch', seed='seed', shift='shift')[name]}{value:g}")
        else:
            parts.append(str(value))
    if args.lr_decay:
        parts.append(f"{args.epochs}epochs")  # the schedule spans the run: another length is another run
    name = "-".join(parts)
    return DEFAULT_OUT if name == "mnist" else str(Path("runs") / "".join(c if c.isalnum() or c in "-._" else "_"
                                                                            for c in name))


OUTPUTS = {"the run's checkpoint": "checkpoint.npz", "the run's model": "model.npz", "the run's curves": "curves.png",
           "the run's mistakes": "mistakes.png", "the run's lock": guard.LOCK}  # in --out


def taken(args):
    """The files another output of this run must not replace, by what they are: its own outputs and its data."""
    files = {what: Path(args.out) / name for what, name in OUTPUTS.items()}
    if args.data_dir:
        for name, _ in mnist.IDX_FILES.values():
            for path in (Path(args.data_dir) / name, Path(args.data_dir) / (name + ".gz")):
                files[f"one of the --data-dir files ({path.name})"] = path
    else:
        files[mnist.CACHE] = mnist.cache_file()
    return files


def main(argv=None, prog=None):
    """The command: argv its arguments, prog how the user started it (for the lines it prints).

    Ctrl-C at any moment ends it with exit code 130 and a line or two, never a traceback: during
    training with the resume hint; before it, or a second Ctrl-C while the first is answered, with
    a word.
    """
    previous = signal.getsignal(signal.SIGINT)
    try:
        return _main(argv, prog)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a third one while leaving: nothing more to say
        print("\ninterrupted", file=sys.stderr)
        raise SystemExit(130) from None
    finally:
        signal.signal(signal.SIGINT, previous)  # as it was: main() can be called again in the same process


def _main(argv, prog):
    argv = sys.argv[1:] if argv is None else list(argv)
    prog = prog or "python -m nn.train"
    args = parse(argv, prog)
    started = time.time()
    out = Path(args.out)
    checkpoint = out / "checkpoint.npz"
    output = "sigmoid" if args.cost == "squared" else "linear"
    if args.engine == "scalar":
        net = MLP(784, args.hidden + [10], args.activation, output, seed=args.seed)  # the same weights
    else:
        net = FastMLP(784, args.hidden + [10], args.activation, output, seed=args.seed, dtype=np.dtype(args.dtype))
    make_optimizer, default_lr = OPTIMIZERS[args.optimizer]
    optimizer = make_optimizer(net.parameters(), default_lr if args.lr is None else args.lr)
    extras = (", cosine decay" if args.lr_decay else "") + (f", shifts of up to {args.shift} px" if args.shift else "")
    print(f"{net}, {args.cost} cost, {args.optimizer} lr {optimizer.lr:g}{extras}, batches of {args.batch_size}")
    if args.engine == "scalar":
        workers = args.workers or os.cpu_count() or 1
        print(f"scalar engine: one graph of Values per example, {workers} process{'es' if workers > 1 else ''}")

    done = 0  # epochs complete, and saved in the checkpoint

    def progress_bar(batches, epoch):
        nonlocal done
        done = epoch - 1
        guard.check_still_owned(out)
        yield from tqdm(batches, desc=f"epoch {epoch}", unit="batch", leave=False)
        guard.check_still_owned(out)  # before this epoch's checkpoint is written

    def after_epoch(history):
        nonlocal done
        done = history[-1]["epoch"]
        report(history[-1], args.epochs)
        guard.check_still_owned(out)
        if args.metrics_json:
            write_json(args.metrics_json, {"options": vars(args), "epochs": history})

    try:
        guard.interrupts_as_keyboard_interrupt()  # from here on, Ctrl-C ends with the resume hint below
        guard.own_output(out)  # refuses a second run on this --out; checks that it is writable, before training
        data = mnist.load_mnist(args.data_dir)
        if args.resume:
            print(f"resuming from {checkpoint}")
        history = train(net, optimizer, COSTS[args.cost], data, args.epochs, args.batch_size, args.seed,
                        checkpoint=checkpoint, resume=args.resume, on_epoch=after_epoch, progress=progress_bar,
                        workers=args.workers, lr_decay=args.lr_decay, shift=args.shift)
        test_set, data = data[2:], None  # let the 47 MB of training images go before drawing: a lower peak
        finish(net, history, test_set, out, args.data_dir)
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C while this is answered: no traceback
        done = guard.saved_epochs(checkpoint, started, done)  # Ctrl-C can come after a save, before `done` knows
        again = [*shlex.split(prog), *[a for a in argv if a != "--resume"]]
        if done or args.resume:
            after = f" after epoch {done}" if done else ""
            print(f"\ninterrupted: the checkpoint{after} is in {checkpoint}. To continue:\n"
                  f"  {shlex.join(again + ['--resume'])}", file=sys.stderr)
        else:
            print(f"\ninterrupted before the end of the first epoch. To start again:\n  {shlex.join(again)}",
                  file=sys.stderr)
        raise SystemExit(130) from None
    except (mnist.MnistError, ValueError, OSError, OverflowError) as error:
        hint = " (try a smaller --lr)" if isinstance(error, OverflowError) else ""
        raise SystemExit(f"{prog}: {error}{hint}") from None
    except MemoryError as error:  # beyond the estimate checked at the start: say so, with the limit
        limit = guard.address_space_limit()
        within = f" within its address-space limit of {limit / 2**30:.2f} GiB" if limit is not None else ""
        raise SystemExit(f"{prog}: ran out of memory{within} ({error or 'numpy could not allocate an array'}): "
                         "try smaller --hidden layers or --batch-size") from None
    finally:
        guard.release_output(out)
    return history


def finish(net, history, test_set, out, data_dir=None):
    """The final model, the curves and the mistakes, and the final figures."""
    test_images, test_labels = test_set
    guesses = predict(net, test_images)
    net.save(out / "model.npz")
    plot_curves(history, out / "curves.png")
    plot_mistakes(test_images, test_labels, guesses, out / "mistakes.png")
    seconds = sum(epoch["seconds"] for epoch in history)
    print(f"test accuracy {np.mean(guesses == test_labels):.2%} after {len(history)} epoch{'s' if len(history) != 1 else ''} "
          f"({seconds:.1f} s of training); wrote {out}/model.npz, curves.png, mistakes.png")
    print(what_next(net, out, data_dir), end="")


def what_next(net, out, data_dir=None):
    """Lines of commands to try on this network, each one that works on it today.

    The explorer and demos/nudges.py take the networks nn.explore.session.check_model accepts;
    for others, the lines say why not rather than print a command that would refuse.
    """
    model = out / "model.npz"
    options = "" if out == Path(DEFAULT_OUT) else f" --model {shlex.quote(str(model))}"
    if data_dir:
        options += f" --data-dir {shlex.quote(str(data_dir))}"
    lines = ["", "What to try next (with seebackprop installed, e.g. `source .venv/bin/activate` in a checkout):"]

    def row(command, what):
        lines.append(f"  {command:<41}  {what}" if len(command) <= 41 else f"  {command}\n  {'':<41}  {what}")
    try:
        from .explore.session import check_model
        check_model(FastMLP.from_scalar(net) if isinstance(net, MLP) else net, str(model))
        row(f"seebackprop explore{options}", "this network in your browser: draw a digit, see what it wants, train it")
        if Path("demos/nudges.py").exists():  # a checkout: the demos are not in the package
            row(f"python demos/nudges.py{options}", "what one digit asks of this network, in numbers and pictures")
    except ValueError as error:
        lines.append(f"  (the explorer and demos/nudges.py do not take this network yet: {error})")
    row("seebackprop step", "backpropagation through one neuron, a step per Enter")
    if Path("notebooks/tour.ipynb").exists():
        row("jupyter lab notebooks/tour.ipynb", 'the tour as a notebook (pip install -e ".[notebook]" first)')
    return "\n".join(lines) + "\n"


def report(figures, epochs):
    print(f"epoch {figures['epoch']}/{epochs}: cost {figures['cost']:.4f}, "
          f"test accuracy {figures['test_accuracy']:.2%} ({figures['seconds']:.1f} s)", flush=True)


def write_json(path, value):
    atomic_write(path, lambda file: file.write(json.dumps(value, indent=1).encode()))


# --- pictures ------------------------------------------------------------------------------

def save_figure(figure, path):
    atomic_write(path, lambda file: figure.savefig(file, format="png", dpi=100))
    plt.close(figure)


def plot_curves(history, path):
    epochs = [figures["epoch"] for figures in history]
    figure, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(epochs, [figures["cost"] for figures in history], "o-")
    left.set(xlabel="epoch", ylabel="mean training cost", title="cost")
    right.plot(epochs, [100 * figures["test_accuracy"] for figures in history], "o-", color="tab:green")
    right.set(xlabel="epoch", ylabel="% of the test digits right", title="test accuracy")
    for ax in (left, right):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # epochs are whole numbers
    figure.tight_layout()
    save_figure(figure, path)


def plot_mistakes(images, labels, guesses, path, rows=4, columns=8):
    """The first test digits the network got wrong, each titled with its guess and the truth.

    10 inches wide at 100 dpi, with text of 12 pt and more: 17 px when the picture is shown 1024 px
    wide, readable on a projector.
    """
    wrong = np.flatnonzero(guesses != labels)[:rows * columns]
    figure, axes = plt.subplots(rows, columns, figsize=(10, 1.45 * rows + 0.5))
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(images[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{guesses[i]} (true {labels[i]})", fontsize=12)
    title = f"{np.sum(guesses != labels):,} of {len(labels):,} test digits misread: guess (true)"
    figure.suptitle(title if len(wrong) else f"no mistakes on the {len(labels):,} test digits", fontsize=14)
    figure.tight_layout()
    save_figure(figure, path)

