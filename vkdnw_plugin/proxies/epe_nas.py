"""EPE-NAS: class-wise Jacobian correlation score (Lopes et al., "EPE-NAS: Efficient Performance
Estimation Without Training for Neural Architecture Search", ICANN 2021; NASLib ``epe_nas``).

With ``J_n = ∂(Σ logits)/∂x_n`` (as in :mod:`.jacov`) grouped by label c, ``s_c = Σ ln(|ρ_c| + k)``
over the entries of the correlation matrix ``ρ_c`` of class c's Jacobians (k = 1e-5). For
C ≤ 100 classes the score is ``Σ_c |s_c|``; for C > 100 each ``s_c`` is divided by its class size
and the score is ``Σ_{c,c'} |s_c - s_c'| / #classes``; C = width of the logits. A class seen once
contributes ``ln(1 + k)`` (C ≤ 100) or is skipped (C > 100), as in NASLib. Needs labels (seeded
random ones when none are given, which makes the score label-noise driven).
"""

from __future__ import annotations

import numpy as np

from ._context import ensure_context
from ._registry import register_proxy

EPS = 1e-5


def epe_nas_from_jacobian(jacobian: np.ndarray, labels: np.ndarray, n_classes: int) -> float:
    """The score from ``(N, D)`` per-sample Jacobians, ``(N,)`` labels and the number of classes."""
    jacobian = np.asarray(jacobian, dtype=np.float64)
    labels = np.asarray(labels)
    per_class = {}
    for c in dict.fromkeys(labels.tolist()):  # first-seen order
        rows = jacobian[labels == c]
        if len(rows) == 1:
            if n_classes > 100:
                continue
            per_class[c] = float(np.log(1.0 + EPS))
            continue
        corr = np.corrcoef(rows)
        s = float(np.sum(np.log(np.abs(corr) + EPS)))
        if n_classes > 100:
            s /= len(corr)
        per_class[c] = s
    values = np.array(list(per_class.values()), dtype=np.float64)
    if n_classes <= 100:
        return float(np.sum(np.abs(values)))
    if len(values) == 0:
        return 0.0
    return float(np.sum(np.abs(values[:, None] - values[None, :])) / len(values))


@register_proxy("epe_nas", higher_is_better=True, needs_labels=True, requires=("input_grad", "logits"))
def epe_nas(model, inputs, targets=None, *, context=None) -> float:
    """Class-wise Jacobian correlation score."""
    ctx = ensure_context(model, inputs, targets, context)
    jac = ctx.get("input_grad")
    logits = ctx.get("logits")
    labels = ctx.targets_for(logits).cpu().numpy()
    return epe_nas_from_jacobian(jac.reshape(jac.shape[0], -1).double().cpu().numpy(), labels, logits.shape[-1])
