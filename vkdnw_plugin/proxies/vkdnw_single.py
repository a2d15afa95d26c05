"""VKDNW_single (Týbl & Neumann, CVPR 2025): networks ordered by (number of parameter tensors,
VKDNW entropy), lexicographically — reported as the scalar dim + entropy / (2 ln q) for q quantiles,
which orders exactly the same way (:func:`vkdnw_plugin.ranking.single_value`).
"""

from __future__ import annotations

from ..ranking import single_value
from . import vkdnw as _vkdnw  # noqa: F401  (registers the "vkdnw" artefact)
from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("vkdnw_single", higher_is_better=True, requires=("vkdnw",), from_vkdnw=single_value)
def vkdnw_single(model, inputs, targets=None, *, context=None) -> float:
    """dim + entropy / (2 ln q); NaN for an invalid network."""
    return single_value(ensure_context(model, inputs, targets, context).get("vkdnw"))
