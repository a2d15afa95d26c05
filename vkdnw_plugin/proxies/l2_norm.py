"""L2 norm: ``Σ_l ‖W_l‖₂`` over conv/linear weights at initialisation (NASLib's ``l2_norm``
baseline, Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021 /
NAS-Bench-Suite-Zero). Measures only the size of the initialised weights; needs no data.
"""

from __future__ import annotations

import torch
from torch import nn

from ._registry import register_proxy
from ._utils import weight_layers


@register_proxy("l2_norm", higher_is_better=True)
def l2_norm(model: nn.Module, inputs=None, targets=None, *, context=None) -> float:
    """Sum over conv/linear layers of the Frobenius norm of the weight."""
    with torch.no_grad():
        return float(sum(layer.weight.detach().double().norm() for layer in weight_layers(model)))
