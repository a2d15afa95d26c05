"""SNIP: ``Σ |W ⊙ ∂L/∂W|`` over conv/linear weights (Lee et al., "SNIP: Single-shot Network Pruning
based on Connection Sensitivity", ICLR 2019; as a NAS proxy Abdelfattah et al., ICLR 2021; NASLib
``snip``). The gradient of the loss with respect to a multiplicative mask of ones equals
``W ⊙ ∂L/∂W``, so this is the total connection sensitivity. Train-mode copy, cross-entropy with
(seeded random if none given) labels.
"""

from __future__ import annotations

from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("snip", higher_is_better=True, needs_labels=True, requires=("weight_grads",))
def snip(model, inputs, targets=None, *, context=None) -> float:
    """Total connection sensitivity ``Σ |W ⊙ ∇_W L|``."""
    ctx = ensure_context(model, inputs, targets, context)
    return float(sum((w.double() * g.double()).abs().sum() for w, g in ctx.get("weight_grads")))
