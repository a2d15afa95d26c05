"""The search of :mod:`vkdnw_plugin.evolution` as an NNI 3.0 NAS strategy: NNI's ``RegularizedEvolution``
run loop, sampling retries, seeding and checkpoints; samples outside the FLOPs budget are rejected
before submission, so they never cost a trial."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from vkdnw_plugin.evolution import Evolution, check_budget
from vkdnw_plugin.options import FieldError
from vkdnw_plugin.ranking import AGG_COMPONENTS

from ._compat import NNI3
from .spaces import count_mflops
from .tuner import TUNER_META, VKDNWEvolutionTuner, VKDNWTunerClassArgsValidator, population_fitness, register_tuner, validate_tuner_args  # noqa: F401

_logger = logging.getLogger(__name__)

if NNI3:
    from nni.mutable import MutableAnnotation, SampleValidationError
    from nni.nas.execution.event import ModelEventType
    from nni.nas.space import ModelStatus
    from nni.nas.strategy import RegularizedEvolution
    from nni.nas.strategy.utils import RetrySamplingHelper

    class SampleRejected(SampleValidationError):
        """A sample already seen or outside the FLOPs budget (NNI's sampling helper retries)."""

    class VKDNWAggEvolution(Evolution, RegularizedEvolution):
        """Rank-aggregation evolution over an NNI model space (NNI 3.0 ``NasExperiment`` strategy).

        ``max_mflops`` / ``min_mflops``: budget in millions of MACs at ``flops_resolution`` (32 for NB201
        CIFAR, 224 for ProxylessNAS); ``flops_fn``: optional ``sample -> MFLOPs`` (default: build the
        model and count it); ``components``: metric keys aggregated into VKDNW_agg.
        """

        def __init__(self, *, population_size: int = 64, sample_size: int = 1, max_mflops: float | None = None,
                     min_mflops: float | None = None, flops_resolution: int = 32,
                     flops_fn: Callable[[dict], float] | None = None,
                     components: Sequence[str] = AGG_COMPONENTS, dedup: bool = True,
                     seed: int | None = None, sampling_retries: int = 2000):
            if not isinstance(population_size, int) or population_size < 2:
                raise FieldError(f"population_size: expected an integer >= 2, got {population_size!r}")
            if not isinstance(sample_size, int) or not 1 <= sample_size <= population_size:
                raise FieldError(f"sample_size: expected an integer in 1..population_size, got {sample_size!r}")
            check_budget(min_mflops, max_mflops)
            RegularizedEvolution.__init__(self, population_size=population_size, sample_size=sample_size,
                                          mutation_prob=0.0, crossover=False, dedup=False, seed=seed)
            Evolution.__init__(self, population_size, sample_size, min_mflops, max_mflops, components, dedup=dedup)
            self.rng, self._population = self._random_state, self.population  # NNI's run loop and checkpoints
            self._retry_helper = RetrySamplingHelper(retries=sampling_retries)
            self.flops_resolution, self.flops_fn = flops_resolution, flops_fn
            self._raw: dict[int, dict] = {}
            self.failed = 0

        def extra_repr(self) -> str:
            return (f"population_size={self.population_size}, sample_size={self.sample_size}, "
                    f"max_mflops={self.max_mflops}, min_mflops={self.min_mflops}, components={self.components}")

        def _choices(self) -> dict[str, list]:
            return {label: list(m.values) for label, m in self.model_space.simplify().items()
                    if not isinstance(m, MutableAnnotation)}

        def count_sample_mflops(self, sample: dict) -> float:
            if self.flops_fn is not None:
                return self.flops_fn(sample)
            return count_mflops(self.model_space.freeze(sample).executable_model(), self.flops_resolution)

        def _admit(self, sample: dict, how: str):
            reason = self.reject(sample)
            if reason is not None:
                raise SampleRejected(reason)
            model = self.model_space.freeze(sample)
            self._individual_counter += 1
            _logger.info("[Individual %4d] %s: %s", self._individual_counter, how, sample)
            return model

        def random(self):
            return self._admit(self.random_sample(self._choices()), "Random")

        def new_individual(self):
            return self._admit(self.mutate(self._choices()), "Mutated")

        def best_parent(self):
            return self.parent()

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
            self.add([(dict(model.sample), raw)])

        def state_dict(self) -> dict:
            return {**super().state_dict(), "history": self.history, "seen": sorted(self.seen),
                    "rejected_over_budget": self.rejected_over_budget, "failed": self.failed}

        def load_state_dict(self, state_dict: dict) -> None:
            super().load_state_dict(state_dict)
            self.population[:] = state_dict["population"]
            self._population = self.population
            self.history = list(state_dict.get("history", []))
            self.seen = set(state_dict.get("seen", []))
            self.rejected_over_budget = state_dict.get("rejected_over_budget", 0)
            self.failed = state_dict.get("failed", 0)

else:  # pragma: no cover - NNI 2.10 has no RegularizedEvolution with this interface

    class VKDNWAggEvolution:  # type: ignore[no-redef]
        def __init__(self, *args, **kwargs):
            raise ImportError("VKDNWAggEvolution needs NNI >= 3.0 (nni.nas.strategy); on NNI 2.10 use the "
                              "nnictl tuner VKDNWEvolutionTuner or pip install 'nni>=3.0'")


__all__ = ["TUNER_META", "VKDNWAggEvolution", "VKDNWEvolutionTuner", "VKDNWTunerClassArgsValidator",
           "register_tuner", "validate_tuner_args"]
