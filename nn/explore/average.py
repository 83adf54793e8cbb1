"""Many examples, one step: what each example wants, their average, and why that average is the gradient.

The video's last step: every training example wants its own nudges to every weight and bias; the
average of those wishes over a mini-batch is the negative gradient of the mini-batch's cost, and a
step of gradient descent moves each weight by it. Here each example's wishes come from the chain
rule in numpy (wants.chain_rule), run once over the batch's arrays: row e of every array is example
e alone (nothing in a forward or backward pass mixes two rows), and its nudge to weight w_jk is the
product −∂C/∂z_j · a_k of two of its numbers. The batch's gradient comes from one backward() of the
Tensor engine over all of them, and the largest difference between the average and that gradient
travels with the numbers: the page shows the check. A nudge is −∂C/∂x, as everywhere in the
explorer: the way the example wants x to move.

Layers are numbered as in the video: 0 is the input, L the output.
"""
import numpy as np

from ..data import one_hot
from ..train import COSTS
from .wants import chain_rule, costs_of, forward, packed

SHOWN_SIDE_BY_SIDE = 8  # examples whose first-layer weight nudges the page shows


def gradients(weights, biases, kind, x, labels):
    """(cost, outputs, ∂C/∂w per layer, ∂C/∂b per layer) by the Tensor engine's backward() on the batch x."""
    ws, bs, _, a = forward(weights, biases, x, kind)
    loss = COSTS[kind.cost](a[-1], labels)
    loss.backward()
    return float(loss.data), a[-1].data, [w.grad for w in ws], [b.grad for b in bs]


def each_example(weights, biases, kind, xs, labels):
    """(costs, a, da, dz): every example's own cost, and each layer's activations, ∂C/∂a and ∂C/∂z
    (examples, size), by the chain rule on the batch's arrays, row by row: the same numbers as a
    backward() on each example alone. Its wish for weight w_jk of layer l is −dz[l][e, j] · a[l - 1][e, k]."""
    ys = one_hot(labels, len(biases[-1]))
    a, da, dz = chain_rule(weights, biases, xs, ys, kind)
    return costs_of(a[-1], ys, kind.cost), a, da, dz


def disagreement(layers, labels):
    """The weight that the examples pull hardest both ways: one wants it up, another down.

    layers: for each layer, (c, a), arrays (examples, nout) and (examples, nin): example e's nudge
    to weight w_jk is c[e, j] · a[e, k] (−∂C/∂z_j times the activation a_k it multiplies). For each
    weight, the strongest upward wish and the strongest downward wish; the weight whose weaker of
    the two is largest is the clearest tug of war. None if every weight is pulled one way.
    """
    best = None
    for l, (c, a) in enumerate(layers, start=1):
        up, down = np.empty((c.shape[1], a.shape[1])), np.empty((c.shape[1], a.shape[1]))
        for j in range(c.shape[1]):  # a neuron at a time: (examples, nin) numbers, never (examples, nout, nin)
            nudges = a * c[:, j:j + 1]
            nudges.max(axis=0, out=up[j])
            nudges.min(axis=0, out=down[j])
        tug = np.minimum(up, -down)
        j, k = np.unravel_index(np.argmax(tug), tug.shape)
        if tug[j, k] > 0 and (best is None or tug[j, k] > best["strength"]):
            pulls = c[:, j] * a[:, k]  # each example's nudge to this weight
            wants_up, wants_down = int(np.argmax(pulls)), int(np.argmin(pulls))
            best = {"layer": l, "neuron": int(j), "input": int(k), "strength": float(tug[j, k]),
                    "up": {"example": wants_up, "label": int(labels[wants_up]), "nudge": float(pulls[wants_up])},
                    "down": {"example": wants_down, "label": int(labels[wants_down]), "nudge": float(pulls[wants_down])},
                    "average": float(pulls.mean())}
    return best


def average(weights, biases, kind, xs, labels, learning_rate):
    """Each example's wishes, their average, the batch gradient it must equal, and one step by it.

    weights[l - 1], biases[l - 1]: layer l's (nout, nin) matrix and bias; kind: its activations and
    cost (wants.Kind); xs: (examples, 784) inputs in [0, 1]; labels: each example's target. The
    network's arrays are only read: the step is taken on copies.
    """
    labels = np.asarray(labels)
    n, last = len(labels), len(weights)
    costs, a, da_each, dz = each_example(weights, biases, kind, xs, labels)
    # each example's wishes for every weight, −∂C_e/∂w_jk = −∂C_e/∂z_j · a_k: an outer product each
    factors = [(-dz[l], a[l - 1]) for l in range(1, last + 1)]
    # their average: the sum of those outer products over the examples is the one matrix product dzᵀa
    dw_mean = [dz[l].T @ a[l - 1] / n for l in range(1, last + 1)]
    db_mean = [dz[l].mean(axis=0) for l in range(1, last + 1)]

    batch_cost, outputs, dw_batch, db_batch = gradients(weights, biases, kind, xs, labels)
    difference = max(float(np.max(np.abs(mine - theirs)))
                     for mine, theirs in zip(dw_mean + db_mean, dw_batch + db_batch))
    largest = max(float(np.max(np.abs(g))) for g in dw_batch + db_batch)

    # One step of gradient descent by the average: every weight moves by learning_rate × its average nudge.
    stepped_w = [w - learning_rate * g for w, g in zip(weights, dw_mean)]
    stepped_b = [b - learning_rate * g for b, g in zip(biases, db_mean)]
    after = each_example(stepped_w, stepped_b, kind, xs, labels)[0]
    return {
        "labels": labels.tolist(),
        "guesses": np.argmax(outputs, axis=1).tolist(),
        "costs": costs.tolist(),
        "costs_after": after.tolist(),
        "learning_rate": learning_rate,
        "batch_cost": batch_cost,
        "batch_cost_after": float(after.mean()),
        # What each example wants of the outputs and of the layer below (−∂C/∂a: each output's wishes,
        # summed), a row each, then their averages.
        "output_nudges": packed(-da_each[last], exact=True),
        "below_nudges": packed(-da_each[last - 1], exact=True) if last > 1 else None,
        "output_average": (-da_each[last].mean(axis=0)).tolist(),
        "below_average": (-da_each[last - 1].mean(axis=0)).tolist() if last > 1 else None,
        # First-layer weight nudges, one 28x28 image per neuron: for the first few examples, their two
        # factors, each first-layer neuron's nudge −∂C/∂z_j (times pixel k, the example's image, is the
        # nudge to w_jk: the page multiplies, where 8 x 16 x 784 products were 535 kB of the answer); the
        # average's whole.
        "z1_nudges": packed(factors[0][0][:SHOWN_SIDE_BY_SIDE], exact=True),
        "dw1_average": packed(-dw_mean[0]),
        "disagreement": disagreement(factors, labels),
        "_gradient": [g for pair in zip(dw_mean, db_mean) for g in pair],  # for a step, in parameters() order
        "check": {
            "engine": "the average of each example's nudges (the chain rule in numpy, an example a row)",
            "reference": "one backward() of the Tensor engine over the whole batch",
            "max_difference": difference,
            "agree": difference <= 1e-9 * max(1.0, largest),
        },
    }
