"""Layer count: number of convolution and linear modules (the "depth" in weight layers).

A plain architecture statistic, complementary to :mod:`.n_layers` (which counts parameter tensors,
so BatchNorm and biases add to it); every conv/linear module is counted once even if reused.
"""

from __future__ import annotations

from torch import nn

from ._registry import register_proxy
from ._utils import weight_layers


@register_proxy("n_weight_layers", higher_is_better=True)
def n_weight_layers(model: nn.Module, inputs=None, targets=None, *, context=None) -> float:
    """Number of Conv1d/2d/3d and Linear modules."""
    return float(len(weight_layers(model)))
