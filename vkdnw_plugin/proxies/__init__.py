"""Zero-cost NAS proxies: a registry (one module per proxy) and :func:`compute_proxies`.

Example::

    from vkdnw_plugin.proxies import compute_proxies, get_proxy, list_proxies
    from vkdnw_plugin.spaces.nb201 import nb201_network

    net = nb201_network((2, 2, 0, 4, 2, 0))  # NASLib op tuple, or an arch string / NB201 index
    scores = compute_proxies(net, torch.randn(64, 3, 32, 32), ["nwot", "jacov", "synflow"])
    get_proxy("nwot").higher_is_better  # True

Every proxy is registered with ``@register_proxy(name, higher_is_better=..., needs_labels=...)``
(plugins add more through ``vkdnw_plugin.proxies`` entry points, :mod:`vkdnw_plugin.plugins`)
and called as ``fn(model, inputs, targets=None, *, context=None) -> float``. Conventions:

* the caller's model is never changed: proxies run on deep copies (train mode, or re-initialised,
  or with BatchNorm removed, as each definition asks);
* a model may return a tensor or a tuple/list whose last element is the logits;
* label-based proxies use the given ``targets`` or, when none are given, labels drawn uniformly
  from ``num_classes`` classes (default: width of the logits) with a generator seeded by ``seed``;
* :func:`compute_proxies` runs ONE forward pass of a train-mode copy for all the activation- and
  gradient-based proxies it is asked for (nwot, jacov, epe_nas, grad_norm, snip, plain, fisher,
  grasp), one for the three AZ-NAS proxies, and each of synflow / zen / zico / flops once.

Registered proxies (NASLib's 13 first): flops, params, synflow, snip, grasp, fisher, grad_norm,
jacov, l2_norm, plain, epe_nas, nwot, zen; then zico, az_expressivity, az_progressivity,
az_trainability, n_layers, n_weight_layers; and vkdnw, vkdnw_single.
"""

from __future__ import annotations

import math
import warnings

import torch
from torch import nn

from ..vkdnw_options import VKDNWOptions

# Importing the modules registers their proxies.
from . import (  # noqa: E402,F401  (registration side effects)
    az_expressivity,
    az_progressivity,
    az_trainability,
    epe_nas,
    fisher,
    flops,
    grad_norm,
    grasp,
    jacov,
    l2_norm,
    n_layers,
    n_weight_layers,
    nwot,
    params,
    plain,
    snip,
    synflow,
    vkdnw,
    vkdnw_single,
    zen,
    zico,
)
from ._context import ProxyContext
from ._registry import ProxySpec, canonical_name, get_proxy, list_aliases, list_proxies, register_proxy

NASLIB_PROXIES = (
    "epe_nas",
    "fisher",
    "flops",
    "grad_norm",
    "grasp",
    "jacov",
    "l2_norm",
    "nwot",
    "params",
    "plain",
    "snip",
    "synflow",
    "zen",
)

__all__ = [
    "NASLIB_PROXIES",
    "ProxyContext",
    "ProxySpec",
    "canonical_name",
    "compute_proxies",
    "get_proxy",
    "list_aliases",
    "list_proxies",
    "register_proxy",
]


def compute_proxies(
    model: nn.Module,
    inputs: torch.Tensor,
    names=None,
    targets: torch.Tensor | None = None,
    num_classes: int | None = None,
    *,
    seed: int = 0,
    feature_modules=None,
    vkdnw_options: VKDNWOptions | dict | None = None,
) -> dict[str, float]:
    """Score ``model`` on one batch ``inputs`` with every proxy in ``names`` (default: all).

    Returns ``{name: float}`` in the order of ``names``, keyed by the names as given (aliases too). Work is shared (see module docstring).
    A proxy that raises or returns a non-finite value gives ``nan`` and a ``RuntimeWarning``
    naming it; the others are still computed. An unknown name raises ``ValueError`` before any
    work. ``feature_modules``: submodules (or their qualified names) whose outputs the AZ-NAS
    proxies read, default :func:`~.features.default_feature_modules`. ``vkdnw_options``: a
    :class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions` (or a dict of its fields) for the VKDNW-based
    proxies, which score its first mode; a bad option raises ``ValueError`` before any work. Labels
    (``targets``, else seeded random ones) reach only the proxies registered with ``needs_labels``.
    """
    if names is None:
        names = list_proxies()
    elif isinstance(names, str):
        names = [names]
    specs = [get_proxy(name) for name in names]
    options = {} if feature_modules is None else {"feature_modules": list(feature_modules)}
    if vkdnw_options:
        options["vkdnw_options"] = vkdnw_options if isinstance(vkdnw_options, VKDNWOptions) else VKDNWOptions.from_mapping(vkdnw_options)
    ctx = ProxyContext(model, inputs, targets, num_classes=num_classes, seed=seed, **options)
    ctx.labels_allowed = any(spec.needs_labels for spec in specs)
    try:
        ctx.prepare({artefact for spec in specs for artefact in spec.requires})
    except Exception:  # noqa: BLE001 - a failing shared pass is retried per proxy below
        ctx.clear()
    results: dict[str, float] = {}
    for name, spec in zip(names, specs):
        ctx.labels_allowed = spec.needs_labels
        try:
            value = float(spec.fn(model, inputs, targets if spec.needs_labels else None, context=ctx))
        except Exception as exc:  # noqa: BLE001 - one proxy's failure must not stop the others
            message = f"proxy {spec.name!r} failed ({type(exc).__name__}: {exc}); reporting nan"
            warnings.warn(message, RuntimeWarning, stacklevel=2)
            value = math.nan
        else:
            if not math.isfinite(value):
                message = f"proxy {spec.name!r} returned {value}; reporting nan"
                warnings.warn(message, RuntimeWarning, stacklevel=2)
                value = math.nan
        results[name] = value
    ctx.clear()
    return results
