"""VKDNW and the VKDNW_agg components NASLib lacks, as NASLib zero-cost measures.

Importing :mod:`vkdnw_naslib` calls :func:`register_measures`, which adds these names to NASLib's
measure registry (``naslib.predictors.utils.pruners.measures``), so that
``naslib.predictors.ZeroCost(method_type=name).query(graph, dataloader)`` works for them exactly
as for NASLib's built-ins. Each name means what it means in the core's proxy registry:

=================== ==========================================================================
``vkdnw``           the Fisher-spectrum entropy (the paper's VKDNW); alias ``vkdnw_entropy``
``vkdnw_single``    VKDNW_single: ``dim + entropy / (2 ln q)`` (:func:`vkdnw_plugin.ranking.single_value`),
                    ordering networks by (number of parameter tensors, entropy)
``az_expressivity`` AZ-NAS expressivity (:mod:`vkdnw_plugin.proxies`)
``az_trainability`` AZ-NAS trainability (:mod:`vkdnw_plugin.proxies`)
=================== ==========================================================================

(``jacov`` and ``flops``, the other VKDNW_agg components, are NASLib's own.)

NASLib calls a measure on its own deep copy of the graph with one batch ``(inputs, targets)`` of the
dataloader. VKDNW options are module state set with :func:`configure`. With the default
``init="protocol"``, an NB201 graph is scored like every other door of the package: the core rebuilds
its NAS-Bench-201 network and scores it under the seeded protocol
(:func:`vkdnw_plugin.scoring.score_architecture`: ``seed``, build, the authors' initialisation,
``randn`` input of the batch's size), so the value equals ``vkdnw score``'s for the same arch, seed
and batch. ``init="reference"`` re-initialises NASLib's copy like the authors' code (re-seeded by
``seed``) and scores it on NASLib's batch; ``init="keep"`` scores the graph's own weights.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from dataclasses import asdict, dataclass, fields, replace

import torch
from torch import nn

from vkdnw_plugin.engine import vkdnw_score
from vkdnw_plugin.options import VKDNW_OPTIONS, check_vkdnw_options
from vkdnw_plugin.ranking import single_value
from vkdnw_plugin.scoring import init_like_reference, score_architecture
from vkdnw_plugin.spaces.nb201 import DATASETS

__all__ = [
    "OUR_MEASURES",
    "VKDNW_FAMILY",
    "VKDNWOptions",
    "configure",
    "current_options",
    "feature_modules_of",
    "clear_cache",
    "register_measures",
    "vkdnw_of_graph",
]

INITS = ("protocol", "reference", "keep")
VKDNW_FAMILY = ("vkdnw", "vkdnw_single", "vkdnw_entropy")  # measures sharing one VKDNW computation per graph


@dataclass(frozen=True)
class VKDNWOptions:
    """How the ``vkdnw*`` measures score a graph (see :func:`vkdnw_plugin.vkdnw.vkdnw_score`).

    ``init``: ``"protocol"`` scores an NB201 graph's architecture under the core's seeded protocol
    (other graphs as ``"reference"``); ``"reference"`` re-initialises NASLib's copy like the authors'
    code and scores it on NASLib's batch; ``"keep"`` scores the graph's own weights. ``seed``: the
    protocol's seed, also re-seeding the ``"reference"`` initialisation (the runners set it to the
    config's ``seed`` unless ``vkdnw.seed`` is given)."""

    mode: str = "reference"
    init: str = "protocol"
    seed: int = 0
    n_tensors: int = 128
    tensor_policy: str = "first"
    n_quantiles: int = 9
    direction: str = "auto"
    compile: bool = False

    def engine_options(self) -> dict:
        """The keywords of :func:`vkdnw_plugin.vkdnw.vkdnw_score` among these options."""
        return {key: getattr(self, key) for key in VKDNW_OPTIONS}

    def validated(self) -> VKDNWOptions:
        try:
            check_vkdnw_options(self.engine_options())
        except ValueError as error:
            raise ValueError(f"vkdnw.{error}") from None
        if self.init not in INITS:
            raise ValueError(f"vkdnw.init: {self.init!r} is not one of {', '.join(INITS)}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValueError(f"vkdnw.seed: expected an int, got {self.seed!r}")
        return self


_OPTIONS = VKDNWOptions()


def configure(**options) -> VKDNWOptions:
    """Set the options of the ``vkdnw*`` measures (unknown keys and bad values raise ``ValueError``
    naming the key); returns the new options. ``configure()`` with no argument resets them."""
    global _OPTIONS
    known = {f.name for f in fields(VKDNWOptions)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ValueError(f"vkdnw.{unknown[0]}: unknown option; expected one of {', '.join(sorted(known))}")
    _OPTIONS = (replace(_OPTIONS, **options) if options else VKDNWOptions()).validated()
    return _OPTIONS


def current_options() -> dict:
    return asdict(_OPTIONS)


_CACHE: OrderedDict[tuple, object] = OrderedDict()
_CACHE_SIZE = 512  # VKDNW results (~140 kB each) and AZ-NAS statistics
_LAST = {"seconds": 0.0}


def _fingerprint(net: nn.Module, inputs: torch.Tensor, options: VKDNWOptions) -> tuple:
    """Identifies (network weights and buffers, inputs, options) up to float64 sums: the three
    ``vkdnw*`` measures queried on the same weights share one VKDNW computation."""
    with torch.no_grad():
        tensors = [*net.named_parameters(), *net.named_buffers()]
        parts = tuple(
            (name, tuple(t.shape), float(t.double().sum()), float(t.double().square().sum()))
            for name, t in tensors
            if t.is_floating_point()
        )
        data = (tuple(inputs.shape), float(inputs.double().sum()), float(inputs.double().square().sum()))
    return parts, data, options


def clear_cache() -> None:
    """Forget the cached VKDNW results."""
    _CACHE.clear()


def nb201_protocol_args(net: nn.Module, inputs: torch.Tensor) -> tuple[str, str] | None:
    """``(NASLib op tuple text, NB201 dataset)`` of a NASLib NAS-Bench-201 graph whose classifier
    width and input resolution match an NB201 dataset; ``None`` for any other graph."""
    if getattr(net, "space_name", None) != "nasbench201" or not hasattr(net, "get_op_indices"):
        return None
    shape = (getattr(net, "num_classes", None), inputs.shape[-1])
    dataset = next((name for name, classes_resolution in DATASETS.items() if classes_resolution == shape), None)
    return (str(tuple(int(op) for op in net.get_op_indices())), dataset) if dataset else None


def vkdnw_of_graph(net: nn.Module, inputs: torch.Tensor, options: VKDNWOptions | None = None):
    """:class:`~vkdnw_plugin.vkdnw.VKDNWResult` of ``net`` on ``inputs`` as ``options.init`` says
    (``net`` may be re-initialised in place and is put in eval mode). The last few results are
    cached by the architecture (protocol) or a fingerprint of the weights, inputs and options."""
    options = options or _OPTIONS
    protocol = nb201_protocol_args(net, inputs) if options.init == "protocol" else None
    if protocol is not None:
        key = (*protocol, len(inputs), options)
        if key not in _CACHE:
            arch, dataset = protocol
            engine = {name: value for name, value in options.engine_options().items() if name != "mode"}
            results = score_architecture("nb201", arch, dataset=dataset, seed=options.seed, batch=len(inputs),
                                         modes=(options.mode,), **engine)  # fmt: skip
            _CACHE[key] = results[options.mode]
        return _remember(key)
    if options.init != "keep":
        init_like_reference(net, seed=options.seed)
    net.eval()
    key = _fingerprint(net, inputs, options)
    if key not in _CACHE:
        _CACHE[key] = vkdnw_score(net, inputs, **options.engine_options())
    return _remember(key)


def _remember(key):
    """The cached result of ``key``, marked most recent; its seconds become :func:`last_vkdnw_seconds`."""
    _CACHE.move_to_end(key)
    _LAST["seconds"] = _CACHE[key].seconds
    while len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return _CACHE[key]


def last_vkdnw_seconds() -> float:
    """Engine seconds of the VKDNW result the last ``vkdnw*`` query returned (also on a cache hit),
    so callers can account for the cost of a shared computation."""
    return float(_LAST["seconds"])


def _as_naslib(value: float) -> list[torch.Tensor]:
    # NASLib sums a list of tensors (find_measures' sum_arr) for every measure not hard-coded as scalar.
    return [torch.tensor(float(value), dtype=torch.float64)]


def _vkdnw(net, inputs, targets, split_data=1, loss_fn=None):
    result = vkdnw_of_graph(net, inputs)
    return _as_naslib(result.entropy if result.valid else math.nan)


def _vkdnw_single(net, inputs, targets, split_data=1, loss_fn=None):
    return _as_naslib(single_value(vkdnw_of_graph(net, inputs)))


class _HookedForward:
    """Instance-level ``forward`` of a NASLib op that routes NASLib's direct ``op.forward(x)`` calls
    through ``nn.Module.__call__``, so forward hooks fire. Kept in the module's ``__dict__``, so a
    deep copy of the graph gets its own (bound to the copied op)."""

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
    """Layer-feature modules for AZ-NAS. For NASLib's macro graphs (NB201, ...): the op of every
    macro edge in order — stem, each cell, each reduction block (the head gives no 4-D output and
    is dropped by the feature extractor), i.e. the ``[stem, *cells]`` of a TinyNetwork. NASLib calls
    ``op.forward(x)`` directly, which bypasses forward hooks, so these ops of ``net`` (NASLib's own
    copy) get a hook-firing ``forward``. ``None`` (the core's default rule) for other models."""
    children = [m for name, m in net.named_children() if name.startswith("makrograph-edge")]
    for module in children:
        if not isinstance(module.__dict__.get("forward"), _HookedForward):
            module.__dict__["forward"] = _HookedForward(module)
    return children or None


_AZ_NAMES = ("az_expressivity", "az_trainability")


def _aznas(name: str):
    def fn(net, inputs, targets, split_data=1, loss_fn=None):
        from vkdnw_plugin.proxies import compute_proxies

        # Both AZ-NAS proxies come from one pass; the other is cached for a query on the same graph.
        key = _fingerprint(net, inputs, "aznas")
        if key not in _CACHE:
            _CACHE[key] = compute_proxies(net, inputs, list(_AZ_NAMES), targets=targets, feature_modules=feature_modules_of(net))
            while len(_CACHE) > _CACHE_SIZE:
                _CACHE.popitem(last=False)
        return _as_naslib(_CACHE[key][name])

    fn.__name__ = name
    return fn


# name -> (function, NASLib ``measure`` keyword arguments)
OUR_MEASURES = {
    "vkdnw": (_vkdnw, {"bn": True}),
    "vkdnw_entropy": (_vkdnw, {"bn": True}),  # the core registry's alias of vkdnw
    "vkdnw_single": (_vkdnw_single, {"bn": True}),
    "az_expressivity": (_aznas("az_expressivity"), {"bn": True}),
    "az_trainability": (_aznas("az_trainability"), {"bn": True}),
}


def register_measures() -> list[str]:
    """Add :data:`OUR_MEASURES` to NASLib's registry; names already there are left alone, so this
    is idempotent. Returns the names this call added."""
    from naslib.predictors.utils.pruners import measures as naslib_measures

    added = []
    for name, (fn, kwargs) in OUR_MEASURES.items():
        if name in naslib_measures._measure_impls:
            continue
        naslib_measures.measure(name, **kwargs)(fn)
        added.append(name)
    return added


def naslib_measure_names() -> list[str]:
    """Every measure name NASLib's ``ZeroCost`` accepts now (its built-ins and ours)."""
    from naslib.predictors.utils.pruners import measures as naslib_measures

    return sorted(set(naslib_measures.available_measures) | {"flops", "params"})
