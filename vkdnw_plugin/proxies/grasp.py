"""GraSP: ``Σ -W ⊙ (H g)`` over conv/linear weights, H the Hessian and g the gradient of the
cross-entropy loss with respect to those weights (Wang et al., "Picking Winning Tickets Before
Training by Preserving Gradient Flow", ICLR 2020; NAS proxy and sign convention of NASLib
``grasp``). Measures how removing weights would change the gradient norm (gradient flow).
``H g`` is one double-backward of ``gᵀ stop_grad(g)``, computed in the shared backward pass.
"""

from __future__ import annotations

from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("grasp", higher_is_better=True, needs_labels=True, requires=("grasp",))
def grasp(model, inputs, targets=None, *, context=None) -> float:
    """``-Σ W ⊙ H g``."""
    ctx = ensure_context(model, inputs, targets, context)
    return float(-sum((w.double() * hg.double()).sum() for w, hg in ctx.get("grasp")))
