"""AZ-NAS trainability (Lee & Ham, CVPR 2024): mean over consecutive layer-feature pairs of
``2 - σ - 1/σ``, σ the spectral norm of the block's back-propagation map estimated with a Rademacher
probe (0 for an isometric block, negative otherwise) — how well gradients keep their scale through
each block. A pure-identity block scores ``-inf`` as in the reference code, which
:func:`compute_proxies` reports as NaN with a warning. Details in :mod:`._aznas`.
"""

from __future__ import annotations

from . import _aznas  # noqa: F401  (registers the "aznas" artefact)
from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("az_trainability", higher_is_better=True, requires=("aznas",))
def az_trainability(model, inputs, targets=None, *, context=None) -> float:
    """Mean block score ``2 - σ - 1/σ`` over consecutive layer features."""
    return ensure_context(model, inputs, targets, context).get("aznas")["trainability"]
