"""What one training example wants: 3Blue1Brown's explanation of backpropagation, computed.

Takes a network of 784 inputs and up to 10 outputs (the video's 784-16-16-10, trained or freshly
initialised, or any MLP that FastMLP holds: any depth and width, sigmoid, tanh or ReLU, either
cost) and an example of the MNIST training set: by default the first 2 it misreads. Then it tells
the story in numbers: the nudge each output wants, how the right answer's neuron could get it from
its bias, its weights and its inputs, how every output's wishes add up to the previous layer's
gradient, what that means for the first layer's 784 weights, and how the wishes of several
examples average into the gradient of a mini-batch. Each claim is computed twice, by the chain rule
written out with numpy and by an engine's backward(), and checked.

    python demos/nudges.py                          # uses runs/mnist/model.npz if it is there
    python demos/nudges.py --model runs/recipe/model.npz --example 7 --out runs/nudges
"""
import argparse
import functools
import sys
import textwrap
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from autodiff.files import atomic_write  # noqa: E402
from nn.data import MnistError, load_mnist, one_hot  # noqa: E402
from nn.fast import FastMLP  # noqa: E402
from nn.nudges import (  # noqa: E402
    COST_WORDS, SLOPE_WORDS, SLOPES, as_input, by_engine, by_hand, by_tensor, chosen_weights, first_index, first_mistake,
    in_float64, minibatch_by_engine, minibatch_by_tensor, nudges_per_example, sensitivity, softmax, weight_name)
from nn.train import predict  # noqa: E402

DIGIT = 2  # the video's example
EXAMPLES = 8  # in the mini-batch table
SIZES = [784, 16, 16, 10]
SCALAR_LIMIT = 150_000  # parameters: up to this many, the network is built as Values (the video's has 13,002)
ROWS = 16  # a table longer than this shows the rows that matter most

# Every picture is 10 inches wide at 100 dpi, 1000 px: text of 11 pt is then 15.6 px when the picture
# is shown 1024 px wide, readable on a projector (tests/test_nudges.py measures every text).
WIDTH, DPI = 10, 100
STYLE = {"font.size": 12, "axes.titlesize": 13, "axes.labelsize": 12, "xtick.labelsize": 11,
         "ytick.labelsize": 11, "legend.fontsize": 11}


# --- the network, the data and the example ---


def load_network(path, seed):
    """(network, a sentence saying what it is). A missing file means a fresh network; a bad one, an error."""
    path = Path(path)
    if not path.exists():
        fresh = FastMLP(SIZES[0], SIZES[1:], "sigmoid", "sigmoid", seed=seed)
        return fresh, f"freshly initialised (seed {seed}), as there is no trained model at {path}"
    net = FastMLP.load(path)  # a ValueError naming the file if it is not a model
    if net.sizes[0] != 784 or not 2 <= net.sizes[-1] <= 10:
        raise ValueError(f"{path}: holds {net!r}, but this demo reads MNIST's digits: it needs 784 inputs "
                         f"and 2 to 10 outputs")
    return net, f"trained: weights from {path}"


def default_cost(net):
    """The cost a network was trained with, as demos/train_mnist.py pairs them: logits go with cross-entropy."""
    return "cross-entropy" if net.output == "linear" else "squared"


def choose_example(net, images, labels, digit=DIGIT, chunk=2000):
    """(index, why): the first `digit` the network misreads, else the first example it misreads, else the first `digit`."""
    first_wrong = None
    for start in range(0, len(labels), chunk):  # the first misread 2 is usually in the first thousand
        end = start + chunk
        found = first_mistake(predict(net, images[start:end]), labels[start:end], digit)
        if found is not None and labels[start + found] == digit:
            return start + found, f"the first {digit} it misreads"
        if first_wrong is None and found is not None:
            first_wrong = start + found
    if first_wrong is not None:
        has = (labels == digit).any()
        return first_wrong, (f"{'it reads every' if has else 'the set holds no'} {digit}{' right' if has else ''}; "
                             f"the first example it misreads")
    return first_index(labels, digit), f"the first {digit}: it reads every example right"


def describe(net, cost):
    hidden = "" if len(net.sizes) == 2 else f"{net.activation} hidden layers, "
    return (f"{'-'.join(map(str, net.sizes))}, {hidden}{net.output} outputs, the "
            f"{'squared-error' if cost == 'squared' else 'softmax cross-entropy'} cost")


def layer_name(l):
    return "the pixels" if l == 0 else f"layer {l}"


def units(l):
    """What layer l is made of: a network without hidden layers feeds its outputs the pixels."""
    return "pixels" if l == 0 else f"neurons of layer {l}"


# --- numbers that show: small ones on a scale that is said ---


def column_scale(*columns):
    """(divide by, header suffix): a power of ten that puts the largest number of the columns in 1..10.

    Numbers below 0.01 printed with four decimals would read +0.0000; on their own scale they show
    their digits, and the header says the scale.
    """
    largest = max((float(np.max(np.abs(c))) for c in columns if np.size(c)), default=0.0)
    if largest == 0.0 or largest >= 0.01:
        return 1.0, ""
    power = int(np.floor(np.log10(largest)))
    return 10.0 ** power, f" (×1e{power})"


def cell(x, divide, width):
    """x / divide with four decimals; one that would read 0.0000 but is not 0, in scientific notation."""
    x = x / divide + 0.0  # + 0.0: -0.0 (a negative error term times an activation of 0) reads as 0
    return f"{x:+{width}.4f}" if x == 0 or abs(x) >= 1e-3 else f"{x:+{width}.2e}"


def rows_to_show(*columns):
    """All the rows of a short table; of a long one, those where any column is largest, in order."""
    n = len(columns[0])
    if n <= ROWS:
        return list(range(n)), ""
    picked = set()
    for column in columns:
        picked.update(np.argsort(-np.abs(column), kind="stable")[: ROWS // len(columns)].tolist())
    return sorted(picked), f" ({len(picked)} of {n}: those with the largest numbers)"


def say_match(engine, hand, what, engine_name):
    """Report how far the engine's backward() is from the hand computation; stop if they disagree."""
    engine, hand = np.asarray(engine, dtype=np.float64), np.asarray(hand, dtype=np.float64)
    difference = float(np.max(np.abs(engine - hand)))
    scale = max(float(np.max(np.abs(hand))), 1e-300)
    if not np.allclose(engine, hand, rtol=1e-9, atol=1e-12 * scale):  # rounding is ~1e-16; a wrong rule is far off
        sys.exit(f"nudges: {what} does NOT match {engine_name} (max difference {difference:.3g}): "
                 f"one of the two routes has a bug")
    print(f"  {what} matches {engine_name}: max difference {difference:.1g}")


# --- the pictures ---


def save(figure, path):
    """Write a figure as a PNG atomically: a temporary file renamed over `path`."""
    atomic_write(path, lambda file: figure.savefig(file, format="png", dpi=DPI))
    print(f"  picture: {path}")


def figure(height):
    from matplotlib.figure import Figure  # no pyplot: nothing opens a window, no global state

    return Figure(figsize=(WIDTH, height), layout="constrained")


def styled(draw):
    """Run a section with the pictures' font sizes (each text takes them when it is made), leaving
    matplotlib's defaults as they were."""
    @functools.wraps(draw)
    def section(*args, **kwargs):
        import matplotlib

        with matplotlib.rc_context(STYLE):
            return draw(*args, **kwargs)
    return section


def bars(ax, values, title, xlabel, color_by_sign=True):
    values = np.asarray(values)
    colors = np.where(values >= 0, "tab:blue", "tab:red") if color_by_sign else "tab:gray"
    if len(values) > 32:  # a wide layer: one line per neuron, drawn at once (512 bars took seconds)
        ax.vlines(range(len(values)), 0, values, colors=colors, linewidth=1.2)
    else:
        ax.bar(range(len(values)), values, color=colors)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    if len(values) <= 20:
        ax.set_xticks(range(len(values)))


def diverging(ax, image, title, figure, **options):
    """A signed image on a scale centred on zero, with its colour bar: blue up, red down, white no change."""
    limit = float(np.max(np.abs(image))) or 1.0
    shown = ax.imshow(image, cmap="RdBu", vmin=-limit, vmax=limit, **options)
    ax.set_title(title)
    bar = figure.colorbar(shown, ax=ax, shrink=0.9)
    bar.formatter.set_powerlimits((-2, 3))  # small nudges as 1e-5 × ..., the scale printed above the bar
    bar.update_ticks()
    return shown


# --- the story, section by section ---


@styled
def outputs(net, hand, engine, y, digit, cost, name, out):
    a, nudge, wanted = hand.a[-1], -hand.da[-1], -engine.da[-1]
    p = softmax(a) if cost == "cross-entropy" else None  # what cross-entropy compares with the target
    formula, rule, where = COST_WORDS[cost]
    print(f"\n1. What this example wants of the outputs\n"
          f"The {len(a)} outputs against the target, which is 1 for the {digit} and 0 for the rest. The cost of this\n"
          f"one example is {formula} = {hand.cost:.4g}{where}.\nTo lower it, each output wants a nudge "
          f"in proportion to how far {'its softmax' if p is not None else 'it'} is from its target:\n"
          f"-∂C/∂a_j = {rule}.\n")
    divide, unit = column_scale(nudge, wanted)
    extra = "  softmax_j" if p is not None else ""
    print(f"  digit  output a_j{extra}  target y_j  nudge {rule}{unit}  {name}'s -∂C/∂a_j{unit}")
    for j in range(len(a)):
        mark = "   <- the right answer" if j == digit else ("   <- the network's guess" if j == np.argmax(a) else "")
        shown = f"  {p[j]:9.4f}" if p is not None else ""
        print(f"  {j:5d}  {cell(a[j], 1, 10)}{shown}  {y[j]:10.0f}  {cell(nudge[j], divide, len(rule) + len(unit) + 6)}"
              f"  {cell(wanted[j], divide, len(name) + len(unit) + 13)}{mark}")
    say_match(wanted, nudge, rule.replace("_j", ""), name + "'s gradient")
    others = [j for j in range(len(a)) if j != digit]
    keenest = max(others, key=lambda j: abs(nudge[j]))
    print(f"The {digit} wants a nudge of {nudge[digit]:+.4g}; of the other {len(others)}, which all want to go down, "
          f"the\n{keenest} wants the biggest, {nudge[keenest]:+.4g}, because it is the furthest from its target 0.")
    fig = figure(4.5)
    left, right = fig.subplots(1, 2)
    shown = p if p is not None else a
    left.bar(range(len(a)), shown, color="tab:gray", label="softmax_j" if p is not None else "output a_j")
    left.scatter(range(len(a)), y, color="black", marker="_", s=400, label="target y_j")
    left.set_title(f"Outputs for a {digit}, and the target")
    left.set_xticks(range(len(a)))
    left.set_xlabel("digit")
    left.legend()
    bars(right, nudge, f"The nudge each output wants: {rule}", "digit")
    save(fig, out / "outputs.png")


@styled
def output_neuron(net, hand, engine, digit, name, out):
    last = len(hand.dz) - 1
    w = net.weights[-1].data[digit]
    a_prev, a, dz = hand.a[last - 1], hand.a[last][digit], hand.dz[last][digit]
    weight_nudges, wishes = -dz * a_prev, -dz * w
    below = layer_name(last - 1)
    print(f"\n2. How the {digit} output can move: a = f(z), z = Σ_k w_k·a_k + b over the {len(w)} {units(last - 1)}\n"
          f"It has three ways: its bias, its weights, and the activations of {below}. All three act\n"
          f"through z, so each one's nudge is the error term -∂C/∂z times how z moves with it:\n"
          f"  ∂C/∂z = ∂C/∂a · f'(z), with f'(z) = {SLOPE_WORDS[net.output]}: "
          f"{hand.da[last][digit]:+.4g} · {SLOPES[net.output](a, a):.4g} = {dz:+.4g}\n"  # ReLU: z > 0 just when a > 0
          f"The bias: -∂C/∂b = -∂C/∂z · 1 = {-dz:+.4g} ({name}'s: {-engine.db[last][digit]:+.4g}).\n"
          f"The weights: -∂C/∂w_k = -∂C/∂z · a_k, in proportion to the activation each weight carries: the\n"
          f"weights from the brightest neurons change the most (\"neurons that fire together wire together\").\n"
          f"The activations below: the {digit} wishes each a_k moved by -∂C/∂z · w_k, in proportion to its\n"
          f"weight: up where the weight is positive, down where it is negative. It cannot move them itself, but it\n"
          f"can say so.\n")
    divide, unit = column_scale(weight_nudges, wishes)
    rows, which = rows_to_show(weight_nudges, wishes)
    print(f"  {units(last - 1)} k{which}; nudges{unit or ' as they are'}:")
    print(f"     k      a_k  -∂C/∂z·a_k  {name}'s -∂C/∂w_k       w_k  wish -∂C/∂z·w_k")
    for k in rows:
        print(f"  {k:4d}  {cell(a_prev[k], 1, 7)}  {cell(weight_nudges[k], divide, 10)}  "
              f"{cell(-engine.dw[last][digit, k], divide, len(name) + 13)}  {w[k]:+8.4f}  {cell(wishes[k], divide, 15)}")
    say_match(-engine.db[last][digit], -dz, "-∂C/∂z as the bias nudge", name + "'s gradient")
    say_match(-engine.dw[last][digit], weight_nudges, "-∂C/∂z · a_k as the weight nudges", name + "'s gradient")
    fig = figure(7)
    (a1, a2), (a3, a4) = fig.subplots(2, 2)
    bars(a1, a_prev, f"Activations a_k of {below}", "k", color_by_sign=False)
    bars(a2, weight_nudges, f"Weight nudges -∂C/∂z · a_k\n(-∂C/∂z = {-dz:+.3g})", "k")
    bars(a3, w, f"Weights w_k into the {digit}", "k")
    bars(a4, wishes, f"The {digit}'s wishes for a_k: -∂C/∂z · w_k", "k")
    save(fig, out / "output_neuron.png")


@styled
def all_wishes(net, hand, engine, digit, name, out, scalar_output_layer=None):
    last = len(hand.dz) - 1
    wishes = -hand.dz[last][:, None] * net.weights[-1].data  # row j: output j's wishes
    total = wishes.sum(axis=0)
    below, n_out = layer_name(last - 1), len(wishes)
    print(f"\n3. Adding up every output's wishes\n"
          f"The {digit} is one of {n_out} outputs, and each has wishes for {below}. The others want to go\n"
          f"down, so their wishes mostly point the other way. Adding all {n_out}, Σ_j -∂C/∂z_j · w_jk, says how\n"
          f"{below} should change to lower the cost: this sum is backpropagation. {name[0].upper()}{name[1:]}\n"
          f"gets the same numbers from backward() alone, as the .grad of {below}'s activations.\n")
    divide, unit = column_scale(wishes[digit], total)
    rows, which = rows_to_show(total)
    print(f"  {units(last - 1)} k{which}; wishes{unit or ' as they are'}:")
    print(f"     k  wish of the {digit}  sum of all {n_out} wishes  {name}'s -∂C/∂a_k")
    for k in rows:
        print(f"  {k:4d}  {cell(wishes[digit, k], divide, 12)}  {cell(total[k], divide, 19 + len(str(n_out)))}  "
              f"{cell(-engine.da[last - 1][k], divide, len(name) + 11)}")
    say_match(-engine.da[last - 1], total, "the sum of wishes", name + "'s gradient")
    if scalar_output_layer is not None:  # a wide network: the output layer alone, as Values, checks the fast path
        say_match(-scalar_output_layer.da[0], total, "the sum of wishes",
                  f"the scalar engine's gradient (the output layer alone, as Values, fed {below}'s activations)")
    if last > 1:
        print(f"{below[0].upper()}{below[1:]}'s neurons now want to move, so the same story repeats for their weights "
              f"and biases,\nand so on back to the first layer.")
    fig = figure(4.8)
    left, right = fig.subplots(1, 2)
    diverging(left, wishes, f"Each output's wishes for {below}:\n-∂C/∂z_j · w_jk", fig, aspect="auto",
              interpolation="nearest")
    left.set_ylabel("output j")
    left.set_xlabel("k")
    left.set_yticks(range(n_out))
    if wishes.shape[1] <= 20:
        left.set_xticks(range(wishes.shape[1]))
    bars(right, total, f"Their sum, and {name}'s\n-∂C/∂a_k (dots)", "k")
    right.scatter(range(len(total)), -engine.da[last - 1], color="black", zorder=3, s=12)
    save(fig, out / "wishes.png")


@styled
def first_layer(hand, engine, image, digit, name, out):
    dz = hand.dz[1]
    j = int(np.argmax(np.abs(dz)))
    nudges = -hand.dw[1][j]
    pixels = hand.a[0]
    print(f"\n4. {'One layer further back: ' if len(hand.dz) > 2 else ''}the first layer's 784 weights")
    if dz[j] == 0:
        print(f"No neuron of layer 1 is pushed at all: every error term ∂C/∂z is 0 (as a ReLU's slope is when it is "
              f"off),\nso for this example no first-layer weight can change the cost; neuron {j}'s nudges are all 0.")
    else:
        print(f"Of the {len(dz)} neurons of layer 1, this example pushes neuron {j} the hardest: its error term is\n"
              f"∂C/∂z = {dz[j]:+.3g}. Each of its 784 weights moves by -∂C/∂z · pixel_k, so the picture of its weight\n"
              f"nudges is the digit itself, scaled by {-dz[j]:+.3g}. The {int(np.sum(pixels == 0))} weights from black "
              f"pixels do not move at all.")
    say_match(-engine.dw[1][j], -dz[j] * pixels, "-∂C/∂z · pixel_k", name + "'s gradient")
    fig = figure(4.6)
    left, right = fig.subplots(1, 2)
    left.imshow(np.asarray(image).reshape(28, 28), cmap="gray")
    left.set_title(f"The example: a {digit}")
    left.set_xticks([])
    left.set_yticks([])
    diverging(right, nudges.reshape(28, 28), f"Nudges to neuron {j}'s 784 weights", fig)
    right.set_xticks([])
    right.set_yticks([])
    save(fig, out / "first_layer.png")


@styled
def minibatch(net, engine, weights, biases, images, labels, index, network, name, out):
    others = [i for i in range(len(labels)) if i != index and labels[i] < weights[-1].shape[0]][: EXAMPLES - 1]
    batch = sorted([index, *others])
    xs = [as_input(images[i]) for i in batch]
    ys = one_hot(np.asarray(labels)[batch], weights[-1].shape[0])
    batch_gradient = minibatch_by_engine if engine is not None else minibatch_by_tensor
    cost, dw, _ = batch_gradient(engine if engine is not None else net, xs, ys, network["cost"])
    chosen = chosen_weights(dw)
    table = nudges_per_example(weights, biases, xs, ys, chosen, **network)
    print(f"\n5. One example is not enough: averaging over a mini-batch\n"
          f"Those were the wishes of one {labels[index]}. Every other example has wishes of its own, and the video's\n"
          f"answer is to average them. Here is what {len(batch)} training examples want of a few weights, -∂C_e/∂w: the\n"
          f"most sensitive weight of each layer, then a typical one.\n")
    table = table + 0.0  # -0.0 (a negative error term times a black pixel) reads as 0
    average = table.mean(axis=1)
    header = "".join(f"{f'#{i}: a {labels[i]}':>11}" for i in batch)
    print(f"  {'weight':<12}{header}     average")
    for (l, j, k), row, mean in zip(chosen, table, average):
        cells = "".join(f"{x:+11.2e}" for x in row)
        print(f"  {f'w({l})_{j},{k}':<12}{cells}  {mean:+10.2e}")
    for weight in chosen:
        print(f"    {weight_name(weight)}")
    print(f"The mini-batch cost C = (1/{len(batch)}) Σ_e C_e = {cost:.4g}, differentiated by one backward(), gives\n"
          f"-∂C/∂w = the average column:")
    say_match([-dw[l][j, k] for l, j, k in chosen], average, "the average of the examples' nudges",
              name + "'s gradient of the mini-batch")
    fig = figure(2.2 + 0.75 * len(chosen))
    grid = fig.add_gridspec(2, len(batch) + 1, height_ratios=[1.5, 0.75 * len(chosen)])
    for column, i in enumerate(batch):
        ax = fig.add_subplot(grid[0, column])
        ax.imshow(np.asarray(images[i]).reshape(28, 28), cmap="gray")
        ax.set_title(f"#{i}: a {labels[i]}", fontsize=11)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, :])
    cells = np.column_stack([table, average])
    limit = float(np.max(np.abs(cells))) or 1.0
    shown = ax.imshow(cells, cmap="RdBu", vmin=-limit, vmax=limit, aspect="auto")
    for (r, c), value in np.ndenumerate(cells):
        color = "white" if abs(value) > 0.6 * limit else "black"
        ax.text(c, r, f"{value:+.1e}", ha="center", va="center", fontsize=11, color=color)
    ax.set_yticks(range(len(chosen)), [f"w({l})_{j},{k}" for l, j, k in chosen])
    ax.set_xticks(range(len(batch) + 1), [f"#{i}" for i in batch] + ["average"])
    ax.set_title("What each example wants of each weight, -∂C_e/∂w (one colour scale)")
    bar = fig.colorbar(shown, ax=ax, shrink=0.9)
    bar.formatter.set_powerlimits((-2, 3))
    bar.update_ticks()
    save(fig, out / "minibatch.png")
    return dw, xs


def most_sensitive(dw, xs):
    if not any(np.any(dw[l]) for l in range(1, len(dw))):
        print("\n6. What the gradient's sizes say\nNothing: every weight's gradient is 0 for this mini-batch, so no "
              "change to a weight would change its cost\n(every activation that feeds a weight is 0, or every slope "
              "behind it is, as a ReLU's is when it is off).")
        return
    s = sensitivity(dw)
    times = f"{float(f'{s.ratio:.3g}'):,.0f}" if s.ratio >= 100 else f"{s.ratio:.3g}"  # 3 digits, no e+06
    blank = int(np.sum(np.all(np.array(xs) == 0, axis=0))) * dw[1].shape[0]
    zero = s.total - s.moving
    why = (f"all of them from pixels that are black in every example" if blank == zero else
           f"{blank:,} of them from pixels that are black in every example, the other {zero - blank:,} where "
           f"an activation's slope is 0 for every example, as a ReLU's is when it is off")
    print(f"\n6. What the gradient's sizes say\n"
          f"For this mini-batch, the cost is {times} times more sensitive to\n"
          f"  {weight_name(s.largest)}\nthan to\n  {weight_name(s.typical)},")
    print(textwrap.fill(
        f"a typical weight: the median |∂C/∂w| of the {s.moving:,} weights whose gradient is not zero. The other "
        f"{zero:,} have a gradient of exactly 0 ({why}, so they cannot change the cost). The same small change to "
        f"the first weight changes the cost {times} times as much as a change to the second: the gradient's "
        f"components say which changes buy the most.", width=100))


def engines(net):
    """(scalar MLP or None, the engine's name, a sentence): Values when they fit in a moment, else Tensors."""
    parameters = sum(p.data.size for p in net.parameters())
    if parameters <= SCALAR_LIMIT:
        return net.to_scalar(), "the scalar engine", (
            f"the scalar engine's backward(), on the network built as {parameters:,} Values")
    return None, "the fast path", (
        f"the fast path's backward() (Tensors: the scalar engine's numpy twin, op for op), as {parameters:,}\n"
        f"parameters are too many to build as Values in a moment (the limit here is {SCALAR_LIMIT:,}); the output\n"
        f"layer is also built as Values, by the scalar engine, to check the sum of the wishes")


def main(argv=None, train=None):
    """`train`, if given, is (images, labels) to use instead of MNIST's training set (for tests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/mnist/model.npz", help="a FastMLP.save .npz (default: %(default)s)")
    parser.add_argument("--example", type=int, metavar="N",
                        help="training image N (default: the first 2 the network misreads)")
    parser.add_argument("--cost", choices=list(COST_WORDS),
                        help="default: cross-entropy for linear outputs (logits), else squared, as training pairs them")
    parser.add_argument("--data-dir", help="a directory holding the four MNIST IDX files")
    parser.add_argument("--out", default="runs/nudges", help="where to write the pictures (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="the initialisation, when there is no trained model")
    args = parser.parse_args(argv)
    try:
        net, which = load_network(args.model, args.seed)
        images, labels = train if train is not None else load_mnist(args.data_dir)[:2]
        labels, nout = np.asarray(labels), net.sizes[-1]
        if args.example is None:
            fits = np.flatnonzero(labels < nout)  # a network of k outputs reads the classes 0..k-1
            index, why = choose_example(net, images[fits], labels[fits])
            index = int(fits[index])
        elif not 0 <= args.example < len(labels) or labels[args.example] >= nout:
            raise ValueError(f"--example {args.example}: the training set has examples 0 to {len(labels) - 1}, "
                             f"and this network reads the classes 0 to {nout - 1}")
        else:
            index, why = args.example, "chosen with --example"
    except (ValueError, MnistError, OSError) as error:
        sys.exit(f"nudges: {error}")
    out = Path(args.out)
    cost = args.cost or default_cost(net)
    net = in_float64(net)  # float32 weights convert exactly; every route then computes in float64
    network = dict(activation=net.activation, output=net.output, cost=cost)
    weights = [w.data for w in net.weights]
    biases = [b.data for b in net.biases]
    digit = int(labels[index])
    x, y = as_input(images[index]), one_hot(np.array([digit]), nout)[0]
    mlp, name, computed_by = engines(net)
    hand = by_hand(weights, biases, x, y, **network)
    engine = by_engine(mlp, x, y, cost) if mlp is not None else by_tensor(net, x, y, cost)
    guess = int(np.argmax(hand.a[-1]))
    read = f"reads as a {guess}" if guess != digit else "reads right"
    print(f"The network: {describe(net, cost)}; {which}.\n"
          f"The example: training image #{index}, a {digit} that the network {read} ({why}).\n"
          f"Computed by {computed_by};\nchecked against the chain rule written out in numpy.")
    if guess == digit:
        print(f"The network already reads this {digit} right, so its cost is small ({hand.cost:.3g}) and so is every "
              f"nudge below:\nan example the network gets right has little to teach it. For large nudges, choose one it "
              f"misreads\n(--example N) or an untrained network (--model of a file that does not exist).")
    outputs(net, hand, engine, y, digit, cost, name, out)
    output_neuron(net, hand, engine, digit, name, out)
    scalar_output_layer = None
    if mlp is None:  # the output layer alone as Values, on the last hidden layer's activations
        layer = FastMLP(net.sizes[-2], [nout], net.output, net.output)
        layer.weights[0].data[...], layer.biases[0].data[...] = weights[-1], biases[-1]
        scalar_output_layer = by_engine(layer.to_scalar(), hand.a[-2], y, cost)
    all_wishes(net, hand, engine, digit, name, out, scalar_output_layer)
    first_layer(hand, engine, images[index], digit, name, out)
    dw, xs = minibatch(net, mlp, weights, biases, images, labels, index, network, name, out)
    most_sensitive(dw, xs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
