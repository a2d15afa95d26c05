"""N_layers: number of parameter tensors — the ``dim`` term of VKDNW's single-proxy score (Týbl &
Neumann, CVPR 2025: ``VKDNW_single = N_layers + entropy``), the tensors of ``named_parameters()``
(BatchNorm γ/β and biases included, frozen ones too), exactly :attr:`VKDNWResult.dim
<vkdnw_plugin.engine.VKDNWResult>` (:func:`vkdnw_plugin.engine.count_tensors`).
"""

from __future__ import annotations

from torch import nn

from ..engine import count_tensors
from ._registry import register_proxy


@register_proxy("n_layers", higher_is_better=True, aliases=("vkdnw_dim",))
def n_layers(model: nn.Module, inputs=None, targets=None, *, context=None) -> float:
    """Number of parameter tensors."""
    return float(count_tensors(model))
