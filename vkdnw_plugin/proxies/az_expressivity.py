"""AZ-NAS expressivity (Lee & Ham, CVPR 2024): ``Σ_l`` entropy of the normalised eigenvalue
spectrum of layer l's channel covariance — how isotropically each layer's features spread over
their channels. Kaiming-fan-in re-initialised train-mode copy; layer features chosen by
:func:`vkdnw_plugin.proxies.features.default_feature_modules` (NB201: stem + every cell), or pass
``feature_modules=[...]`` to :func:`compute_proxies`. Details in :mod:`._aznas`.
"""

from __future__ import annotations

from . import _aznas  # noqa: F401  (registers the "aznas" artefact)
from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("az_expressivity", higher_is_better=True, requires=("aznas",))
def az_expressivity(model, inputs, targets=None, *, context=None) -> float:
    """Sum of per-layer feature-covariance spectral entropies."""
    return ensure_context(model, inputs, targets, context).get("aznas")["expressivity"]
