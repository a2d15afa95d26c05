"""The rank-aggregation evolution as an ``nnictl`` HPO tuner (the search of :mod:`vkdnw_plugin.evolution`).

Light on purpose: NNI gives the tuner process 10 s to connect, so neither torch nor ``nni.nas`` is
imported here (models are built only to count FLOPs, after the tuner has connected).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
from nni import ClassArgsValidator
from nni.algorithms.hpo.evolution_tuner import EvolutionTuner

from vkdnw_plugin.evolution import Evolution, architecture_key, check_budget, population_fitness
from vkdnw_plugin.options import FieldError, OptionError
from vkdnw_plugin.ranking import AGG_COMPONENTS
from vkdnw_plugin.spaces import get_space

NNI_SPACES = ("nb201", "proxylessnas")  # the NNI hub spaces this adapter builds (NasBench201, ProxylessNAS)
_logger = logging.getLogger(__name__)


def nni_space(name: str, field: str = "space") -> str:
    """The core name of one of :data:`NNI_SPACES` given by name or alias; ``FieldError`` naming ``field``."""
    try:
        name = get_space(name).name
    except OptionError:
        pass
    if name not in NNI_SPACES:
        raise FieldError(f"{field}: expected one of {', '.join(NNI_SPACES)}, got {name!r}")
    return name


TUNER_ARGS = ("space", "dataset", "num_classes", "population_size", "sample_size", "archs_per_trial", "max_mflops",
              "min_mflops", "flops_resolution", "components", "seed", "optimize_mode")  # docs/configs.md


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


class VKDNWEvolutionTuner(Evolution, EvolutionTuner):
    """The search as an ``nnictl`` tuner. The search space (``searchSpaceFile``) is the NNI space in HPO
    form (``vkdnw-nni search-space --space nb201``); each trial gets ``{"archs": [sample, ...]}`` and
    ``python -m vkdnw_nni.trial`` reports ``{"default", "archs": [per-arch metrics]}``."""

    def __init__(self, space: str = "nb201", dataset: str | None = None, num_classes: int | None = None,
                 population_size: int = 64, sample_size: int = 1, archs_per_trial: int = 4,
                 max_mflops: float | None = None, min_mflops: float | None = None,
                 flops_resolution: int | None = None, components: Sequence[str] = AGG_COMPONENTS,
                 seed: int | None = None, optimize_mode: str = "maximize"):
        validate_tuner_args({key: value for key, value in locals().items() if key in TUNER_ARGS})
        EvolutionTuner.__init__(self, optimize_mode="maximize", population_size=population_size)
        Evolution.__init__(self, population_size, sample_size, min_mflops, max_mflops, components, seed)
        self.space_name = space = nni_space(space)
        classes, resolution = get_space(space).shape(dataset)
        self.space_kwargs = {"num_labels": num_classes or classes}
        self.archs_per_trial = archs_per_trial
        self.flops_resolution = flops_resolution or resolution
        self.seed = seed
        self.choices: dict[str, list] = {}
        self.failed_trials = self.failed_archs = self.dispatched = 0

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
        self.rng = np.random.RandomState(self.seed)

    def count_sample_mflops(self, sample: dict) -> float:
        from .spaces import build_model, count_mflops

        return count_mflops(build_model(self.space_name, sample, **self.space_kwargs), self.flops_resolution)

    def _next_arch(self, retries: int = 2000) -> dict | None:
        for _ in range(retries):
            full = len(self.population) >= self.population_size
            sample = self.mutate(self.choices) if full else self.random_sample(self.choices)
            if self.reject(sample) is None:
                return sample
        return None

    def generate_parameters(self, parameter_id, **kwargs):
        import nni

        if not self.choices:
            raise RuntimeError("VKDNWEvolutionTuner got no search space")
        archs = []
        while len(archs) < self.archs_per_trial and (sample := self._next_arch()) is not None:
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

    def receive_trial_result(self, parameter_id, parameters, value, **kwargs):
        entries = value.get("archs") if isinstance(value, dict) else None
        if entries is None:  # a single-architecture trial (e.g. a hand-written trial command)
            arch = parameters.get("archs", [parameters])[0] if isinstance(parameters, dict) else parameters
            entries = [{"arch": arch, **(dict(value) if isinstance(value, dict) else {"default": value})}]
        scored = [e for e in entries if e.get("error") is None and e.get("default") is not None]
        self.failed_archs += len(entries) - len(scored)
        self.add((e["arch"], e) for e in scored)

    def trial_end(self, parameter_id, success, **kwargs):
        self.num_running_trials -= 1
        self.running_trials.pop(parameter_id, None)
        if not success:
            self.failed_trials += 1
            _logger.warning("trial %s failed; the search goes on", parameter_id)

    def import_data(self, data):
        for record in data:
            value, params = record.get("value"), record.get("parameter", {})
            if isinstance(value, dict):
                self.receive_trial_result(None, params, value)
                self.seen.update(architecture_key(arch) for arch in params.get("archs", [params]))


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


__all__ = ["TUNER_META", "VKDNWEvolutionTuner", "VKDNWTunerClassArgsValidator", "population_fitness",
           "register_tuner", "validate_tuner_args"]
