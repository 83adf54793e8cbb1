"""Costs, for both engines side by side: a list of examples of Values, or a Tensor of shape (batch, k)."""
import numpy as np

from autodiff.tensor import Tensor


def squared_error(outputs, targets):
    """The video's cost: per example, the sum of (output - target)² over the outputs; then the mean over examples.

    Its gradient for one output is 2·(output - target): each example wants every output nudged in
    proportion to how far it is from its target.
    """
    if isinstance(outputs, Tensor):
        return ((outputs - targets) ** 2).sum(axis=1).mean()
    per_example = [sum((o - t) ** 2 for o, t in zip(out, target)) for out, target in zip(outputs, targets)]
    return sum(per_example) * (1.0 / len(per_example))


def cross_entropy(logits, labels):
    """Softmax cross-entropy, -log(softmax(logits)[label]), averaged over examples.

    Computed as log(sum(exp(z - m))) - (z[label] - m) with m the largest logit: softmax does not
    change when every logit moves by the same amount, and then no exp can overflow.
    """
    if isinstance(logits, Tensor):
        labels = np.asarray(labels)
        shifted = logits - logits.data.max(axis=1, keepdims=True)
        picked = (shifted * np.eye(logits.shape[1])[labels]).sum(axis=1)
        return (shifted.exp().sum(axis=1).log() - picked).mean()
    per_example = []
    for out, label in zip(logits, labels):
        shifted = [z - max(v.data for v in out) for z in out]
        per_example.append(sum(s.exp() for s in shifted).log() - shifted[label])
    return sum(per_example) * (1.0 / len(per_example))
