"""Fisher: channel saliency ``Σ_layers Σ_k ½ mean_n (Σ_hw a_nkhw ∂L/∂a_nkhw)² · |W_k|`` of every
conv/linear layer output ``a`` (Theis et al., "Faster gaze prediction with dense networks and
Fisher pruning", 2018; as a NAS proxy Turner et al., "BlockSwap", ICLR 2020; NASLib ``fisher``).
``|W_k|`` = number of weights feeding channel k (``prod(W.shape[1:])``): NASLib broadcasts each
channel's value onto its weights before summing, and this follows it. Estimates the loss increase
from removing each channel. Train-mode copy, cross-entropy with (seeded random if none given)
labels; layer-output gradients come from the shared backward pass.
"""

from __future__ import annotations

import math

from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("fisher", higher_is_better=True, needs_labels=True, requires=("fisher",))
def fisher(model, inputs, targets=None, *, context=None) -> float:
    """Sum of per-channel Fisher saliencies, each weighted by the channel's fan-in."""
    ctx = ensure_context(model, inputs, targets, context)
    total = 0.0
    for layer, per_channel in ctx.get("fisher"):
        total += float(per_channel.double().abs().sum()) * math.prod(layer.weight.shape[1:])
    return total
