"""Train a network to read handwritten digits (MNIST), as in 3Blue1Brown's video.

The defaults are the video's network: 784 pixels in, two hidden layers of 16 sigmoid neurons, 10
sigmoid outputs, the squared-error cost, plain stochastic gradient descent on batches of 100.

    python demos/train_mnist.py            # the video's network: 94.6% of the test digits, in 10 s
    python demos/train_mnist.py --resume   # continue a run that was interrupted (Ctrl-C)
    python demos/train_mnist.py --engine scalar --epochs 1   # the same network as Values, a graph per digit

A wider network, with the cost and optimizer of common practice: 98.4% after 25 to 40 s of training:

    python demos/train_mnist.py --hidden 512 --activation relu --cost cross-entropy \
        --optimizer momentum --lr 0.1 --dtype float32 --out runs/mnist-512

The best recipe we found for a minute of training (see RECIPES): 99.1% of the test digits in 50 s:

    python demos/train_mnist.py --recipe best --out runs/mnist-best

The output layer follows the cost: sigmoid outputs for the squared error (each output a 0..1
"how much is it this digit"), linear outputs (logits) for cross-entropy, whose softmax is part
of the cost. Written to --out: checkpoint.npz after every epoch; at the end model.npz (load it
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


def interrupted_while_starting(signum, frame):
    """Exit at once: raised inside an import, an exception would come out as numpy's ImportError."""
    print("\ninterrupted while starting: nothing was written", file=sys.stderr, flush=True)
    os._exit(130)  # nothing is open for writing yet


if __name__ == "__main__":  # Ctrl-C during start-up (the imports take a second): exit 130, no traceback
    signal.signal(signal.SIGINT, interrupted_while_starting)

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
from tqdm import tqdm  # noqa: E402

matplotlib.use("Agg")  # pictures go to files, never to a window
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from autodiff.files import atomic_write  # noqa: E402
from nn import data as mnist  # noqa: E402
from nn import guard  # noqa: E402
from nn.fast import FastMLP  # noqa: E402
from nn.mlp import check_network  # noqa: E402
from nn.mlp import MLP  # noqa: E402
from nn.optim import SGD, Adam  # noqa: E402
from nn.train import COSTS, predict, train  # noqa: E402

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


def parse(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
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
    parser.add_argument("--out", default=DEFAULT_OUT, help="where the checkpoint, the model and the pictures go")
    parser.add_argument("--resume", action="store_true", help="continue from the checkpoint in --out")
    parser.add_argument("--metrics-json", help="write the figures of every epoch to this file, after each epoch")
    recipe = parser.parse_known_args(argv)[0].recipe
    if recipe:
        parser.set_defaults(**RECIPES[recipe])
    args = parser.parse_args(argv)
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
    try:  # a network too large for this machine's memory is refused here, with the estimate
        check_network("--hidden", 784, args.hidden + [10], args.activation, "linear", args.seed,
                      4 * np.dtype(args.dtype).itemsize + 8)
    except ValueError as error:
        parser.error(str(error))
    if args.engine == "scalar" and (args.recipe or args.lr_decay or args.shift):
        parser.error("--recipe, --lr-decay and --shift are for the fast engine")
    if args.engine == "scalar" and args.dtype != "float64":
        parser.error("--engine scalar computes with Python floats: float64 only")
    if args.workers is not None and (args.engine != "scalar" or args.workers < 1):
        parser.error("--workers is for --engine scalar, and must be at least 1")
    return args


def main(argv=None):
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse(argv)
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
        return tqdm(batches, desc=f"epoch {epoch}", unit="batch", leave=False)

    def after_epoch(history):
        nonlocal done
        done = history[-1]["epoch"]
        report(history[-1], args.epochs)
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
        finish(net, history, test_set, out)
    except KeyboardInterrupt:
        done = guard.saved_epochs(checkpoint, started, done)  # Ctrl-C can come after a save, before `done` knows
        again = [Path(sys.executable).name, os.path.relpath(__file__), *[a for a in argv if a != "--resume"]]
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
        raise SystemExit(f"train_mnist: {error}{hint}") from None
    finally:
        guard.release_output(out)
    return history


def finish(net, history, test_set, out):
    """The final model, the curves and the mistakes, and the final figures."""
    test_images, test_labels = test_set
    guesses = predict(net, test_images)
    net.save(out / "model.npz")
    plot_curves(history, out / "curves.png")
    plot_mistakes(test_images, test_labels, guesses, out / "mistakes.png")
    seconds = sum(epoch["seconds"] for epoch in history)
    print(f"test accuracy {np.mean(guesses == test_labels):.2%} after {len(history)} epoch{'s' if len(history) != 1 else ''} "
          f"({seconds:.1f} s of training); wrote {out}/model.npz, curves.png, mistakes.png")
    if out == Path(DEFAULT_OUT):  # what `make demo` made: the other tools read it from there
        print(NEXT, end="")


NEXT = """
What to try next (in the environment `make` made: source .venv/bin/activate):
  make explore                               this network in your browser: draw a digit, see what it wants, train it
  python demos/nudges.py                     what one "2" asks of this network, in numbers and pictures
  python -m autodiff.walkthrough             backpropagation through one neuron, a step per Enter
  jupyter lab notebooks/tour.ipynb           the tour as a notebook (pip install -e ".[notebook]" first)
"""


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
    """The first test digits the network got wrong, each titled with its guess and the truth."""
    wrong = np.flatnonzero(guesses != labels)[:rows * columns]
    figure, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.7 * rows))
    for ax in axes.flat:
        ax.axis("off")
    for ax, i in zip(axes.flat, wrong):
        ax.imshow(images[i].reshape(28, 28), cmap="gray_r")
        ax.set_title(f"{guesses[i]} (true {labels[i]})", fontsize=10)
    title = f"{np.sum(guesses != labels)} of {len(labels)} test digits misread: guess (true)"
    figure.suptitle(title if len(wrong) else f"no mistakes on the {len(labels)} test digits")
    figure.tight_layout()
    save_figure(figure, path)


if __name__ == "__main__":
    main()
