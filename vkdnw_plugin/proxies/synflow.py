"""SynFlow: ``ln Σ |W ⊙ ∂R/∂W|`` over conv/linear weights, where ``R = Σ f(1)`` is the summed
logits of an all-ones input through the network with every parameter replaced by its absolute
value and BatchNorm removed (Tanaka et al., "Pruning neural networks without any data by
iteratively conserving synaptic flow", NeurIPS 2020; NAS proxy of Abdelfattah et al., ICLR 2021).

As NASLib's ``synflow`` (``bn=False`` copy, float64, a single all-ones sample) and NASLib's
zero-cost predictor, which reports the natural log of the sum: this returns ``ln(sum)`` (``-inf``
when the sum is 0, e.g. a network whose output does not depend on its weights' path from the
input). Data-free: only the input shape is read. Works on a deep copy; the caller's model is never
touched.
"""

from __future__ import annotations

import math

import torch

from ..engine import logits_of
from ._registry import register_proxy
from ._utils import remove_batchnorm, weight_layers, working_copy


def synflow_sum(model, input_shape, device=None) -> float:
    """The raw SynFlow sum ``Σ |W ⊙ ∂R/∂W|`` (float64) for inputs of shape ``(B, ...)``."""
    clone = working_copy(model, train=False)
    remove_batchnorm(clone)
    clone.double()
    with torch.no_grad():
        for tensor in list(clone.parameters()) + list(clone.buffers()):
            if tensor.is_floating_point():
                tensor.abs_()
    ones = torch.ones((1, *tuple(input_shape)[1:]), dtype=torch.float64, device=device)
    with torch.enable_grad():
        total = logits_of(clone(ones)).sum()
        weights = [layer.weight for layer in weight_layers(clone)]
        grads = torch.autograd.grad(total, weights, allow_unused=True)
    return float(sum((w.detach() * g).abs().sum() for w, g in zip(weights, grads) if g is not None))


@register_proxy("synflow", higher_is_better=True)
def synflow(model, inputs, targets=None, *, context=None) -> float:
    """Natural log of the SynFlow sum."""
    value = synflow_sum(model, inputs.shape, device=inputs.device)
    return math.log(value) if value > 0 else float("-inf")
