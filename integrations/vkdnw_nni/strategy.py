"""Rank-aggregation evolution (the VKDNW paper's search) for NNI, as a NAS strategy and an HPO tuner.

The search, as in the paper (after Zen-NAS / AZ-NAS):

1. spawn ``population_size`` random architectures within the FLOPs budget;
2. repeat: pick a parent from the population (``sample_size`` = 1: uniformly; larger: the best of a
   random tournament by VKDNW_agg), change exactly one of its choices to another value, and — only if
   the child is new and within ``[min_mflops, max_mflops]`` — score it;
3. the population keeps the top ``population_size`` by VKDNW_agg, aggregated *inside the population*
   (Σ log(rank/N) of VKDNW_single, jacov, expressivity, trainability, FLOPs); the worst is dropped.

FLOPs are checked before a model is submitted, so an architecture over budget never costs a trial.

* :class:`VKDNWAggEvolution` subclasses NNI's ``RegularizedEvolution`` (its run loop, sampling
  retries, de-duplication, seeding and checkpointing) and replaces parent choice, mutation and the
  population update.
* :class:`VKDNWEvolutionTuner` subclasses NNI's HPO ``EvolutionTuner`` (its JSON search-space
  machinery and trial bookkeeping) for ``nnictl``; every trial gets ``archs_per_trial`` architectures
  (``{"archs": [...]}``) to amortise the trial process start-up. Register it with
  ``nnictl algo register --meta configs/vkdnw_tuner_meta.yml`` or :func:`register_tuner`.
"""

from __future__ import annotations

import copy
import logging
from typing import Callable, Sequence

import numpy as np

from .evaluator import DEFAULT_COMPONENTS
from .ranking import population_agg
from .spaces import (
    NB201_DATASETS,
    SPACES,
    arch_key,
    build_model,
    count_mflops,
    default_resolution,
    space_kwargs,
)

_logger = logging.getLogger(__name__)


def _check_budget(min_mflops, max_mflops, prefix: str = "") -> None:
    for name, value in (("min_mflops", min_mflops), ("max_mflops", max_mflops)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise ValueError(f"{prefix}{name}: expected a positive number of MFLOPs or null, got {value!r}")
    if min_mflops is not None and max_mflops is not None and min_mflops > max_mflops:
        raise ValueError(f"{prefix}min_mflops ({min_mflops}) is above max_mflops ({max_mflops})")


def _within(mflops: float, min_mflops, max_mflops) -> bool:
    return (max_mflops is None or mflops <= max_mflops) and (min_mflops is None or mflops >= min_mflops)


def _present_components(results: Sequence[dict], components: Sequence[str]) -> list[str]:
    """Components some result actually reports; ``["default"]`` when none does (foreign evaluators)."""
    present = []
    for name in components:
        keys = ("vkdnw_dim", "vkdnw_entropy") if name == "vkdnw" else (name,)
        if any(all(r.get(k) is not None for k in keys) for r in results):
            present.append(name)
    return present or ["default"]


def _agg(results: Sequence[dict], components: Sequence[str]) -> np.ndarray:
    return population_agg(results, _present_components(results, components))


def _tournament(rng: np.random.RandomState, results: Sequence[dict], components, sample_size: int) -> int:
    """Index of the parent: best VKDNW_agg (within the population) among ``sample_size`` random members."""
    agg = _agg(results, components)
    picks = rng.permutation(len(results))[: max(1, sample_size)]
    return int(picks[np.argmax(agg[picks])])


def _drop_worst(results: Sequence[dict], components) -> int:
    """Index of the member with the lowest VKDNW_agg (the oldest among ties)."""
    agg = _agg(results, components)
    return int(np.flatnonzero(agg == agg.min())[0])


def _one_choice_mutation(rng: np.random.RandomState, parent: dict, choices: dict[str, list]) -> dict:
    """A copy of ``parent`` with exactly one label (among those with ≥2 values) set to another value."""
    labels = [label for label, values in choices.items() if len(values) > 1]
    if not labels:
        raise ValueError("the search space has no choice with two or more values to mutate")
    label = labels[rng.randint(len(labels))]
    others = [v for v in choices[label] if v != parent[label]]
    child = copy.copy(parent)
    child[label] = others[rng.randint(len(others))]
    return child


# ============================================================================ NAS strategy (NasExperiment)


def _nas_strategy_base():
    from ._compat import NNI3

    if NNI3:
        from nni.nas.strategy import RegularizedEvolution

        return RegularizedEvolution
    return None


_Base = _nas_strategy_base()

if _Base is not None:
    from nni.mutable import MutableAnnotation, SampleValidationError
    from nni.nas.execution.event import ModelEventType
    from nni.nas.space import ModelStatus
    from nni.nas.strategy.evolution import Individual

    class FlopsBudgetExceeded(SampleValidationError):
        """Raised (and retried by NNI's sampling helper) for a sample outside the FLOPs budget."""

    class VKDNWAggEvolution(_Base):
        """Rank-aggregation evolution over an NNI model space (NNI 3.0 ``NasExperiment`` strategy).

        Parameters
        ----------
        population_size
            P: the population keeps the top P architectures by VKDNW_agg.
        sample_size
            Parent tournament size (1 = uniform random parent, the paper's setting).
        max_mflops, min_mflops
            FLOPs budget in millions of MACs (Conv2d + Linear) at ``flops_resolution``; checked before
            submission, architectures outside it are never evaluated.
        flops_resolution
            Input resolution for the FLOPs count (e.g. 32 for NB201 CIFAR, 224 for ProxylessNAS).
        flops_fn
            Optional ``sample -> MFLOPs``; default builds the model from the space and counts it.
        components
            Metric keys aggregated into VKDNW_agg (default: the paper's five).
        dedup, seed
            As in NNI's ``RegularizedEvolution``.
        """

        def __init__(self, *, population_size: int = 64, sample_size: int = 1, max_mflops: float | None = None,
                     min_mflops: float | None = None, flops_resolution: int = 32,
                     flops_fn: Callable[[dict], float] | None = None,
                     components: Sequence[str] = DEFAULT_COMPONENTS, dedup: bool = True,
                     seed: int | None = None, sampling_retries: int = 2000):
            if not isinstance(population_size, int) or population_size < 2:
                raise ValueError(f"population_size: expected an integer >= 2, got {population_size!r}")
            if not isinstance(sample_size, int) or not 1 <= sample_size <= population_size:
                raise ValueError(f"sample_size: expected an integer in 1..population_size, got {sample_size!r}")
            _check_budget(min_mflops, max_mflops)
            super().__init__(population_size=population_size, sample_size=sample_size, mutation_prob=0.0,
                             crossover=False, dedup=dedup, seed=seed)
            from nni.nas.strategy.utils import RetrySamplingHelper

            self._retry_helper = RetrySamplingHelper(retries=sampling_retries)
            self.max_mflops, self.min_mflops = max_mflops, min_mflops
            self.flops_resolution = flops_resolution
            self.flops_fn = flops_fn
            self.components = tuple(components)
            self._raw: dict[int, dict] = {}
            self._flops_cache: dict[str, float] = {}
            self.rejected_over_budget = 0
            self.failed = 0
            self.history: list[tuple[dict, dict]] = []  # (sample, reported metric dict) of every scored model

        def extra_repr(self) -> str:
            return (f"population_size={self.population_size}, sample_size={self.sample_size}, "
                    f"max_mflops={self.max_mflops}, min_mflops={self.min_mflops}, components={self.components}")

        # ---------------------------------------------------------------- sampling
        def _choices(self) -> dict[str, list]:
            return {label: list(m.values) for label, m in self.model_space.simplify().items()
                    if not isinstance(m, MutableAnnotation)}

        def sample_mflops(self, sample: dict) -> float:
            key = arch_key(sample)
            if key not in self._flops_cache:
                if self.flops_fn is not None:
                    self._flops_cache[key] = float(self.flops_fn(sample))
                else:
                    model = self.model_space.freeze(sample).executable_model()
                    self._flops_cache[key] = count_mflops(model, self.flops_resolution)
            return self._flops_cache[key]

        def _admit(self, sample: dict, how: str):
            if self._dedup_helper is not None:
                self._dedup_helper.dedup(sample)
            if self.max_mflops is not None or self.min_mflops is not None:
                mflops = self.sample_mflops(sample)
                if not _within(mflops, self.min_mflops, self.max_mflops):
                    self.rejected_over_budget += 1
                    raise FlopsBudgetExceeded(f"{mflops:.2f} MFLOPs outside [{self.min_mflops}, {self.max_mflops}]")
            model = self.model_space.freeze(sample)
            self._individual_counter += 1
            _logger.info("[Individual %4d] %s: %s", self._individual_counter, how, sample)
            return model

        def random(self):
            sample = {label: values[self._random_state.randint(len(values))]
                      for label, values in self._choices().items()}
            return self._admit(sample, "Random")

        def new_individual(self):
            members = list(self._population)
            parent = members[_tournament(self._random_state, [m.y for m in members], self.components,
                                         self.sample_size)].x
            return self._admit(_one_choice_mutation(self._random_state, parent, self._choices()), "Mutated")

        def best_parent(self):  # kept for API compatibility with RegularizedEvolution
            members = list(self._population)
            return members[_tournament(self._random_state, [m.y for m in members], self.components,
                                       self.sample_size)].x

        # ---------------------------------------------------------------- results
        def _initialize(self, model_space, engine):
            engine.register_model_event_callback(ModelEventType.FinalMetric, self._final_metric_callback)
            return super()._initialize(model_space, engine)

        def _cleanup(self) -> None:
            self.engine.unregister_model_event_callback(ModelEventType.FinalMetric, self._final_metric_callback)
            super()._cleanup()

        def _final_metric_callback(self, event) -> None:
            metric = event.metric
            self._raw[id(event.model)] = dict(metric) if isinstance(metric, dict) else {"default": metric}

        def _training_end_callback(self, event) -> None:
            model = event.model
            if model not in self._running_models:
                _logger.warning("%s is not in the running list. Ignore.", model)
                return
            self._running_models.remove(model)
            raw = self._raw.pop(id(model), None)
            if event.status != ModelStatus.Trained or raw is None:
                self.failed += 1
                _logger.warning("Model failed or reported no metric (status %s); the search goes on: %s",
                                event.status, model.sample)
                return
            self.history.append((dict(model.sample), raw))
            self._population.append(Individual(dict(model.sample), raw))
            if len(self._population) > self.population_size:
                members = list(self._population)
                del self._population[_drop_worst([m.y for m in members], self.components)]

        def top_architectures(self, k: int = 10) -> list[dict]:
            """The ``k`` best scored architectures by VKDNW_agg aggregated over everything scored:
            ``[{"arch": sample, "vkdnw_agg": float, **metrics}, ...]``, best first."""
            if not self.history:
                return []
            results = [metrics for _, metrics in self.history]
            agg = _agg(results, self.components)
            order = np.argsort(-agg, kind="stable")[:k]
            return [{"arch": self.history[i][0], "vkdnw_agg": float(agg[i]), **self.history[i][1]} for i in order]

        def state_dict(self) -> dict:
            return {**super().state_dict(), "history": self.history, "rejected_over_budget": self.rejected_over_budget,
                    "failed": self.failed}

        def load_state_dict(self, state_dict: dict) -> None:
            super().load_state_dict(state_dict)
            self.history = list(state_dict.get("history", []))
            self.rejected_over_budget = state_dict.get("rejected_over_budget", 0)
            self.failed = state_dict.get("failed", 0)

else:  # pragma: no cover - NNI 2.10 has no RegularizedEvolution with this interface

    class VKDNWAggEvolution:  # type: ignore[no-redef]
        def __init__(self, *args, **kwargs):
            raise ImportError("VKDNWAggEvolution needs NNI >= 3.0 (nni.nas.strategy); on NNI 2.10 use the "
                              "nnictl tuner VKDNWEvolutionTuner or pip install 'nni>=3.0'")


# ============================================================================ HPO tuner (nnictl)

from nni import ClassArgsValidator  # noqa: E402
from nni.algorithms.hpo.evolution_tuner import EvolutionTuner  # noqa: E402

TUNER_ARGS = {
    "space": "nb201 | proxylessnas (the NNI hub space whose labels the search space uses)",
    "dataset": "NB201 dataset: cifar10 | cifar100 | ImageNet16-120 (sets num_classes)",
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
        raise ValueError(f"{prefix}{unknown[0]}: unknown argument; expected some of {', '.join(TUNER_ARGS)}")
    space = args.get("space", "nb201")
    if space not in SPACES:
        raise ValueError(f"{prefix}space: expected one of {', '.join(SPACES)}, got {space!r}")
    dataset = args.get("dataset")
    if dataset is not None and (space != "nb201" or dataset not in NB201_DATASETS):
        raise ValueError(f"{prefix}dataset: expected one of {', '.join(NB201_DATASETS)} (nb201 only), got {dataset!r}")
    for name, low in (("population_size", 2), ("sample_size", 1), ("archs_per_trial", 1), ("num_classes", 1),
                      ("flops_resolution", 1)):
        value = args.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
            raise ValueError(f"{prefix}{name}: expected an integer >= {low}, got {value!r}")
    if args.get("sample_size", 1) > args.get("population_size", 64):
        raise ValueError(f"{prefix}sample_size: must not exceed population_size ({args.get('population_size', 64)})")
    _check_budget(args.get("min_mflops"), args.get("max_mflops"), prefix)
    if args.get("optimize_mode", "maximize") != "maximize":
        raise ValueError(f"{prefix}optimize_mode: VKDNW is maximised; expected 'maximize', got {args['optimize_mode']!r}")
    seed = args.get("seed")
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"{prefix}seed: expected an integer or null, got {seed!r}")
    components = args.get("components", DEFAULT_COMPONENTS)
    if isinstance(components, str) or not components:
        raise ValueError(f"{prefix}components: expected a non-empty list of metric names, got {components!r}")
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
                 flops_resolution: int | None = None, components: Sequence[str] = DEFAULT_COMPONENTS,
                 seed: int | None = None, optimize_mode: str = "maximize"):
        validate_tuner_args({
            "space": space, "dataset": dataset, "num_classes": num_classes, "population_size": population_size,
            "sample_size": sample_size, "archs_per_trial": archs_per_trial, "max_mflops": max_mflops,
            "min_mflops": min_mflops, "flops_resolution": flops_resolution, "components": list(components),
            "seed": seed, "optimize_mode": optimize_mode,
        })  # fmt: skip
        super().__init__(optimize_mode="maximize", population_size=population_size)
        self.space_name = space
        self.space_kwargs = space_kwargs(space, dataset=dataset, num_classes=num_classes)
        self.sample_size = sample_size
        self.archs_per_trial = archs_per_trial
        self.max_mflops, self.min_mflops = max_mflops, min_mflops
        self.flops_resolution = flops_resolution or default_resolution(space, dataset)
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
                raise ValueError(f"searchSpace.{label}: VKDNWEvolutionTuner needs '_type: choice', got {spec!r}")
            choices[label] = list(spec["_value"])
        from .spaces import space_choices

        expected = space_choices(self.space_name, **self.space_kwargs)
        if set(choices) != set(expected):
            raise ValueError(f"searchSpace: labels {sorted(choices)} are not those of space {self.space_name!r} "
                             f"({sorted(expected)}); write it with `vkdnw-nni search-space --space {self.space_name}`")
        self.searchspace_json = search_space
        self.choices = choices
        self.random_state = np.random.RandomState(self.seed)

    # -------------------------------------------------------------- sampling
    def sample_mflops(self, sample: dict) -> float:
        key = arch_key(sample)
        if key not in self.flops_cache:
            model = build_model(self.space_name, sample, **self.space_kwargs)
            self.flops_cache[key] = count_mflops(model, self.flops_resolution)
        return self.flops_cache[key]

    def _candidate(self) -> dict:
        rng = self.random_state
        if len(self.population) < self.population_size:
            return {label: values[rng.randint(len(values))] for label, values in self.choices.items()}
        parent = self.population[_tournament(rng, self.population, self.components, self.sample_size)]["arch"]
        return _one_choice_mutation(rng, parent, self.choices)

    def _next_arch(self, retries: int = 2000) -> dict | None:
        for _ in range(retries):
            sample = self._candidate()
            key = arch_key(sample)
            if key in self.seen:
                continue
            self.seen.add(key)
            if self.max_mflops is not None or self.min_mflops is not None:
                if not _within(self.sample_mflops(sample), self.min_mflops, self.max_mflops):
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
            del self.population[_drop_worst(self.population, self.components)]

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
                    self.seen.add(arch_key(arch))


TUNER_META = {
    "algoType": "tuner",
    "builtinName": "VKDNWEvolution",
    "className": "vkdnw_nni.strategy.VKDNWEvolutionTuner",
    "classArgsValidator": "vkdnw_nni.strategy.VKDNWTunerClassArgsValidator",
}


def register_tuner() -> None:
    """Programmatic ``nnictl algo register``: afterwards ``tuner: {name: VKDNWEvolution}`` works."""
    from nni.tools.package_utils import register_algo_meta
    from nni.tools.package_utils.common import AlgoMeta

    register_algo_meta(AlgoMeta.load(dict(TUNER_META)))


__all__ = ["TUNER_META", "VKDNWAggEvolution", "VKDNWEvolutionTuner", "VKDNWTunerClassArgsValidator",
           "register_tuner", "validate_tuner_args"]
