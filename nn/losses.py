"""Costs, for both engines side by side: a list of examples of Values, or a Tensor of shape (batch, k)."""
from numbers import Integral

from autodiff import Value
from autodiff.tensor import Tensor


def squared_error(outputs, targets):
    """The video's cost: per example, the sum of (output - target)² over the outputs; then the mean over examples.

    Its gradient for one output is 2·(output - target): each example wants every output nudged in
    proportion to how far it is from its target. On Tensors it is one fused node
    (Tensor.squared_error) whose local derivative is that 2·(output - target), over the batch.
    """
    if isinstance(outputs, Tensor):
        return outputs.squared_error(targets)
    _batch("squared-error", outputs, targets, "targets")
    per_example = []
    for i, (out, target) in enumerate(zip(outputs, targets)):
        if _length("squared-error", i, out, "outputs") != _length("squared-error", i, target, "targets"):
            raise ValueError(f"squared-error: example {i} has {len(out)} outputs but {len(target)} targets")
        per_example.append(sum((o - t) ** 2 for o, t in zip(out, target)))
    return sum(per_example) * (1.0 / len(per_example))


def cross_entropy(logits, labels):
    """Softmax cross-entropy, -log(softmax(logits)[label]), averaged over examples.

    Computed as log(sum(exp(z - m))) - (z[label] - m) with m the largest logit: softmax does not
    change when every logit moves by the same amount, and then no exp can overflow. On Tensors it
    is one fused node (Tensor.cross_entropy) whose local derivative, softmax - one_hot, is what
    this graph of Values works out op by op.
    """
    if isinstance(logits, Tensor):
        return logits.cross_entropy(labels)
    _batch("cross-entropy", logits, labels, "labels")
    per_example = []
    for i, (out, label) in enumerate(zip(logits, labels)):
        _class(i, label, _length("cross-entropy", i, out, "logits"))
        shifted = [z - max(v.data for v in out) for z in out]
        per_example.append(sum(s.exp() for s in shifted).log() - shifted[label])
    return sum(per_example) * (1.0 / len(per_example))


def _batch(cost, outputs, targets, what):
    """One target (or label) per example, and at least one example: zip() would drop the extra silently."""
    if len(outputs) != len(targets):
        raise ValueError(f"{cost}: {len(outputs)} examples of outputs but {len(targets)} of {what}")
    if len(outputs) == 0:
        raise ValueError(f"{cost}: the batch is empty (0 examples): there is no mean to take")


def _length(cost, i, example, what):
    """How many outputs (or targets) example i has: it must be a list of them, even for one."""
    if type(example) is list:  # the common case, quickly
        return len(example)
    if isinstance(example, (Value, str, bytes)) or not hasattr(example, "__len__"):
        raise TypeError(f"{cost}: example {i}'s {what} are a {type(example).__name__}, expected a list with "
                        f"one per output (for one output: [x])")
    return len(example)


def _class(i, label, k):
    """Example i's label as an index into its k logits: a whole number from 0 to k - 1 (-1 would pick the last)."""
    if k == 0:
        raise ValueError(f"cross-entropy: example {i} has no logits: there is no class to choose")
    if type(label) is not int and (isinstance(label, bool) or not isinstance(label, Integral)) or not 0 <= label < k:
        raise ValueError(f"cross-entropy: label {label!r:.20} of example {i} is not a class: "
                         f"labels must be integers from 0 to {k - 1}")
