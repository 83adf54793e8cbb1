"""Many examples, one step: what each example wants, their average, and why that average is the gradient.

The video's last step: every training example wants its own nudges to every weight and bias; the
average of those wishes over a mini-batch is the negative gradient of the mini-batch's cost, and a
step of gradient descent moves each weight by it. Here each example's wishes come from its own
backward() (a batch of one), the batch's gradient from one backward() over all of them, and the
largest difference between the average and that gradient travels with the numbers: the page shows
the check. A nudge is −∂C/∂x, as everywhere in the explorer: the way the example wants x to move.

Layers are numbered as in the video: 0 is the input, L the output.
"""
import numpy as np

from .wants import Kind, forward, packed

SHOWN_SIDE_BY_SIDE = 8  # examples whose first-layer weight nudges travel as images: 8 x 16 x 784 numbers


def gradients(weights, biases, activation, output, cost, x, labels):
    """(cost, ∂C/∂a per layer, ∂C/∂w per layer, ∂C/∂b per layer) by backward() on the batch x."""
    ws, bs, _, a = forward(weights, biases, x, Kind(activation, output))
    loss = cost(a[-1], labels)
    loss.backward()
    return float(loss.data), [t.grad for t in a], [w.grad for w in ws], [b.grad for b in bs]


def disagreement(dw_each, labels):
    """The weight that the examples pull hardest both ways: one wants it up, another down.

    For each weight, the strongest upward wish and the strongest downward wish; the weight whose
    weaker of the two is largest is the clearest tug of war. None if every weight is pulled one way.
    """
    best = None
    for l, layer in enumerate(dw_each, start=1):  # (examples, nout, nin) of nudges, −∂C/∂w
        up, down = layer.max(axis=0), -layer.min(axis=0)
        tug = np.minimum(up, down)
        j, k = np.unravel_index(np.argmax(tug), tug.shape)
        if tug[j, k] > 0 and (best is None or tug[j, k] > best["strength"]):
            wants_up, wants_down = int(np.argmax(layer[:, j, k])), int(np.argmin(layer[:, j, k]))
            best = {"layer": l, "neuron": int(j), "input": int(k), "strength": float(tug[j, k]),
                    "up": {"example": wants_up, "label": int(labels[wants_up]), "nudge": float(layer[wants_up, j, k])},
                    "down": {"example": wants_down, "label": int(labels[wants_down]),
                             "nudge": float(layer[wants_down, j, k])},
                    "average": float(layer[:, j, k].mean())}
    return best


def average(weights, biases, activation, output, cost, xs, labels, learning_rate):
    """Each example's wishes, their average, the batch gradient it must equal, and one step by it.

    weights[l - 1], biases[l - 1]: layer l's (nout, nin) matrix and bias; xs: (examples, 784) inputs
    in [0, 1]; labels: each example's target; cost(outputs, labels): the network's cost, a mean over
    the examples (nn.train.COSTS). The network's arrays are only read: the step is taken on copies.
    """
    labels = np.asarray(labels)
    n = len(labels)
    each = [gradients(weights, biases, activation, output, cost, xs[e:e + 1], labels[e:e + 1]) for e in range(n)]
    costs = np.array([c for c, *_ in each])
    da_each = [np.concatenate([g[1][l] for g in each]) for l in range(len(weights) + 1)]  # (examples, size)
    dw_each = [np.stack([g[2][l] for g in each]) for l in range(len(weights))]
    db_each = [np.stack([g[3][l] for g in each]) for l in range(len(weights))]
    dw_mean = [layer.mean(axis=0) for layer in dw_each]
    db_mean = [layer.mean(axis=0) for layer in db_each]

    batch_cost, _, dw_batch, db_batch = gradients(weights, biases, activation, output, cost, xs, labels)
    difference = max(float(np.max(np.abs(mine - theirs)))
                     for mine, theirs in zip(dw_mean + db_mean, dw_batch + db_batch))
    largest = max(float(np.max(np.abs(g))) for g in dw_batch + db_batch)

    # One step of gradient descent by the average: every weight moves by learning_rate × its average nudge.
    stepped_w = [w - learning_rate * g for w, g in zip(weights, dw_mean)]
    stepped_b = [b - learning_rate * g for b, g in zip(biases, db_mean)]
    after = np.array([gradients(stepped_w, stepped_b, activation, output, cost, xs[e:e + 1], labels[e:e + 1])[0]
                      for e in range(n)])
    outputs = forward(weights, biases, xs, Kind(activation, output))[3][-1].data
    last = len(weights)
    return {
        "labels": labels.tolist(),
        "guesses": np.argmax(outputs, axis=1).tolist(),
        "costs": costs.tolist(),
        "costs_after": after.tolist(),
        "learning_rate": learning_rate,
        "batch_cost": batch_cost,
        "batch_cost_after": float(after.mean()),
        # What each example wants of the outputs and of the layer below (−∂C/∂a: each output's wishes,
        # summed), then their averages.
        "output_nudges": (-da_each[last]).tolist(),
        "below_nudges": (-da_each[last - 1]).tolist() if last > 1 else None,
        "output_average": (-da_each[last].mean(axis=0)).tolist(),
        "below_average": (-da_each[last - 1].mean(axis=0)).tolist() if last > 1 else None,
        # First-layer weight nudges: one 28x28 image per neuron, for the first few examples and the average.
        "dw1": [packed(-layer) for layer in dw_each[0][:SHOWN_SIDE_BY_SIDE]],
        "dw1_average": packed(-dw_mean[0]),
        "disagreement": disagreement([-layer for layer in dw_each], labels),
        "_gradient": [g for pair in zip(dw_mean, db_mean) for g in pair],  # for a step, in parameters() order
        "check": {
            "engine": "the average of each example's backward()",
            "reference": "one backward() over the whole batch",
            "max_difference": difference,
            "agree": difference <= 1e-9 * max(1.0, largest),
        },
    }
