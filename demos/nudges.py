"""What one training example wants: 3Blue1Brown's explanation of backpropagation, computed.

Takes the video's 784-16-16-10 network (sigmoid everywhere), trained or freshly initialised, and
the first 2 of the MNIST training set, and tells the story in numbers: the nudge each output wants,
how the "2" neuron's bias, weights and inputs could give it, how the ten outputs' wishes add up to
the previous layer's gradient, what that means for the first layer's 784 weights, and how the
wishes of several examples average into the gradient of a mini-batch. Each claim is computed twice,
by the chain rule written out with numpy and by the scalar engine's backward(), and checked.

    python demos/nudges.py                          # uses runs/mnist/model.npz if it is there
    python demos/nudges.py --model my.npz --out runs/nudges
"""
import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing

from autodiff.files import atomic_write  # noqa: E402
from nn.data import MnistError, load_mnist, one_hot  # noqa: E402
from nn.fast import FastMLP  # noqa: E402
from nn.nudges import (  # noqa: E402
    as_input, by_engine, by_hand, chosen_weights, first_index, minibatch_by_engine, nudges_per_example,
    sensitivity, weight_name)

DIGIT = 2  # the video's example
EXAMPLES = 8  # in the mini-batch table
SIZES = [784, 16, 16, 10]


# --- the network and the data ---


def load_network(path, seed):
    """(network, a sentence saying what it is). A missing file means a fresh network; a bad one, an error."""
    path = Path(path)
    if not path.exists():
        fresh = FastMLP(SIZES[0], SIZES[1:], "sigmoid", "sigmoid", seed=seed)
        return fresh, f"freshly initialised (seed {seed}), as there is no trained model at {path}"
    net = FastMLP.load(path)  # a ValueError naming the file if it is not a model
    if net.activation != "sigmoid" or net.output != "sigmoid" or net.sizes[0] != 784 or net.sizes[-1] != 10:
        raise ValueError(f"{path}: holds {net!r}, but this demo explains the video's network: "
                         f"784 inputs, 10 outputs, sigmoid everywhere")
    return net, f"trained: weights from {path}"


def say_match(engine, hand, what):
    """Report how far the engine's backward() is from the hand computation; stop if they disagree."""
    engine, hand = np.asarray(engine, dtype=np.float64), np.asarray(hand, dtype=np.float64)
    difference = float(np.max(np.abs(engine - hand)))
    if not np.allclose(engine, hand, rtol=1e-9, atol=1e-12):  # rounding is ~1e-16; a wrong rule is far off
        sys.exit(f"nudges: {what} does NOT match the engine's gradient (max difference {difference:.3g}): "
                 f"one of the two routes has a bug")
    print(f"  {what} matches the engine's gradient: max difference {difference:.1g}")


# --- the pictures ---


def save(figure, path):
    """Write a figure as a PNG atomically: a temporary file renamed over `path`."""
    atomic_write(path, lambda file: figure.savefig(file, format="png", dpi=100))
    print(f"  picture: {path}")


def figure(width, height):
    from matplotlib.figure import Figure  # no pyplot: nothing opens a window, no global state

    return Figure(figsize=(width, height), layout="constrained")


def bars(ax, values, title, xlabel, color_by_sign=True):
    values = np.asarray(values)
    colors = np.where(values >= 0, "tab:blue", "tab:red") if color_by_sign else "tab:gray"
    ax.bar(range(len(values)), values, color=colors)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_title(title, fontsize=10)
    ax.set_xlabel(xlabel)
    ax.set_xticks(range(len(values)))


def diverging(ax, image, title):
    """A signed image: blue for up, red for down, white for no change."""
    limit = float(np.max(np.abs(image))) or 1.0
    shown = ax.imshow(image, cmap="RdBu", vmin=-limit, vmax=limit)
    ax.set_title(title, fontsize=10)
    ax.set_xticks([])
    ax.set_yticks([])
    return shown


# --- the story, section by section ---


def outputs(hand, engine, y, out):
    a, nudge = hand.a[-1], -hand.da[-1]
    print(f"\n1. What this example wants of the outputs\n"
          f"The ten outputs against the target, which is 1 for the {DIGIT} and 0 for the rest. The cost of this\n"
          f"one example is C = Σ_j (a_j - y_j)² = {hand.cost:.4f}. To lower it, each output wants a nudge in\n"
          f"proportion to how far it is from its target: -∂C/∂a_j = -2(a_j - y_j).\n")
    print("  digit  output a_j  target y_j  nudge -2(a_j - y_j)  engine's -∂C/∂a_j")
    for j in range(len(a)):
        mark = "   <- the right answer" if j == DIGIT else ""
        print(f"  {j:5d}  {a[j]:10.4f}  {y[j]:10.0f}  {nudge[j]:+19.4f}  {-engine.da[-1][j]:+17.4f}{mark}")
    say_match(-engine.da[-1], nudge, "-2(a - y)")
    others = [j for j in range(len(a)) if j != DIGIT]
    keenest = max(others, key=lambda j: abs(nudge[j]))
    print(f"The {DIGIT} wants a nudge of {nudge[DIGIT]:+.4f}; of the other nine, which all want to go down, the\n"
          f"{keenest} wants the biggest, {nudge[keenest]:+.4f}, because it is the furthest from its target 0.")
    fig = figure(10, 3.5)
    left, right = fig.subplots(1, 2)
    left.bar(range(10), a, color="tab:gray", label="output a_j")
    left.scatter(range(10), y, color="black", marker="_", s=400, label="target y_j")
    left.set_title(f"Outputs for a {DIGIT}, and the target", fontsize=10)
    left.set_xticks(range(10))
    left.set_xlabel("digit")
    left.legend(fontsize=8)
    bars(right, nudge, "The nudge each output wants: -2(a_j - y_j)", "digit")
    save(fig, out / "outputs.png")


def output_neuron(net, hand, engine, out):
    last = len(hand.dz) - 1
    w = net.weights[-1].data[DIGIT].astype(np.float64)
    a_prev, a, dz = hand.a[last - 1], hand.a[last][DIGIT], hand.dz[last][DIGIT]
    weight_nudges, wishes = -dz * a_prev, -dz * w
    print(f"\n2. How the {DIGIT} output can move: a = σ(z), z = Σ_k w_k·a_k + b over the {len(w)} neurons of layer {last - 1}\n"
          f"It has three ways: its bias, its weights, and the activations of the previous layer. All three act\n"
          f"through z, so each one's nudge is the error term -∂C/∂z times how z moves with it:\n"
          f"  ∂C/∂z = ∂C/∂a · σ'(z) = 2(a - y) · a(1 - a) = {2 * (a - 1):+.4f} · {a * (1 - a):.4f} = {dz:+.4f}\n"
          f"The bias: -∂C/∂b = -∂C/∂z · 1 = {-dz:+.4f} (the engine's: {-engine.db[last][DIGIT]:+.4f}).\n"
          f"The weights: -∂C/∂w_k = -∂C/∂z · a_k, in proportion to the activation each weight carries: the\n"
          f"weights from the brightest neurons change the most (\"neurons that fire together wire together\").\n"
          f"The previous activations: the {DIGIT} wishes each a_k moved by -∂C/∂z · w_k, in proportion to its weight:\n"
          f"up where the weight is positive, down where it is negative. It cannot move them itself, but it can say so.\n")
    print("     k      a_k  -∂C/∂z·a_k  engine's -∂C/∂w_k       w_k  wish -∂C/∂z·w_k")
    for k in range(len(w)):
        print(f"  {k:4d}  {a_prev[k]:7.4f}  {weight_nudges[k]:+10.4f}  {-engine.dw[last][DIGIT, k]:+17.4f}"
              f"  {w[k]:+8.4f}  {wishes[k]:+15.4f}")
    say_match(-engine.db[last][DIGIT], -dz, "-∂C/∂z as the bias nudge")
    say_match(-engine.dw[last][DIGIT], weight_nudges, "-∂C/∂z · a_k as the weight nudges")
    fig = figure(10, 6)
    (a1, a2), (a3, a4) = fig.subplots(2, 2)
    bars(a1, a_prev, f"Activations a_k of layer {last - 1}", "k", color_by_sign=False)
    bars(a2, weight_nudges, f"Weight nudges -∂C/∂z · a_k (-∂C/∂z = {-dz:+.3f})", "k")
    bars(a3, w, f"Weights w_k into the {DIGIT}", "k")
    bars(a4, wishes, f"The {DIGIT}'s wishes for a_k: -∂C/∂z · w_k", "k")
    save(fig, out / "output_neuron.png")


def all_wishes(net, hand, engine, out):
    last = len(hand.dz) - 1
    wishes = -hand.dz[last][:, None] * net.weights[-1].data.astype(np.float64)  # row j: output j's wishes
    total = wishes.sum(axis=0)
    print(f"\n3. Adding up every output's wishes\n"
          f"The {DIGIT} is one of ten outputs, and each has wishes for layer {last - 1}. The nine others want to go\n"
          f"down, so their wishes mostly point the other way. Adding all ten, Σ_j -∂C/∂z_j · w_jk, says how\n"
          f"layer {last - 1} should change to lower the cost: this sum is backpropagation. The engine gets the same\n"
          f"numbers from backward() alone, as the .grad of layer {last - 1}'s activations.\n")
    print(f"     k  wish of the {DIGIT}  sum of all 10 wishes  engine's -∂C/∂a_k")
    for k in range(len(total)):
        print(f"  {k:4d}  {wishes[DIGIT, k]:+12.4f}  {total[k]:+20.4f}  {-engine.da[last - 1][k]:+17.4f}")
    say_match(-engine.da[last - 1], total, "the sum of wishes")
    print(f"Layer {last - 1}'s neurons now want to move, so the same story repeats for their weights and biases,\n"
          f"and so on back to the first layer.")
    fig = figure(11, 4)
    left, right = fig.subplots(1, 2, width_ratios=[1.2, 1])
    shown = diverging(left, wishes, f"Each output's wishes for layer {last - 1}: -∂C/∂z_j · w_jk")
    left.set_ylabel("output j")
    left.set_xlabel("k")
    left.set_yticks(range(10))
    left.set_xticks(range(wishes.shape[1]))
    fig.colorbar(shown, ax=left, shrink=0.8)
    bars(right, total, "Their sum, and the engine's -∂C/∂a_k (dots)", "k")
    right.scatter(range(len(total)), -engine.da[last - 1], color="black", zorder=3, s=12)
    save(fig, out / "wishes.png")


def first_layer(hand, engine, image, out):
    dz = hand.dz[1]
    j = int(np.argmax(np.abs(dz)))
    nudges = -hand.dw[1][j]
    pixels = hand.a[0]
    print(f"\n4. One layer further back: the first layer's 784 weights\n"
          f"Of the 16 neurons of layer 1, this example pushes neuron {j} the hardest: its error term is\n"
          f"∂C/∂z = {dz[j]:+.3g}. Each of its 784 weights moves by -∂C/∂z · pixel_k, so the picture of its weight\n"
          f"nudges is the digit itself, scaled by {-dz[j]:+.3g}. The {int(np.sum(pixels == 0))} weights from black pixels "
          f"do not move at all.")
    say_match(-engine.dw[1][j], -dz[j] * pixels, "-∂C/∂z · pixel_k")
    fig = figure(7, 3.5)
    left, right = fig.subplots(1, 2)
    left.imshow(np.asarray(image).reshape(28, 28), cmap="gray")
    left.set_title(f"The example: a {DIGIT}", fontsize=10)
    left.set_xticks([])
    left.set_yticks([])
    shown = diverging(right, nudges.reshape(28, 28), f"Nudges to neuron {j}'s 784 weights")
    fig.colorbar(shown, ax=right, shrink=0.8)
    save(fig, out / "first_layer.png")


def minibatch(mlp, weights, biases, images, labels, index, out):
    others = [i for i in range(len(labels)) if i != index][: EXAMPLES - 1]
    batch = sorted([index, *others])
    xs = [as_input(images[i]) for i in batch]
    ys = one_hot(np.asarray(labels)[batch], 10)
    cost, dw, _ = minibatch_by_engine(mlp, xs, ys)
    chosen = chosen_weights(dw)
    table = nudges_per_example(weights, biases, xs, ys, chosen)
    print(f"\n5. One example is not enough: averaging over a mini-batch\n"
          f"Those were the wishes of one {DIGIT}. Every other example has wishes of its own, and the video's answer\n"
          f"is to average them. Here is what {len(batch)} training examples want of a few weights, -∂C_e/∂w: the\n"
          f"most sensitive weight of each layer, then a typical one.\n")
    table = table + 0.0  # -0.0 (a negative error term times a black pixel) reads as 0
    average = table.mean(axis=1)
    header = "".join(f"{f'#{i}: a {labels[i]}':>10}" for i in batch)
    print(f"  {'weight':<12}{header}     average")
    for (l, j, k), row, mean in zip(chosen, table, average):
        cells = "".join(f"{x:+10.2e}" for x in row)
        print(f"  {f'w({l})_{j},{k}':<12}{cells}  {mean:+10.2e}")
    for name in chosen:
        print(f"    {weight_name(name)}")
    print(f"The mini-batch cost C = (1/{len(batch)}) Σ_e C_e = {cost:.4f}, differentiated by one backward(), gives\n"
          f"-∂C/∂w = the average column:")
    say_match([-dw[l][j, k] for l, j, k in chosen], average, "the average of the examples' nudges")
    fig = figure(1.2 * (len(batch) + 1) + 1.5, 1.2 + 0.6 * len(chosen))
    grid = fig.add_gridspec(2, len(batch) + 1, height_ratios=[1.2, 0.6 * len(chosen)])
    for column, i in enumerate(batch):
        ax = fig.add_subplot(grid[0, column])
        ax.imshow(np.asarray(images[i]).reshape(28, 28), cmap="gray")
        ax.set_title(f"#{i}: a {labels[i]}", fontsize=9)
        ax.axis("off")
    ax = fig.add_subplot(grid[1, :])
    cells = np.column_stack([table, average])
    scale = np.max(np.abs(cells), axis=1, keepdims=True)
    shade = cells / np.where(scale > 0, scale, 1.0)
    ax.imshow(shade, cmap="RdBu", vmin=-1, vmax=1, aspect="auto")
    for (r, c), value in np.ndenumerate(cells):
        color = "white" if abs(shade[r, c]) > 0.6 else "black"
        ax.text(c, r, f"{value:+.1e}", ha="center", va="center", fontsize=8, color=color)
    ax.set_yticks(range(len(chosen)), [f"w({l})_{j},{k}" for l, j, k in chosen])
    ax.set_xticks(range(len(batch) + 1), [f"#{i}" for i in batch] + ["average"])
    ax.set_title("What each example wants of each weight, -∂C_e/∂w (colour scaled per row)", fontsize=10)
    save(fig, out / "minibatch.png")
    return dw, xs


def most_sensitive(dw, xs):
    s = sensitivity(dw)
    times = f"{float(f'{s.ratio:.3g}'):,.0f}" if s.ratio >= 100 else f"{s.ratio:.3g}"  # 3 digits, no e+06
    blank = int(np.sum(np.all(np.array(xs) == 0, axis=0))) * dw[1].shape[0]
    zero = s.total - s.moving
    which = "all of them" if blank == zero else f"{blank:,} of them"
    print(f"\n6. What the gradient's sizes say\n"
          f"For this mini-batch, the cost is {times} times more sensitive to\n"
          f"  {weight_name(s.largest)}\nthan to\n  {weight_name(s.typical)},\n"
          f"a typical weight: the median |∂C/∂w| of the {s.moving:,} weights whose gradient is not zero. The other\n"
          f"{zero:,} have a gradient of exactly 0 ({which} from pixels that are black in every example, so\n"
          f"they cannot change the cost). The same small change to the first weight changes the cost {times} times\n"
          f"as much as a change to the second: the gradient's components say which changes buy the most.")


def main(argv=None, train=None):
    """`train`, if given, is (images, labels) to use instead of MNIST's training set (for tests)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="runs/mnist/model.npz", help="a FastMLP.save .npz (default: %(default)s)")
    parser.add_argument("--data-dir", help="a directory holding the four MNIST IDX files")
    parser.add_argument("--out", default="runs/nudges", help="where to write the pictures (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="the initialisation, when there is no trained model")
    args = parser.parse_args(argv)
    try:
        net, which = load_network(args.model, args.seed)
        images, labels = train if train is not None else load_mnist(args.data_dir)[:2]
        index = first_index(labels, DIGIT)
    except (ValueError, MnistError, OSError) as error:
        sys.exit(f"nudges: {error}")
    out = Path(args.out)

    weights = [w.data.astype(np.float64) for w in net.weights]
    biases = [b.data.astype(np.float64) for b in net.biases]
    mlp = net.to_scalar()
    x, y = as_input(images[index]), one_hot(np.array([DIGIT]), 10)[0]
    hand, engine = by_hand(weights, biases, x, y), by_engine(mlp, x, y)
    print(f"The network: {'-'.join(map(str, net.sizes))}, sigmoid everywhere, {which}.\n"
          f"The example: training image #{index}, the first {DIGIT} of the training set.")
    outputs(hand, engine, y, out)
    output_neuron(net, hand, engine, out)
    all_wishes(net, hand, engine, out)
    first_layer(hand, engine, images[index], out)
    dw, xs = minibatch(mlp, weights, biases, images, labels, index, out)
    most_sensitive(dw, xs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
