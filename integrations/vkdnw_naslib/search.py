"""NASLib's RegularizedEvolution / RandomSearch with a zero-cost fitness instead of benchmark accuracy.

The optimizers subclass NASLib's and override only ``new_epoch`` (NASLib's sampling, tournament and
``mutate`` are kept) and the final pick: each new architecture is scored once by a zero-cost predictor
through NASLib's ``ZeroCost`` (same batch for all, torch's RNG re-seeded from (seed, spec)). With
``fitness="vkdnw_agg"`` a member's fitness is its VKDNW_agg *within the current population*
(recomputed before every tournament) and the pick is the best VKDNW_agg over every network scored.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import torch
from naslib.optimizers import RandomSearch, RegularizedEvolution
from naslib.search_spaces import get_search_space

from vkdnw_plugin.groundtruth import load_nb201_table
from vkdnw_plugin.ranking import AGG_COMPONENTS, aggregate_ranks
from vkdnw_plugin.spaces.nb201 import dataset_shape, parse_arch

from . import measures
from .config import GROUND_TRUTH_COLUMNS, ConfigError
from .evaluator import nb201_graph, plain_spec, random_batches
from .predictor import check_predictor, make_predictor
from .runner import prepare

logger = logging.getLogger(__name__)
__all__ = ["ZeroCostRandomSearch", "ZeroCostRegularizedEvolution", "run_search"]


class _ZeroCostFitness:
    """Shared scoring of both optimizers: ``fitness`` name, scores by spec, counters. ``shared``:
    ``{(spec, measure): (score, seconds)}`` reused by searches with the same seed and batch (the
    seconds of reused scores still count in ``score_seconds``)."""

    def __init__(self, config, fitness: str, dataloader, num_classes: int = 10, shared=None):
        super().__init__(config)
        self.fitness_name = fitness
        self.is_agg = fitness == "vkdnw_agg"
        self.components = AGG_COMPONENTS if self.is_agg else (fitness,)
        self.zero_costs = {name: make_predictor(name) for name in self.components}
        self.dataloader, self.num_classes, self.seed = dataloader, num_classes, int(config.seed)
        self.scores: dict[tuple[int, ...], dict[str, float]] = {}  # every network scored, in order
        self.n_queries, self.score_seconds = 0, 0.0
        self.shared = {} if shared is None else shared

    def adapt_search_space(self, search_space, scope=None, dataset_api=None):
        super().adapt_search_space(search_space, scope=scope, dataset_api=dataset_api)
        self.search_space.instantiate_model = False  # architectures are op indices; graphs are built to score

    def _new_model(self, parent=None):
        """A new member, scored: a random architecture, or a mutation of ``parent``."""
        model = torch.nn.Module()
        model.arch = self.search_space.clone()
        if parent is None:
            model.arch.sample_random_architecture(dataset_api=self.dataset_api)
        else:
            model.arch.mutate(parent.arch, dataset_api=self.dataset_api)
        model.spec = plain_spec(model.arch.get_op_indices())
        model.arch.op_indices = list(model.spec)  # plain ints in NASLib's own object too (mutate gives numpy ints)
        self.score(model.spec)
        return model

    def score(self, spec) -> dict[str, float]:
        """Component scores of ``spec`` (computed once)."""
        self.n_queries += 1
        if spec not in self.scores:
            graph, row = nb201_graph(spec, self.num_classes), {}
            for name, zc in self.zero_costs.items():
                if (spec, name) not in self.shared:
                    self.shared[(spec, name)] = measures.timed_query(name, zc, graph, self.dataloader, self.seed)
                row[name], seconds = self.shared[(spec, name)]
                self.score_seconds += seconds
            self.scores[spec] = row
        return self.scores[spec]

    def fitness_of(self, specs) -> np.ndarray:
        """Fitness of each spec within this collection (agg) or on its own."""
        rows = [self.score(s) if s not in self.scores else self.scores[s] for s in specs]
        if self.is_agg:
            return aggregate_ranks({c: np.array([r[c] for r in rows], dtype=float) for c in self.components}, self.components)
        return np.array([r[self.fitness_name] for r in rows], dtype=float)

    def best_spec(self) -> tuple[int, ...]:
        """The pick: highest fitness over every network scored (agg: aggregated over all of them)."""
        specs = list(self.scores)
        return specs[int(np.argmax(self.fitness_of(specs)))]

    def get_final_architecture(self):
        graph = self.search_space.clone()
        graph.set_spec(list(self.best_spec()))
        return graph

    def summary(self) -> dict:
        return {"fitness": self.fitness_name, "picked": list(self.best_spec()), "n_scored": len(self.scores),
                "n_queries": self.n_queries, "score_seconds": self.score_seconds}


class ZeroCostRegularizedEvolution(_ZeroCostFitness, RegularizedEvolution):
    """NASLib's regularized evolution with a zero-cost fitness (``config.search``: ``epochs`` =
    networks queried, ``population_size``, ``sample_size``)."""

    def _refresh(self, models) -> None:
        for model, value in zip(models, self.fitness_of([m.spec for m in models])):
            model.accuracy = float(value)

    def new_epoch(self, epoch: int):
        parent = None
        if epoch >= self.population_size:
            if self.is_agg:  # VKDNW_agg within the current population
                self._refresh(list(self.population))
            parent = max([np.random.choice(list(self.population)) for _ in range(self.sample_size)], key=lambda x: x.accuracy)
        model = self._new_model(parent)
        self.population.append(model)
        if self.is_agg:
            self._refresh(list(self.population))
        else:
            model.accuracy = float(self.fitness_of([model.spec])[0])
        self._update_history(model)


class ZeroCostRandomSearch(_ZeroCostFitness, RandomSearch):
    """NASLib's random search with a zero-cost fitness: ``epochs`` random networks, best picked."""

    def new_epoch(self, epoch: int):
        model = self._new_model()
        model.accuracy = float(self.fitness_of([model.spec])[0]) if not self.is_agg else 0.0
        self.sampled_archs.append(model)


OPTIMIZERS = {"re": ZeroCostRegularizedEvolution, "rs": ZeroCostRandomSearch}


def run_search(config, fitness: str | None = None, optimizer: str | None = None, shared_scores=None) -> dict:
    """One search: NASLib optimizer ``optimizer`` (``re`` / ``rs``; default ``config.search.optimizer``
    or ``re``) with zero-cost ``fitness`` (default ``config.search.fitness`` or ``config.predictor``)
    for ``config.search.epochs`` networks on NB201. Returns and writes (``<save>/search_<opt>_<fitness>.json``) the
    pick, its true accuracy from the table, the networks scored and the wall time. ``shared_scores``:
    the ``shared`` dict of :class:`_ZeroCostFitness`, reused across calls with the same seed and batch."""
    if "search" not in config:
        raise ConfigError("search: missing (NASLib search section with epochs, population_size, sample_size)")
    search = config.search
    fitness = fitness or search.get("fitness") or config.predictor
    optimizer = optimizer or search.get("optimizer") or "re"
    check_predictor(fitness, key="search.fitness")
    if optimizer not in OPTIMIZERS:
        raise ConfigError(f"search.optimizer: {optimizer!r} is not one of {', '.join(OPTIMIZERS)}")
    for key in ("epochs", "population_size", "sample_size"):
        if isinstance(search.get(key), bool) or not isinstance(search.get(key), int) or search.get(key) < 1:
            raise ConfigError(f"search.{key}: expected a positive integer, got {search.get(key)!r}")
    if optimizer == "re" and search.population_size > search.epochs:
        raise ConfigError(f"search.population_size: {search.population_size} exceeds search.epochs {search.epochs} (the budget)")

    prepare(config)
    num_classes, _ = dataset_shape(config.dataset)
    loader = random_batches(config.dataset, int(config.batch_size), int(config.seed))
    started = time.time()
    opt = OPTIMIZERS[optimizer](config, fitness=fitness, dataloader=loader, num_classes=num_classes, shared=shared_scores)
    opt.adapt_search_space(get_search_space(name=config.search_space, dataset=config.dataset))
    for epoch in range(int(search.epochs)):
        opt.new_epoch(epoch)
    wall = time.time() - started

    table = load_nb201_table(config.nb201_table).set_index("arch_str")
    picked = parse_arch(tuple(opt.best_spec()))
    row = table.loc[picked.arch_str]
    test_col = GROUND_TRUTH_COLUMNS[(config.dataset, "test")]
    valid_col = GROUND_TRUTH_COLUMNS[(config.dataset, "valid")]
    scored_acc = [float(table.loc[parse_arch(s).arch_str, test_col]) for s in opt.scores]
    result = {"optimizer": optimizer, "dataset": config.dataset, "seed": int(config.seed), **opt.summary(),
              "picked_arch_str": picked.arch_str, "picked_nb201_index": int(picked.index),
              "test_accuracy": float(row[test_col]), "valid_accuracy": float(row[valid_col]),
              "best_test_accuracy_among_scored": max(scored_acc), "mean_test_accuracy_of_scored": float(np.mean(scored_acc)),
              "wall_seconds": wall, **{key: int(search[key]) for key in ("epochs", "population_size", "sample_size")}}  # fmt: skip
    Path(config.save).mkdir(parents=True, exist_ok=True)
    (Path(config.save) / f"search_{optimizer}_{fitness}.json").write_text(json.dumps(result, indent=1))
    logger.info("search result: %s", result)
    return result
