"""Costs, for both engines side by side: a list of examples of Values, or a Tensor of shape (batch, k)."""
from autodiff.tensor import Tensor


def squared_error(outputs, targets):
    """The video's cost: per example, the sum of (output - target)² over the outputs; then the mean over examples.

    Its gradient for one output is 2·(output - target): each example wants every output nudged in
    proportion to how far it is from its target. On Tensors it is one fused node
    (Tensor.squared_error) whose local derivative is that 2·(output - target), over the batch.
    """
    if isinstance(outputs, Tensor):
        return outputs.squared_error(targets)
    _not_empty("squared error", outputs)
    per_example = [sum((o - t) ** 2 for o, t in zip(out, target)) for out, target in zip(outputs, targets)]
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
    _not_empty("cross-entropy", logits)
    per_example = []
    for out, label in zip(logits, labels):
        shifted = [z - max(v.data for v in out) for z in out]
        per_example.append(sum(s.exp() for s in shifted).log() - shifted[label])
    return sum(per_example) * (1.0 / len(per_example))


def _not_empty(cost, batch):
    if len(batch) == 0:
        raise ValueError(f"{cost}: the batch is empty (0 examples): there is no mean to take")
