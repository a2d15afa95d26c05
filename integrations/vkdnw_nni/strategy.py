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
* :class:`VKDNWEvolutionTuner` (in the light module :mod:`vkdnw_nni.tuner`) subclasses NNI's HPO ``EvolutionTuner`` (its JSON search-space
  machinery and trial bookkeeping) for ``nnictl``; every trial gets ``archs_per_trial`` architectures
  (``{"archs": [...]}``) to amortise the trial process start-up. Register it with
  ``nnictl algo register --meta configs/vkdnw_tuner_meta.yml`` or :func:`register_tuner`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import numpy as np

from vkdnw_plugin.evolution import (
    architecture_key,
    canonical_sample,
    check_budget,
    mutate_one_choice,
    tournament,
    weakest,
    within_budget,
)
from vkdnw_plugin.options import FieldError
from vkdnw_plugin.ranking import AGG_COMPONENTS

from .spaces import count_mflops
from .tuner import (  # noqa: F401  (the tuner lives in a light module; re-exported here)
    TUNER_META,
    VKDNWEvolutionTuner,
    VKDNWTunerClassArgsValidator,
    population_fitness,
    register_tuner,
    validate_tuner_args,
)

_logger = logging.getLogger(__name__)


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
                     components: Sequence[str] = AGG_COMPONENTS, dedup: bool = True,
                     seed: int | None = None, sampling_retries: int = 2000):
            if not isinstance(population_size, int) or population_size < 2:
                raise FieldError(f"population_size: expected an integer >= 2, got {population_size!r}")
            if not isinstance(sample_size, int) or not 1 <= sample_size <= population_size:
                raise FieldError(f"sample_size: expected an integer in 1..population_size, got {sample_size!r}")
            check_budget(min_mflops, max_mflops)
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
            key = architecture_key(sample)
            if key not in self._flops_cache:
                if self.flops_fn is not None:
                    self._flops_cache[key] = float(self.flops_fn(sample))
                else:
                    model = self.model_space.freeze(sample).executable_model()
                    self._flops_cache[key] = count_mflops(model, self.flops_resolution)
            return self._flops_cache[key]

        def _admit(self, sample: dict, how: str):
            if self._dedup_helper is not None:  # one network once: choices a depth leaves unused do not count
                self._dedup_helper.dedup(canonical_sample(sample))
            if self.max_mflops is not None or self.min_mflops is not None:
                mflops = self.sample_mflops(sample)
                if not within_budget(mflops, self.min_mflops, self.max_mflops):
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
            return self._admit(mutate_one_choice(self._random_state, self.best_parent(), self._choices()), "Mutated")

        def best_parent(self):
            """The parent of the next mutation: a tournament by VKDNW_agg inside the population."""
            members = list(self._population)
            fitness = population_fitness([m.y for m in members], self.components)
            return members[tournament(self._random_state, fitness, self.sample_size)].x

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
                del self._population[weakest(population_fitness([m.y for m in members], self.components))]

        def top_architectures(self, k: int = 10) -> list[dict]:
            """The ``k`` best scored architectures by VKDNW_agg aggregated over everything scored:
            ``[{"arch": sample, "vkdnw_agg": float, **metrics}, ...]``, best first."""
            if not self.history:
                return []
            results = [metrics for _, metrics in self.history]
            agg = population_fitness(results, self.components)
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


__all__ = ["TUNER_META", "VKDNWAggEvolution", "VKDNWEvolutionTuner", "VKDNWTunerClassArgsValidator",
           "register_tuner", "validate_tuner_args"]
