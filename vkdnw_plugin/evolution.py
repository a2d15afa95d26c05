"""The VKDNW paper's evolutionary search (after Zen-NAS / AZ-NAS), framework-free.

Spawn ``population_size`` random architectures within the FLOPs budget; then repeatedly pick a parent
(``sample_size`` 1: uniformly; larger: the best of a tournament by VKDNW_agg), change one of its
choices, and score the child only if it is a new network within ``[min_mflops, max_mflops]``; the
population keeps the top ``population_size`` by VKDNW_agg aggregated inside it. An architecture is a
*sample* (``{label: value}``); :func:`canonical_sample` blanks the choices a stage's depth leaves unused
(``<stage>_i<j>`` with ``j >= <stage>_depth``) and :func:`architecture_key` names the network.
:class:`Evolution` is the state the NNI tuner and NAS strategy share.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable, Mapping, Sequence

import numpy as np

from .options import FieldError
from .ranking import AGG_COMPONENTS, aggregate_ranks

_LAYER = re.compile(r"^(?P<stage>.+)_i(?P<index>\d+)$")


def canonical_sample(sample: Mapping) -> dict:
    """``sample`` with every layer choice that its stage's depth leaves unused set to ``None``."""
    canonical = dict(sample)
    for label in sample:
        match = _LAYER.match(str(label))
        if match:
            depth = sample.get(f"{match['stage']}_depth")
            if isinstance(depth, int) and int(match["index"]) >= depth:
                canonical[label] = None
    return canonical


def architecture_key(sample: Mapping) -> str:
    """A stable text naming the network of ``sample``: sorted JSON of :func:`canonical_sample`."""
    return json.dumps(canonical_sample(sample), sort_keys=True, default=str)


def mutate_one_choice(rng: np.random.RandomState, parent: Mapping, choices: Mapping[str, Sequence],
                      retries: int = 1000) -> dict:
    """A copy of ``parent`` with one label (among those with two or more values) set to another value
    that changes the network; ``ValueError`` when no label can."""
    labels = [label for label, values in choices.items() if len(values) > 1]
    if not labels:
        raise ValueError("the search space has no choice with two or more values to mutate")
    parent_key = architecture_key(parent)
    for _ in range(retries):
        label = labels[rng.randint(len(labels))]
        others = [v for v in choices[label] if v != parent[label]]
        child = copy.copy(dict(parent))
        child[label] = others[rng.randint(len(others))]
        if architecture_key(child) != parent_key:
            return child
    raise ValueError(f"no mutation of {dict(parent)} changes the network in {retries} tries")


def tournament(rng: np.random.RandomState, fitness: Sequence[float], sample_size: int) -> int:
    """Index of the fittest of ``sample_size`` members drawn without replacement (1: a random member)."""
    fitness = np.asarray(fitness, dtype=float)
    picks = rng.permutation(len(fitness))[: max(1, sample_size)]
    return int(picks[np.argmax(fitness[picks])])


def weakest(fitness: Sequence[float]) -> int:
    """Index of the member the population drops: the lowest fitness, the oldest among ties."""
    fitness = np.asarray(fitness, dtype=float)
    return int(np.flatnonzero(fitness == fitness.min())[0])


def check_budget(min_mflops, max_mflops, prefix: str = "") -> None:
    """``FieldError`` unless each bound is a positive number or ``None`` and they are ordered."""
    for name, value in (("min_mflops", min_mflops), ("max_mflops", max_mflops)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0):
            raise FieldError(f"{prefix}{name}: expected a positive number of MFLOPs or null, got {value!r}")
    if min_mflops is not None and max_mflops is not None and min_mflops > max_mflops:
        raise FieldError(f"{prefix}min_mflops ({min_mflops}) is above max_mflops ({max_mflops})")


def within_budget(mflops: float, min_mflops=None, max_mflops=None) -> bool:
    """True when ``mflops`` lies in ``[min_mflops, max_mflops]`` (``None``: unbounded)."""
    return (max_mflops is None or mflops <= max_mflops) and (min_mflops is None or mflops >= min_mflops)


def _metric(result: Mapping, key: str) -> float:
    try:
        return float(result.get(key))
    except (TypeError, ValueError):
        return float("nan")


def population_fitness(results: Sequence[Mapping], components: Sequence[str] = AGG_COMPONENTS) -> np.ndarray:
    """VKDNW_agg of each metric dict among ``results`` over the components some of them report
    (``"default"`` when none does); missing values rank last."""
    if not results:
        return np.zeros(0)
    present = [name for name in components if any(r.get(name) is not None for r in results)] or ["default"]
    return aggregate_ranks({name: np.array([_metric(r, name) for r in results]) for name in present}, present)


class Evolution:
    """State of one search: ``population`` (``{"arch": sample, **metrics}``, oldest first), ``history``
    (``(sample, metrics)`` of every scored network), the networks ``seen`` and the FLOPs budget.
    Subclasses give :meth:`count_sample_mflops` when a budget is set."""

    def __init__(self, population_size: int = 64, sample_size: int = 1, min_mflops=None, max_mflops=None,
                 components: Sequence[str] = AGG_COMPONENTS, seed: int | None = None, dedup: bool = True):
        self.population_size, self.sample_size = population_size, sample_size
        self.min_mflops, self.max_mflops = min_mflops, max_mflops
        self.components = tuple(components)
        self.dedup = dedup
        self.rng = np.random.RandomState(seed)
        self.population: list[dict] = []
        self.history: list[tuple[dict, dict]] = []
        self.seen: set[str] = set()
        self.flops_cache: dict[str, float] = {}
        self.rejected_over_budget = 0

    def count_sample_mflops(self, sample: dict) -> float:
        raise NotImplementedError

    def sample_mflops(self, sample: dict) -> float:
        key = architecture_key(sample)
        if key not in self.flops_cache:
            self.flops_cache[key] = float(self.count_sample_mflops(sample))
        return self.flops_cache[key]

    def reject(self, sample: dict) -> str | None:
        """Why ``sample`` is not to be scored (already seen, or outside the budget); ``None`` when it
        is. Marks it seen."""
        key = architecture_key(sample)
        if self.dedup:
            if key in self.seen:
                return "already seen"
            self.seen.add(key)
        if self.max_mflops is not None or self.min_mflops is not None:
            mflops = self.sample_mflops(sample)
            if not within_budget(mflops, self.min_mflops, self.max_mflops):
                self.rejected_over_budget += 1
                return f"{mflops:.2f} MFLOPs outside [{self.min_mflops}, {self.max_mflops}]"
        return None

    def fitness(self, results: Sequence[Mapping] | None = None) -> np.ndarray:
        return population_fitness(self.population if results is None else results, self.components)

    def random_sample(self, choices: Mapping[str, Sequence]) -> dict:
        return {label: values[self.rng.randint(len(values))] for label, values in choices.items()}

    def parent(self) -> dict:
        """A tournament of ``sample_size`` members by VKDNW_agg inside the population."""
        return self.population[tournament(self.rng, self.fitness(), self.sample_size)]["arch"]

    def mutate(self, choices: Mapping[str, Sequence]) -> dict:
        return mutate_one_choice(self.rng, self.parent(), choices)

    def add(self, scored: Iterable[tuple[dict, dict]]) -> None:
        """Record scored ``(sample, metrics)`` pairs, then drop the weakest until the population fits."""
        for sample, metrics in scored:
            self.history.append((sample, metrics))
            self.population.append({"arch": sample, **metrics})
        while len(self.population) > self.population_size:
            del self.population[weakest(self.fitness())]

    def top_architectures(self, k: int = 10) -> list[dict]:
        """The ``k`` best of ``history`` by VKDNW_agg over all of it: ``{"arch", "vkdnw_agg", **metrics}``."""
        agg = self.fitness([metrics for _, metrics in self.history])
        order = np.argsort(-agg, kind="stable")[:k]
        return [{"arch": self.history[i][0], "vkdnw_agg": float(agg[i]), **self.history[i][1]} for i in order]
