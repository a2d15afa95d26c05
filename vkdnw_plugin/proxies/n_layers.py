"""N_layers: number of trainable parameter tensors — the ``dim`` term of VKDNW's single-proxy
score (Týbl & Neumann, CVPR 2025: ``VKDNW_single = N_layers + entropy``), counted as the authors'
code does, ``len([p for p in model.parameters() if p.requires_grad])`` (BatchNorm γ/β and biases
included).
"""

from __future__ import annotations

from torch import nn

from ._registry import register_proxy


@register_proxy("n_layers", higher_is_better=True, aliases=("vkdnw_dim",))
def n_layers(model: nn.Module, inputs=None, targets=None, *, context=None) -> float:
    """Number of trainable parameter tensors."""
    return float(sum(1 for p in model.parameters() if p.requires_grad))
