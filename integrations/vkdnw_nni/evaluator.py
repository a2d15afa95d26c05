"""Score a sampled NNI model with VKDNW and the VKDNW_agg components and report it to NNI.

>>> evaluator = vkdnw_evaluator(batch=64)
>>> NasExperiment(NasBench201(), evaluator, VKDNWAggEvolution(population_size=32, max_mflops=150)).run()

A trial reports ``{"default": VKDNW_single, "vkdnw_single", "vkdnw", "vkdnw_dim", "jacov",
"az_expressivity", "az_trainability", "flops" (MFLOPs at ``flops_resolution``), "params", "seconds",
"valid"}``, names as in the core's proxy registry; the strategy aggregates them into VKDNW_agg. Every
network is scored by the core's :func:`~vkdnw_plugin.scoring.score_network` (an NB201 sample as the
core's NB201 architecture, a ProxylessNAS one as the core space ``proxylessnas``), so the evaluator,
the nnictl trial and ``vkdnw score`` agree.
"""

from __future__ import annotations

import math
import time

from torch import nn

from vkdnw_plugin.options import OptionError
from vkdnw_plugin.ranking import AGG_COMPONENTS
from vkdnw_plugin.scoring import score_network
from vkdnw_plugin.spaces import get_space
from vkdnw_plugin.vkdnw_options import VKDNWOptions

from ._compat import FunctionalEvaluator
from .spaces import count_mflops

INVALID_SCORE = -1.0  # "default" of a network whose VKDNW is undefined (ranks below every valid one)
REPORTED = ("vkdnw", "vkdnw_single", "params")  # reported for every network, besides the components and vkdnw_dim
EVALUATOR_ARGS = ("space", "dataset", "num_classes", "components", "flops_resolution")


def _finite(value) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def check_components(components) -> tuple[str, ...]:
    """``components`` as a tuple of registered proxy names (aliases allowed); :class:`OptionError` otherwise."""
    from vkdnw_plugin.proxies import get_proxy

    components = (components,) if isinstance(components, str) else tuple(components)
    for name in components:
        try:
            get_proxy(name)
        except ValueError as error:
            raise OptionError("components", name, str(error).partition("; ")[2]) from None
    return components


def score_model(model, options: VKDNWOptions | None = None, *, space: str | None = None, dataset: str | None = None,
                num_classes: int | None = None, components=AGG_COMPONENTS, flops_resolution: int | None = None,
                **changes) -> dict:  # fmt: skip
    """The reported metric dict of one network (NaN as ``None``, valid JSON). ``model``: an NNI sample
    of ``space`` (``nb201`` or ``proxylessnas``), a function building the network, or an
    ``nn.Module``; ``options`` with ``changes``: :class:`VKDNWOptions` fields."""
    started = time.perf_counter()
    options = VKDNWOptions.from_mapping(changes, base=options)
    components = check_components(components)
    target = (lambda: model) if isinstance(model, nn.Module) else model
    if space is None and not callable(target):
        space = "nb201"
    wanted = list(dict.fromkeys([*REPORTED, *(c for c in components if c != "flops")]))
    scores = score_network(space, target, options, wanted, dataset=dataset, num_classes=num_classes)
    vkdnw = scores.results[scores.options.modes[0]]
    result = {name: _finite(value) for name, value in scores.values().items()}
    flops_at = flops_resolution or scores.options.resolution
    if callable(target):
        built = target()
    else:
        spec = get_space(space)
        built = spec.build(scores.arch, num_classes or spec.shape(scores.dataset)[0])
    result.update(flops=count_mflops(built, flops_at), vkdnw_dim=vkdnw.dim, valid=bool(vkdnw.valid), vkdnw_seconds=vkdnw.seconds)
    if vkdnw.reason:  # invalid, or the authors' NaN fallback in reference mode
        result["reason"] = vkdnw.reason
    result["default"] = result["vkdnw_single"] if result["vkdnw_single"] is not None else INVALID_SCORE
    result["seconds"] = time.perf_counter() - started
    return result


def evaluate_model(model, **arguments) -> dict:
    """The evaluator function: :func:`score_model`, then ``nni.report_final_result`` of the dict."""
    import nni

    settings = {key: arguments.pop(key) for key in EVALUATOR_ARGS if key in arguments}
    result = score_model(model, VKDNWOptions.from_mapping(arguments), **settings)
    nni.report_final_result(result)
    return result


def nni_space_of(model) -> tuple[str | None, dict]:
    """``(core space, constructor kwargs)`` of a frozen ``NasBench201`` / ``ProxylessNAS`` model;
    ``(None, {})`` for any other."""
    from .spaces import NNI_CLASSES

    space = getattr(model, "model_space", None)  # RawFormatModelSpace: the space instance
    traced = space if space is not None else getattr(model, "model", None)  # SimplifiedModelSpace: a traced symbol
    cls = type(space) if space is not None else getattr(traced, "trace_symbol", None)
    kwargs = dict(getattr(traced, "trace_kwargs", None) or {})
    for name, nni_class in NNI_CLASSES.items():
        if isinstance(cls, type) and issubclass(cls, nni_class):
            return name, kwargs
    return None, {}


class VKDNWEvaluator(FunctionalEvaluator):
    """NNI's ``FunctionalEvaluator`` scoring a sample of a known space through the core (dataset by the
    classifier width), any other model as the network NNI builds."""

    def _execute(self, model):
        from .spaces import build_model

        space, kwargs = nni_space_of(model)
        if space is None:
            return self.function(model.executable_model, **{**self.arguments, "space": None})
        spec, sample = get_space(space), dict(model.sample)
        classes = kwargs.get("num_labels", spec.shape()[0])
        dataset = self.arguments.get("dataset") or next(
            (name for name, (c, _) in spec.datasets.items() if c == classes), spec.default_dataset)  # fmt: skip
        # A sample the core space builds itself (only the classifier width set), else NNI's own network.
        target = sample if set(kwargs) <= {"num_labels"} else lambda: build_model(space, sample, **kwargs)
        return self.function(target, **{**self.arguments, "space": space, "dataset": dataset, "num_classes": classes})


def vkdnw_evaluator(options: VKDNWOptions | None = None, **arguments) -> VKDNWEvaluator:
    """A :class:`VKDNWEvaluator` running :func:`evaluate_model` with ``options`` (and :class:`VKDNWOptions`
    fields and :data:`EVALUATOR_ARGS` among ``arguments``), checked before the experiment starts."""
    settings = {key: arguments.pop(key) for key in EVALUATOR_ARGS if key in arguments}
    if "components" in settings:
        settings["components"] = list(check_components(settings["components"]))
    checked = VKDNWOptions.from_mapping(arguments, base=options)
    fields = {key: list(value) if isinstance(value, tuple) else value for key, value in vars(checked).items()}
    return VKDNWEvaluator(evaluate_model, **fields, **settings)


__all__ = ["INVALID_SCORE", "VKDNWEvaluator", "evaluate_model", "nni_space_of", "score_model", "vkdnw_evaluator"]
