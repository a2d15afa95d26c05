"""Grad-norm: ``Σ_l ‖∂L/∂W_l‖₂`` over conv/linear weights, L the mean cross-entropy of one batch
(Abdelfattah et al., "Zero-Cost Proxies for Lightweight NAS", ICLR 2021; NASLib ``grad_norm``).
Measures how strongly the loss pulls on each layer at initialisation. Train-mode copy (batch
statistics); labels are required (seeded random ones if none are given).
"""

from __future__ import annotations

import torch

from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("grad_norm", higher_is_better=True, needs_labels=True, requires=("weight_grads",))
def grad_norm(model, inputs, targets=None, *, context=None) -> float:
    """Sum of per-layer gradient norms of the cross-entropy loss."""
    ctx = ensure_context(model, inputs, targets, context)
    return float(sum(g.double().norm() for _, g in ctx.get("weight_grads")))
