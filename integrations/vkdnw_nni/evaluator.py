"""Score a sampled NNI model with VKDNW and the VKDNW_agg components; report it to NNI.

>>> from nni.nas.experiment import NasExperiment
>>> from nni.nas.hub.pytorch import NasBench201
>>> from vkdnw_nni import vkdnw_evaluator, VKDNWAggEvolution
>>> evaluator = vkdnw_evaluator(batch_size=64, resolution=32)
>>> NasExperiment(NasBench201(), evaluator, VKDNWAggEvolution(population_size=32, max_mflops=150)).run()

Each trial reports ``{"default": VKDNW score (dim + entropy), "vkdnw_dim", "vkdnw_entropy",
"jacov", "az_expressivity", "az_trainability", "flops" (MFLOPs at ``flops_resolution``),
"params" (millions), "seconds", "valid"}``; the strategy aggregates the components into VKDNW_agg
inside its population (a rank aggregate cannot be computed for one network alone).
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import torch
from torch import nn

from vkdnw_plugin.options import DEFAULT_THREADS, check_count
from vkdnw_plugin.vkdnw import VKDNW_OPTIONS, check_vkdnw_options, init_like_reference, vkdnw_score

from ._compat import FunctionalEvaluator
from ._constants import DEFAULT_COMPONENTS
from .spaces import count_mflops, count_mparams

_LOCAL_COMPONENTS = ("vkdnw", "flops", "params")
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
    components: tuple[str, ...] = DEFAULT_COMPONENTS
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
            from vkdnw_plugin.proxies import list_proxies

            unknown = [c for c in proxies if c not in list_proxies()]
            if unknown:
                raise ValueError(
                    f"components: unknown {unknown}; expected vkdnw, flops, params or a registered proxy "
                    f"({', '.join(list_proxies())})"
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


def score_model(model: nn.Module, options: ScoreOptions | dict | None = None, **kwargs) -> dict:
    """Score ``model`` (an untrained ``nn.Module``; it is re-initialised as the authors do).

    Returns the metric dict described in the module docstring; NaN values become ``None`` so the
    dict is valid JSON for NNI. Deterministic for a given ``seed``."""
    if options is None or isinstance(options, dict):
        options = ScoreOptions.from_dict({**(options or {}), **kwargs})
    elif kwargs:
        options = dataclasses.replace(options, **kwargs)
    if options.threads:
        torch.set_num_threads(options.threads)
    started = time.perf_counter()
    result: dict = {}
    result["flops"] = count_mflops(model, options.flops_resolution or options.resolution)
    result["params"] = count_mparams(model)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(options.seed)
        init_like_reference(model)
        inputs = torch.randn(options.batch_size, 3, options.resolution, options.resolution)
    vk = vkdnw_score(model, inputs, **options.vkdnw_options())
    result.update(
        vkdnw=_finite(vk.score), vkdnw_dim=vk.dim, vkdnw_entropy=_finite(vk.entropy), valid=bool(vk.valid),
        vkdnw_seconds=vk.seconds,
    )  # fmt: skip
    if vk.reason:  # invalid, or the authors' NaN fallback in reference mode
        result["reason"] = vk.reason
    proxies = [c for c in options.components if c not in _LOCAL_COMPONENTS]
    if proxies:
        import warnings

        from vkdnw_plugin.proxies import compute_proxies

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            values = compute_proxies(model, inputs, proxies, seed=options.seed)
        result.update({name: _finite(value) for name, value in values.items()})
    result["default"] = result["vkdnw"] if result["vkdnw"] is not None else INVALID_SCORE
    result["seconds"] = time.perf_counter() - started
    return result


def evaluate_model(model: nn.Module, **options) -> dict:
    """The evaluator function: :func:`score_model`, then ``nni.report_final_result`` of the dict."""
    import nni

    result = score_model(model, ScoreOptions.from_dict(options))
    nni.report_final_result(result)
    return result


def vkdnw_evaluator(**options) -> FunctionalEvaluator:
    """A ``FunctionalEvaluator`` running :func:`evaluate_model` with :class:`ScoreOptions` ``options``.

    Options are validated here, so a bad value fails before the experiment starts."""
    checked = ScoreOptions.from_dict(options)
    return FunctionalEvaluator(evaluate_model, **checked.to_dict())


__all__ = ["DEFAULT_COMPONENTS", "INVALID_SCORE", "ScoreOptions", "evaluate_model", "score_model", "vkdnw_evaluator"]
