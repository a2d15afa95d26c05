"""Score a sampled NNI model with VKDNW and the VKDNW_agg components; report it to NNI.

>>> from nni.nas.experiment import NasExperiment
>>> from nni.nas.hub.pytorch import NasBench201
>>> from vkdnw_nni import vkdnw_evaluator, VKDNWAggEvolution
>>> evaluator = vkdnw_evaluator(batch_size=64, resolution=32)
>>> NasExperiment(NasBench201(), evaluator, VKDNWAggEvolution(population_size=32, max_mflops=150)).run()

Each trial reports ``{"default": VKDNW_single, "vkdnw_single", "vkdnw" (the entropy), "vkdnw_dim"
(parameter tensors), "jacov", "az_expressivity", "az_trainability", "flops" (MFLOPs at
``flops_resolution``), "params" (millions), "seconds", "valid"}``; each name means what it means in
the core's proxy registry (README, "What each name means"). The strategy aggregates the components
into VKDNW_agg inside its population (a rank aggregate cannot be computed for one network alone).

Networks are scored under the core's seeded protocol (:func:`vkdnw_plugin.vkdnw.reference_setup`:
seed, build, the authors' initialisation, ``randn`` input). An NB201 sample is scored on the core's
NAS-Bench-201 network of its arch string (:func:`protocol_build`), so it gets the same number as
``vkdnw score`` and NASLib's ``ZeroCost``.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from vkdnw_plugin.engine import vkdnw_score
from vkdnw_plugin.options import DEFAULT_THREADS, VKDNW_OPTIONS, check_count, check_vkdnw_options
from vkdnw_plugin.proxies.params import params as params_in_millions
from vkdnw_plugin.ranking import AGG_COMPONENTS, single_value
from vkdnw_plugin.scoring import reference_setup

from ._compat import FunctionalEvaluator
from .spaces import count_mflops, nb201_arch_str

_LOCAL_COMPONENTS = ("vkdnw", "vkdnw_entropy", "vkdnw_single", "vkdnw_dim", "flops", "params")
INVALID_SCORE = -1.0  # "default" of a network whose VKDNW is undefined (ranks below every valid one)


@dataclass(frozen=True)
class ScoreOptions:
    """How a network is scored. ``resolution``/``batch_size`` may be reduced to score faster on CPU
    (the paper: batch 64 at the dataset's resolution); ``flops_resolution`` (default ``resolution``)
    is the resolution at which FLOPs are counted, e.g. 224 for ImageNet-shaped MobileNetV2 nets.
    ``threads``: torch threads of the scoring process (``None``: leave torch's setting)."""

    batch_size: int = 64
    resolution: int = 32
    flops_resolution: int | None = None
    mode: str = "reference"
    n_tensors: int = 128
    tensor_policy: str = "first"
    n_quantiles: int = 9
    direction: str = "auto"
    compile: bool = False
    components: tuple[str, ...] = AGG_COMPONENTS
    seed: int = 0
    threads: int | None = DEFAULT_THREADS

    def __post_init__(self):
        for name in ("batch_size", "resolution"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise ValueError(f"{name}: expected a positive integer, got {value!r}")
        if self.batch_size < 2:
            raise ValueError(f"batch_size: VKDNW needs at least 2 samples, got {self.batch_size}")
        if self.flops_resolution is not None and (not isinstance(self.flops_resolution, int) or self.flops_resolution < 1):
            raise ValueError(f"flops_resolution: expected a positive integer or null, got {self.flops_resolution!r}")
        check_vkdnw_options(self.vkdnw_options())
        if self.threads is not None:
            check_count("threads", self.threads)
        components = (self.components,) if isinstance(self.components, str) else tuple(self.components)
        object.__setattr__(self, "components", components)
        proxies = [c for c in components if c not in _LOCAL_COMPONENTS]
        if proxies:
            from vkdnw_plugin.proxies import list_aliases, list_proxies

            unknown = [c for c in proxies if c not in list_proxies() + list(list_aliases())]
            if unknown:
                raise ValueError(
                    f"components: unknown {unknown}; expected one of {', '.join(_LOCAL_COMPONENTS)} or a "
                    f"registered proxy ({', '.join(list_proxies())})"
                )

    def vkdnw_options(self) -> dict:
        """The keywords of :func:`vkdnw_plugin.vkdnw.vkdnw_score` among these options."""
        return {key: getattr(self, key) for key in VKDNW_OPTIONS}

    @classmethod
    def from_dict(cls, values: dict | None) -> ScoreOptions:
        values = dict(values or {})
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown scoring option(s) {unknown}; expected some of {sorted(known)}")
        if "components" in values and values["components"] is not None:
            values["components"] = tuple(values["components"])
        return cls(**values)

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        out["components"] = list(self.components)
        return out


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def protocol_build(sample: dict | None, build, num_classes: int | None = None):
    """The zero-argument function building the network scored for an NNI ``sample``: for a
    ``NasBench201`` sample the core's NAS-Bench-201 network of its arch string with ``num_classes``
    outputs (default: as many as ``build()``'s classifier), else ``build`` itself (NNI's own model)."""
    if not (isinstance(sample, dict) and sample and all(str(label).startswith("cell/") for label in sample)):
        return build
    from vkdnw_plugin.spaces.nb201 import nb201_network

    arch = nb201_arch_str(sample)
    if num_classes is None:
        num_classes = [m.out_features for m in build().modules() if isinstance(m, nn.Linear)][-1]
    return lambda: nb201_network(arch, num_classes=num_classes)


def score_model(model, options: ScoreOptions | dict | None = None, **kwargs) -> dict:
    """Score a network: ``model`` is a zero-argument function building it (the seeded protocol:
    seed, build, initialise, input) or an ``nn.Module`` (seeded after it was built). Its weights
    are re-initialised as the authors do.

    Returns the metric dict described in the module docstring; NaN values become ``None`` so the
    dict is valid JSON for NNI. Deterministic for a given ``seed``."""
    if options is None or isinstance(options, dict):
        options = ScoreOptions.from_dict({**(options or {}), **kwargs})
    elif kwargs:
        options = dataclasses.replace(options, **kwargs)
    if options.threads:
        torch.set_num_threads(options.threads)
    started = time.perf_counter()
    build = (lambda: model) if isinstance(model, nn.Module) else model
    shape = (options.batch_size, 3, options.resolution, options.resolution)
    model, inputs = reference_setup(build, options.seed, shape)
    vk = vkdnw_score(model, inputs, **options.vkdnw_options())
    result: dict = {
        "flops": count_mflops(model, options.flops_resolution or options.resolution),
        "params": params_in_millions(model),
        "vkdnw": _finite(vk.entropy),
        "vkdnw_single": _finite(single_value(vk)),
        "vkdnw_dim": vk.dim,
        "valid": bool(vk.valid),
        "vkdnw_seconds": vk.seconds,
    }
    if vk.reason:  # invalid, or the authors' NaN fallback in reference mode
        result["reason"] = vk.reason
    if "vkdnw_entropy" in options.components:  # the registry's alias of vkdnw
        result["vkdnw_entropy"] = result["vkdnw"]
    proxies = [c for c in options.components if c not in _LOCAL_COMPONENTS]
    if proxies:
        import warnings

        from vkdnw_plugin.proxies import compute_proxies

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values = compute_proxies(model, inputs, proxies, seed=options.seed)
        result.update({name: _finite(value) for name, value in values.items()})
    result["default"] = result["vkdnw_single"] if result["vkdnw_single"] is not None else INVALID_SCORE
    result["seconds"] = time.perf_counter() - started
    return result


def evaluate_model(model, **options) -> dict:
    """The evaluator function: :func:`score_model` (``model``: a module or a function building one),
    then ``nni.report_final_result`` of the dict."""
    import nni

    result = score_model(model, ScoreOptions.from_dict(options))
    nni.report_final_result(result)
    return result


class VKDNWEvaluator(FunctionalEvaluator):
    """NNI's ``FunctionalEvaluator`` handing :func:`evaluate_model` the protocol's build function of
    each sampled model (:func:`protocol_build`) instead of a built module."""

    def _execute(self, model):
        return self.evaluate(protocol_build(getattr(model, "sample", None), model.executable_model))


def vkdnw_evaluator(**options) -> VKDNWEvaluator:
    """A :class:`VKDNWEvaluator` running :func:`evaluate_model` with :class:`ScoreOptions` ``options``.

    Options are validated here, so a bad value fails before the experiment starts."""
    checked = ScoreOptions.from_dict(options)
    return VKDNWEvaluator(evaluate_model, **checked.to_dict())


__all__ = ["INVALID_SCORE", "ScoreOptions", "VKDNWEvaluator", "evaluate_model", "protocol_build", "score_model",
           "vkdnw_evaluator"]
