"""The rank-aggregation evolution as an ``nnictl`` HPO tuner (see :mod:`vkdnw_nni.strategy`).

Kept light on purpose: NNI's manager gives the tuner process 10 seconds to connect, so this module
imports neither torch nor NNI's NAS package at import time (models are built only to count FLOPs,
lazily, after the tuner has connected).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from nni import ClassArgsValidator
from nni.algorithms.hpo.evolution_tuner import EvolutionTuner

from vkdnw_plugin.evolution import (
    architecture_key,
    check_budget,
    mutate_one_choice,
    tournament,
    weakest,
    within_budget,
)
from vkdnw_plugin.options import FieldError
from vkdnw_plugin.ranking import AGG_COMPONENTS, aggregate_ranks
from vkdnw_plugin.spaces import get_space

NNI_SPACES = ("nb201", "proxylessnas")  # the NNI hub spaces this adapter builds (NasBench201, ProxylessNAS)
_logger = logging.getLogger(__name__)


def nni_space(name: str, field: str = "space") -> str:
    """The core name of one of :data:`NNI_SPACES` given by name or alias (``nasbench201``);
    :class:`~vkdnw_plugin.options.FieldError` naming ``field`` otherwise."""
    from vkdnw_plugin.options import OptionError

    try:
        name = get_space(name).name
    except OptionError:
        pass
    if name not in NNI_SPACES:
        raise FieldError(f"{field}: expected one of {', '.join(NNI_SPACES)}, got {name!r}")
    return name


def _present_components(results: Sequence[dict], components: Sequence[str]) -> list[str]:
    """Components some result actually reports; ``["default"]`` when none does (foreign evaluators)."""
    return [name for name in components if any(r.get(name) is not None for r in results)] or ["default"]


def _metric(result: dict, key: str) -> float:
    try:
        return float(result.get(key))
    except (TypeError, ValueError):
        return float("nan")


def population_fitness(results: Sequence[dict], components: Sequence[str]) -> np.ndarray:
    """VKDNW_agg of each metric dict inside ``results`` (the core's :func:`~vkdnw_plugin.ranking.aggregate_ranks`,
    higher is better), over the components they report; missing values rank last."""
    if not results:
        return np.zeros(0)
    present = _present_components(results, components)
    return aggregate_ranks({name: np.array([_metric(r, name) for r in results]) for name in present}, present)


TUNER_ARGS = {
    "space": "nb201 | proxylessnas (the NNI hub space whose labels the search space uses)",
    "dataset": "the space's dataset (nb201: cifar10 | cifar100 | ImageNet16-120; proxylessnas: imagenet)",
    "num_classes": "classifier width (ProxylessNAS default 1000)",
    "population_size": "P, integer >= 2",
    "sample_size": "parent tournament size, 1..P",
    "archs_per_trial": "architectures scored per trial process, >= 1",
    "max_mflops": "FLOPs budget (millions) or null",
    "min_mflops": "lower FLOPs bound (millions) or null",
    "flops_resolution": "input resolution for FLOPs (default: the space's)",
    "components": "metric keys aggregated into VKDNW_agg",
    "seed": "integer or null",
    "optimize_mode": "maximize",
}


class VKDNWTunerClassArgsValidator(ClassArgsValidator):
    """Checks ``tuner.classArgs``; errors name the field, as nnictl's validators do."""

    def validate_class_args(self, **kwargs):
        validate_tuner_args(kwargs)


def validate_tuner_args(args: dict, prefix: str = "classArgs.") -> dict:
    unknown = sorted(set(args) - set(TUNER_ARGS))
    if unknown:
        raise FieldError(f"{prefix}{unknown[0]}: unknown argument; expected some of {', '.join(TUNER_ARGS)}")
    space = nni_space(args.get("space", "nb201"), f"{prefix}space")
    dataset = args.get("dataset")
    if dataset is not None and dataset not in get_space(space).datasets:
        raise FieldError(f"{prefix}dataset: expected one of {', '.join(get_space(space).datasets)}, got {dataset!r}")
    for name, low in (("population_size", 2), ("sample_size", 1), ("archs_per_trial", 1), ("num_classes", 1),
                      ("flops_resolution", 1)):
        value = args.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise FieldError(f"{prefix}{name}: expected an integer >= {low}, got {value!r}")
    if args.get("sample_size", 1) > args.get("population_size", 64):
        raise FieldError(f"{prefix}sample_size: must not exceed population_size ({args.get('population_size', 64)})")
    check_budget(args.get("min_mflops"), args.get("max_mflops"), prefix)
    if args.get("optimize_mode", "maximize") != "maximize":
        raise FieldError(f"{prefix}optimize_mode: VKDNW is maximised; expected 'maximize', got {args['optimize_mode']!r}")
    seed = args.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise FieldError(f"{prefix}seed: expected an integer or null, got {seed!r}")
    components = args.get("components", AGG_COMPONENTS)
    if isinstance(components, str) or not components:
        raise FieldError(f"{prefix}components: expected a non-empty list of metric names, got {components!r}")
    return args


class VKDNWEvolutionTuner(EvolutionTuner):
    """Rank-aggregation evolution as an ``nnictl`` tuner (see the module docstring).

    The search space (``searchSpaceFile``) is the NNI space in HPO form — write it with
    ``vkdnw-nni search-space --space nb201`` — and each trial receives ``{"archs": [sample, ...]}``.
    The trial command ``python -m vkdnw_nni.trial`` reports ``{"default", "archs": [per-arch metrics]}``.
    """

    def __init__(self, space: str = "nb201", dataset: str | None = None, num_classes: int | None = None,
                 population_size: int = 64, sample_size: int = 1, archs_per_trial: int = 4,
                 max_mflops: float | None = None, min_mflops: float | None = None,
                 flops_resolution: int | None = None, components: Sequence[str] = AGG_COMPONENTS,
                 seed: int | None = None, optimize_mode: str = "maximize"):
        validate_tuner_args({
            "space": space, "dataset": dataset, "num_classes": num_classes, "population_size": population_size,
            "sample_size": sample_size, "archs_per_trial": archs_per_trial, "max_mflops": max_mflops,
            "min_mflops": min_mflops, "flops_resolution": flops_resolution, "components": list(components),
            "seed": seed, "optimize_mode": optimize_mode,
        })  # fmt: skip
        super().__init__(optimize_mode="maximize", population_size=population_size)
        self.space_name = space = nni_space(space)
        classes, resolution = get_space(space).shape(dataset)
        self.space_kwargs = {"num_labels": num_classes or classes}
        self.sample_size = sample_size
        self.archs_per_trial = archs_per_trial
        self.max_mflops, self.min_mflops = max_mflops, min_mflops
        self.flops_resolution = flops_resolution or resolution
        self.components = tuple(components)
        self.seed = seed
        self.random_state = np.random.RandomState(seed)
        self.choices: dict[str, list] = {}
        self.population: list[dict] = []  # metric dicts with an "arch" key
        self.history: list[dict] = []
        self.seen: set[str] = set()
        self.flops_cache: dict[str, float] = {}
        self.rejected_over_budget = 0
        self.failed_trials = 0
        self.failed_archs = 0
        self.dispatched = 0

    # -------------------------------------------------------------- search space
    def update_search_space(self, search_space):
        choices = {}
        for label, spec in search_space.items():
            if not isinstance(spec, dict) or spec.get("_type") != "choice":
                raise FieldError(f"searchSpace.{label}: VKDNWEvolutionTuner needs '_type: choice', got {spec!r}")
            choices[label] = list(spec["_value"])
        from .spaces import space_choices

        expected = space_choices(self.space_name, **self.space_kwargs)
        if set(choices) != set(expected):
            raise FieldError(f"searchSpace: labels {sorted(choices)} are not those of space {self.space_name!r} "
                             f"({sorted(expected)}); write it with `vkdnw-nni search-space --space {self.space_name}`")
        self.searchspace_json = search_space
        self.choices = choices
        self.random_state = np.random.RandomState(self.seed)

    # -------------------------------------------------------------- sampling
    def sample_mflops(self, sample: dict) -> float:
        key = architecture_key(sample)
        if key not in self.flops_cache:
            from .spaces import build_model, count_mflops

            model = build_model(self.space_name, sample, **self.space_kwargs)
            self.flops_cache[key] = count_mflops(model, self.flops_resolution)
        return self.flops_cache[key]

    def _candidate(self) -> dict:
        rng = self.random_state
        if len(self.population) < self.population_size:
            return {label: values[rng.randint(len(values))] for label, values in self.choices.items()}
        fitness = population_fitness(self.population, self.components)
        parent = self.population[tournament(rng, fitness, self.sample_size)]["arch"]
        return mutate_one_choice(rng, parent, self.choices)

    def _next_arch(self, retries: int = 2000) -> dict | None:
        for _ in range(retries):
            sample = self._candidate()
            key = architecture_key(sample)  # one key per network: unused choices do not count
            if key in self.seen:
                continue
            self.seen.add(key)
            if self.max_mflops is not None or self.min_mflops is not None:
                if not within_budget(self.sample_mflops(sample), self.min_mflops, self.max_mflops):
                    self.rejected_over_budget += 1
                    continue
            return sample
        return None

    def generate_parameters(self, parameter_id, **kwargs):
        import nni

        if not self.choices:
            raise RuntimeError("VKDNWEvolutionTuner got no search space")
        archs = []
        while len(archs) < self.archs_per_trial:
            sample = self._next_arch()
            if sample is None:
                break
            archs.append(sample)
        if not archs:
            raise nni.NoMoreTrialError("no new architecture within the FLOPs budget")
        self.running_trials[parameter_id] = archs
        self.dispatched += len(archs)
        _logger.info("trial %s: %d architectures (%d rejected over budget so far)", parameter_id, len(archs),
                     self.rejected_over_budget)
        return {"archs": archs}

    def generate_multiple_parameters(self, parameter_id_list, **kwargs):
        import nni

        result = []
        for parameter_id in parameter_id_list:
            try:
                result.append(self.generate_parameters(parameter_id, **kwargs))
                self.num_running_trials += 1
            except nni.NoMoreTrialError:
                break
        return result

    # -------------------------------------------------------------- results
    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        entries = value.get("archs") if isinstance(value, dict) else None
        if entries is None:  # a single-architecture trial (e.g. a hand-written trial command)
            arch = parameters.get("archs", [parameters])[0] if isinstance(parameters, dict) else parameters
            metrics = dict(value) if isinstance(value, dict) else {"default": value}
            entries = [{"arch": arch, **metrics}]
        for entry in entries:
            if entry.get("error") is not None or entry.get("default") is None:
                self.failed_archs += 1
                continue
            self.history.append(entry)
            self.population.append(entry)
        while len(self.population) > self.population_size:
            del self.population[weakest(population_fitness(self.population, self.components))]

    def trial_end(self, parameter_id, success, **kwargs):
        self.num_running_trials -= 1
        self.running_trials.pop(parameter_id, None)
        if not success:
            self.failed_trials += 1
            _logger.warning("trial %s failed; the search goes on", parameter_id)

    def import_data(self, data):
        for record in data:
            value = record.get("value")
            params = record.get("parameter", {})
            if isinstance(value, dict):
                self.receive_trial_result(None, params, value)
                for arch in params.get("archs", [params]):
                    self.seen.add(architecture_key(arch))


TUNER_META = {
    "algoType": "tuner",
    "builtinName": "VKDNWEvolution",
    "className": "vkdnw_nni.tuner.VKDNWEvolutionTuner",
    "classArgsValidator": "vkdnw_nni.tuner.VKDNWTunerClassArgsValidator",
}


def register_tuner() -> None:
    """Programmatic ``nnictl algo register``: afterwards ``tuner: {name: VKDNWEvolution}`` works."""
    from nni.tools.package_utils import register_algo_meta
    from nni.tools.package_utils.common import AlgoMeta

    register_algo_meta(AlgoMeta.load(dict(TUNER_META)))


__all__ = ["TUNER_META", "VKDNWEvolutionTuner", "VKDNWTunerClassArgsValidator", "register_tuner", "validate_tuner_args"]
