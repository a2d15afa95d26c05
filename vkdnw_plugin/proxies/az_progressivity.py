"""AZ-NAS progressivity (Lee & Ham, CVPR 2024): ``min_l (e_l - e_{l-1})`` of the per-layer
expressivities ``e_l`` (see :mod:`.az_expressivity`) — whether expressivity grows with depth at
every step. Shares its forward pass with the other AZ-NAS proxies; details in :mod:`._aznas`.
"""

from __future__ import annotations

from . import _aznas  # noqa: F401  (registers the "aznas" artefact)
from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("az_progressivity", higher_is_better=True, requires=("aznas",))
def az_progressivity(model, inputs, targets=None, *, context=None) -> float:
    """Smallest increase of expressivity between consecutive layer features."""
    return ensure_context(model, inputs, targets, context).get("aznas")["progressivity"]
