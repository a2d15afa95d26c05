"""Plain: ``Σ W ⊙ ∂L/∂W`` over conv/linear weights, the signed first-order Taylor term of the loss
(Mozer & Smolensky 1989 / Abdelfattah et al., ICLR 2021; NASLib ``plain``). Train-mode copy,
cross-entropy with (seeded random if none given) labels.
"""

from __future__ import annotations

from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("plain", higher_is_better=True, needs_labels=True, requires=("weight_grads",))
def plain(model, inputs, targets=None, *, context=None) -> float:
    """Signed sum ``Σ W ⊙ ∇_W L``."""
    ctx = ensure_context(model, inputs, targets, context)
    return float(sum((w.double() * g.double()).sum() for w, g in ctx.get("weight_grads")))
