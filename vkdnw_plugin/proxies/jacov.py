"""Jacob_cov: ``-Σ_i [ln(λ_i + k) + 1/(λ_i + k)]``, k = 1e-5, over the eigenvalues λ of the
correlation matrix of the per-sample input gradients ``J_n = ∂(Σ logits)/∂x_n``
(Mellor et al., "Neural Architecture Search without Training", 2020 v1; NASLib ``jacov``).
Low correlation between the local linear maps of different inputs (eigenvalues near 1) scores
high. Train-mode copy (batch statistics, so ``J_n`` is the gradient of the batch's summed logits);
computed in float64 with a symmetric eigen-solver.
"""

from __future__ import annotations

import numpy as np

from ._context import ensure_context
from ._registry import register_proxy

EPS = 1e-5


def jacov_from_jacobian(jacobian: np.ndarray) -> float:
    """The score from an ``(N, D)`` matrix of per-sample input gradients."""
    corr = np.corrcoef(np.asarray(jacobian, dtype=np.float64))
    eig = np.linalg.eigvalsh(corr)
    return float(-np.sum(np.log(eig + EPS) + 1.0 / (eig + EPS)))


@register_proxy("jacov", higher_is_better=True, requires=("input_grad",))
def jacov(model, inputs, targets=None, *, context=None) -> float:
    """Jacobian-covariance score of one batch."""
    ctx = ensure_context(model, inputs, targets, context)
    jac = ctx.get("input_grad")
    return jacov_from_jacobian(jac.reshape(jac.shape[0], -1).double().cpu().numpy())
