"""VKDNW (Týbl & Neumann, CVPR 2025), also named ``vkdnw_entropy``: entropy of the nine normalised deciles of the eigenvalues of
the empirical Fisher information of one weight from each of the first 128 parameter tensors —
how evenly an untrained network spreads information over its weights. Reference mode (the
authors' matrix) by default; ``compute_proxies(..., vkdnw_options=VKDNWOptions(modes="exact", ...))``
sets the engine's options (the first mode is scored). The network is scored in eval mode with its
current weights.
"""

from __future__ import annotations

import copy

from ..engine import vkdnw_scores
from ..vkdnw_options import VKDNWOptions
from ._context import ensure_context, register_artefact
from ._registry import register_proxy


def _result(context):
    model = copy.deepcopy(context.model).eval() if context.model.training else context.model
    options = context.options.get("vkdnw_options") or VKDNWOptions()
    return vkdnw_scores(model, context.inputs, options)[options.modes[0]]


register_artefact("vkdnw", _result)


@register_proxy("vkdnw", higher_is_better=True, requires=("vkdnw",), aliases=("vkdnw_entropy",), from_vkdnw=lambda r: r.entropy)
def vkdnw(model, inputs, targets=None, *, context=None) -> float:
    """VKDNW entropy (NaN for an invalid network)."""
    return ensure_context(model, inputs, targets, context).get("vkdnw").entropy
