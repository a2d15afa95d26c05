"""Every proxy of the core registry as a NASLib zero-cost measure.

:func:`register_measures` (called on import) adds each registry proxy and alias NASLib lacks
(``vkdnw``, ``vkdnw_single``, ``vkdnw_entropy``, ``n_layers``, ``az_*``, ``zico``, ...; NASLib keeps
its own ``jacov``, ``synflow``, ``flops``, ...) to NASLib's measure registry, so that
``naslib.predictors.ZeroCost(method_type=name).query(graph, dataloader)`` works for them as for
NASLib's built-ins, each name meaning what it means in the core.

NASLib calls a measure on its own copy of the graph with one batch ``(inputs, targets)``. The options
are the core's :class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions` plus ``init``, set with
:func:`configure`. With ``init="protocol"`` (default) a NAS-Bench-201 graph is scored by
:func:`vkdnw_plugin.scoring.score_network` on the core's network of its architecture (seeded build,
the authors' initialisation, ``randn`` input as large as NASLib's batch), so the value equals
``vkdnw score``'s; other graphs, and ``init="reference"`` / ``"keep"``, score NASLib's copy
(re-initialised like the authors' code unless ``keep``) on NASLib's batch.
"""

from __future__ import annotations

import time

import torch
from naslib.predictors.utils.pruners import measures as naslib_registry
from torch import nn

from vkdnw_plugin.proxies import compute_proxies, list_aliases, list_proxies
from vkdnw_plugin.scoring import init_like_reference, score_network
from vkdnw_plugin.spaces import get_space
from vkdnw_plugin.vkdnw_options import VKDNWOptions

from .config import vkdnw_options

__all__ = ["OUR_MEASURES", "configure", "current_options", "feature_modules_of", "timed_query", "naslib_builtins", "register_measures"]

NASLIB_SPECIAL = ("flops", "params")  # computed by NASLib's find_measures itself, outside its registry
_STATE = {"options": VKDNWOptions(), "init": "protocol", "seconds": 0.0}


def configure(**options) -> tuple[VKDNWOptions, str]:
    """Set the measures' options (:class:`VKDNWOptions` fields, old spellings with a deprecation
    warning, and ``init``) on top of the current ones; ``configure()`` resets them. Returns
    ``(options, init)``; a bad key or value raises :class:`~.config.ConfigError`."""
    base = (_STATE["options"], _STATE["init"]) if options else (VKDNWOptions(), "protocol")
    _STATE["options"], _STATE["init"] = vkdnw_options(options, *base)
    return _STATE["options"], _STATE["init"]


def current_options() -> tuple[VKDNWOptions, str]:
    """``(options, init)`` of the measures now."""
    return _STATE["options"], _STATE["init"]


def timed_query(name: str, zero_cost, graph, dataloader, seed: int) -> tuple[float, float]:
    """``(score, seconds)`` of NASLib's ``zero_cost`` (predictor ``name``) on ``graph``, torch's RNG re-seeded
    from (``seed``, spec) first, the same for every predictor; a score of ours that the core's memo
    answered still costs the seconds of its computation."""
    torch.manual_seed(seed * 15625 + sum(int(op) * 5**i for i, op in enumerate(graph.get_op_indices())))
    started = time.perf_counter()
    value = float(zero_cost.query(graph, dataloader=dataloader))
    seconds = time.perf_counter() - started
    return value, max(seconds, _STATE["seconds"]) if name in OUR_MEASURES else seconds


def nb201_dataset(net: nn.Module, inputs: torch.Tensor) -> str | None:
    """The NB201 dataset of a NASLib NAS-Bench-201 graph whose classifier width and input resolution
    match one; ``None`` for any other graph."""
    if getattr(net, "space_name", None) != "nasbench201" or not hasattr(net, "get_op_indices"):
        return None
    shape = (getattr(net, "num_classes", None), inputs.shape[-1])
    return next((name for name, classes_resolution in get_space("nb201").datasets.items() if classes_resolution == shape), None)


class _HookedForward:
    """An op's instance-level ``forward`` routing NASLib's direct ``op.forward(x)`` through ``nn.Module.__call__``,
    so forward hooks fire; kept in the op's ``__dict__``, so a deep copy of the graph gets its own."""

    def __init__(self, module: nn.Module):
        self.module = module

    def __call__(self, *args, **kwargs):
        module = self.module
        module.__dict__.pop("forward", None)
        try:
            return module(*args, **kwargs)
        finally:
            module.__dict__["forward"] = self


def feature_modules_of(net: nn.Module):
    """Layer-feature modules for AZ-NAS: for NASLib's macro graphs the op of every macro edge in order
    (stem, cells, reduction blocks; the head gives no 4-D output and is dropped), i.e. a TinyNetwork's
    ``[stem, *cells]``, given a hook-firing ``forward`` (NASLib calls ``op.forward(x)`` directly).
    ``None`` (the core's default rule) for other models."""
    children = [m for name, m in net.named_children() if name.startswith("makrograph-edge")]
    for module in children:
        if not isinstance(module.__dict__.get("forward"), _HookedForward):
            module.__dict__["forward"] = _HookedForward(module)
    return children or None


def score_graph(name: str, net: nn.Module, inputs: torch.Tensor, targets=None) -> float:
    """Proxy ``name`` of NASLib's copy ``net`` of a graph on ``inputs``, as :func:`configure` says."""
    options, init = current_options()
    options = options.replace(batch=len(inputs))
    dataset = nb201_dataset(net, inputs) if init == "protocol" else None
    started = time.perf_counter()
    if dataset is not None:
        spec = tuple(int(op) for op in net.get_op_indices())
        scores = score_network("nb201", spec, options, [name], dataset=dataset)
        _, _, value, fields = next(row for row in scores.rows if row[0] == name and row[1] in (options.modes[0], "-"))
        _STATE["seconds"] = max(time.perf_counter() - started, fields.get("seconds", 0.0))
        return value
    if init != "keep":
        init_like_reference(net, seed=options.seed)
    value = compute_proxies(net.eval(), inputs, [name], targets=targets, seed=options.seed,
                            feature_modules=feature_modules_of(net), vkdnw_options=options)[name]  # fmt: skip
    _STATE["seconds"] = time.perf_counter() - started
    return value


def _measure(name: str):
    def measure(net, inputs, targets, split_data=1, loss_fn=None):
        # NASLib sums a list of tensors (find_measures' sum_arr) for every measure not hard-coded as scalar.
        return [torch.tensor(float(score_graph(name, net, inputs, targets)), dtype=torch.float64)]

    measure.__name__ = name
    return measure


def register_measures() -> list[str]:
    """Register every core proxy and alias NASLib's registry lacks; idempotent (the names ours are kept
    on NASLib's registry module, so a reimport knows them). Returns the names this call added."""
    ours = naslib_registry.__dict__.setdefault("vkdnw_measures", [])
    added = []
    for name in (*list_proxies(), *list_aliases()):
        if name not in naslib_registry._measure_impls and name not in NASLIB_SPECIAL:
            naslib_registry.measure(name, bn=True)(_measure(name))
            ours.append(name)
            added.append(name)
    return added


def naslib_builtins() -> list[str]:
    """NASLib's own measure names (``ZeroCost`` accepts them and ours)."""
    return sorted((set(naslib_registry.available_measures) | set(NASLIB_SPECIAL)) - set(OUR_MEASURES))


register_measures()
OUR_MEASURES: tuple[str, ...] = tuple(sorted(naslib_registry.vkdnw_measures))
