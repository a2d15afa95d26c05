"""NASLib's ``ZeroCostPredictorEvaluator`` with NB201 ground truth from the shared table and nDCG@k.

:class:`NDCGZeroCostEvaluator` subclasses NASLib's evaluator and keeps its flow
(``adapt_search_space`` → ``evaluate`` → ``load_test_data`` / ``load_dataset`` → ``single_evaluate``
→ ``_log_to_json``), changing only what needs CIFAR or NASLib's benchmark pickles:

* architectures are drawn by NASLib's own ``sample_random_architecture(load_labeled=True)`` from
  the NB201 table's architectures (distinct ones), their accuracy read from the table;
* the data batch is a fixed random-input batch of the dataset's shape (or NASLib's own CIFAR
  loader when ``data_path`` is given);
* the metrics are NASLib's ``utils.compute_scores`` plus ``ndcg@k`` for each configured ``k``
  (the VKDNW paper's nDCG, :func:`vkdnw_plugin.metrics.ndcg_at_k`), the predictor's per-arch scores
  and timings; set predictors (``vkdnw_agg``) are queried once with the whole list of graphs.
"""

from __future__ import annotations

import logging
import math
import time

import numpy as np
import torch
from naslib import utils
from naslib.evaluators.zc_evaluator import ZeroCostPredictorEvaluator
from naslib.search_spaces import NasBench201SearchSpace

from vkdnw_plugin.metrics import kendall_tau, ndcg_at_k
from vkdnw_plugin.spaces.nb201 import dataset_shape

logger = logging.getLogger(__name__)

__all__ = ["NDCGZeroCostEvaluator", "add_ndcg", "nb201_ground_truth", "plain_spec", "random_batches"]


def plain_spec(spec) -> tuple[int, ...]:
    """An op-index spec as a tuple of Python ints (NASLib's ``mutate`` yields numpy ints)."""
    return tuple(int(op) for op in spec)


def nb201_ground_truth(table, column: str, subset: str = "unique") -> dict[tuple[int, ...], float]:
    """``{NASLib op tuple: accuracy}`` from the NB201 table for ``subset`` (``unique`` / ``all``)."""
    from vkdnw_plugin.spaces.nb201 import parse_arch

    rows = table[table["unique_9445"]] if subset == "unique" else table
    return {parse_arch(arch).naslib: float(acc) for arch, acc in zip(rows["arch_str"], rows[column])}


def random_batches(dataset: str, batch_size: int, seed: int, n_batches: int = 1):
    """A list of ``(inputs, targets)`` batches of ``torch.randn`` inputs of ``dataset``'s shape,
    drawn from a generator seeded by ``seed`` (so every predictor sees the same batch)."""
    num_classes, resolution = dataset_shape(dataset)
    gen = torch.Generator().manual_seed(int(seed))
    return [
        (
            torch.randn(batch_size, 3, resolution, resolution, generator=gen),
            torch.randint(0, num_classes, (batch_size,), generator=gen),
        )
        for _ in range(n_batches)
    ]


def add_ndcg(results: dict, ytest, preds, ks) -> dict:
    """Add ``ndcg@k`` for each k (and ``kendalltau_check``, scipy's τ-b on the same pairs) to a
    NASLib metrics dict."""
    ytest, preds = np.asarray(ytest, dtype=float), np.asarray(preds, dtype=float)
    for k in ks:
        results[f"ndcg@{k}"] = ndcg_at_k(ytest, preds, k=int(k))
    results["kendalltau_check"] = kendall_tau(ytest, preds)
    return results


class NDCGZeroCostEvaluator(ZeroCostPredictorEvaluator):
    """NASLib's zero-cost evaluator with table ground truth, random-input data and nDCG@k.

    ``ground_truth``: ``{op tuple: accuracy}`` (:func:`nb201_ground_truth`); ``ndcg_ks``: the k of
    nDCG@k; ``dataloader``: batches for the measures (default :func:`random_batches` of
    ``config.batch_size`` seeded by ``config.seed``, or NASLib's CIFAR loader when
    ``config.data_path`` is set)."""

    def __init__(self, predictor, config, ground_truth, ndcg_ks=(10, 100, 1000), dataloader=None, log_results=True):
        super().__init__(predictor, zc_api=None, use_zc_api=False, config=config, log_results=log_results)
        self.ground_truth = dict(ground_truth)
        self.ndcg_ks = tuple(int(k) for k in ndcg_ks)
        self.dataloader = dataloader
        self.metric_name = getattr(config, "ground_truth", "test")
        self.arch_seconds: list[float] = []

    # -- NASLib hooks -----------------------------------------------------------------------------
    def adapt_search_space(self, search_space, load_labeled=True, scope=None, dataset_api=None):
        self.search_space = search_space.clone()
        self.scope = scope if scope else search_space.OPTIMIZER_SCOPE
        self.predictor.set_ss_type(self.search_space.get_type())
        self.load_labeled = load_labeled
        self.dataset_api = dataset_api
        self.search_space.labeled_archs = list(self.ground_truth)
        self.search_space.instantiate_model = False  # sampling only sets op indices; graphs are built per query
        if self.dataloader is None:
            if getattr(self.config, "data_path", None):
                self.config.data = str(self.config.data_path)
                self.dataloader, _, _, _, _ = utils.get_train_val_loaders(self.config, mode="train")
            else:
                self.dataloader = random_batches(self.dataset, int(self.config.batch_size), int(self.config.seed))
        self.train_loader = self.dataloader

    def load_dataset(self, load_labeled=False, data_size=10):
        """``data_size`` distinct architectures drawn with NASLib's own labeled sampler, with their
        ground-truth accuracy from the table."""
        if data_size > len(self.ground_truth):
            raise ValueError(f"test_size: {data_size} architectures asked, the ground truth has {len(self.ground_truth)}")
        xdata, ydata, seen = [], [], set()
        while len(xdata) < data_size:
            arch = self.search_space.clone()
            arch.sample_random_architecture(dataset_api=self.dataset_api, load_labeled=True)
            spec = plain_spec(arch.get_hash())
            if spec in seen:
                continue
            seen.add(spec)
            xdata.append(spec)
            ydata.append(self.ground_truth[spec])
        return [xdata, ydata, [], []]

    def build_graph(self, spec):
        num_classes, _ = dataset_shape(self.dataset)
        graph = NasBench201SearchSpace(n_classes=num_classes)
        graph.set_spec(plain_spec(spec), self.dataset_api)
        graph.parse()
        return graph

    def query_all(self, xtest) -> np.ndarray:
        """Predictions for ``xtest`` (op tuples): one ``query`` per graph, or one for the whole list
        for set predictors; fills :attr:`arch_seconds`."""
        loader = self.dataloader
        if getattr(self.predictor, "scores_collection", False):
            graphs = [self.build_graph(spec) for spec in xtest]
            preds = np.asarray(self.predictor.query(graphs, dataloader=loader), dtype=float)
            self.arch_seconds = [float(s) for s in self.predictor.last_seconds]
            return preds
        preds, self.arch_seconds = [], []
        for spec in xtest:
            graph = self.build_graph(spec)
            started = time.perf_counter()
            pred = self.predictor.query(graph, dataloader=loader)
            self.arch_seconds.append(time.perf_counter() - started)
            preds.append(pred)
        return np.asarray(preds, dtype=float)

    def single_evaluate(self, test_data, zc_api=None):
        xtest, ytest, _, _ = test_data
        logger.info("Querying the predictor on %d architectures", len(xtest))
        started = time.time()
        preds = self.query_all(xtest)
        elapsed = time.time() - started
        preds = np.where(np.isposinf(preds), 1e9, np.where(np.isneginf(preds), -1e9, preds))
        results = utils.compute_scores(ytest, preds)
        add_ndcg(results, ytest, preds, self.ndcg_ks)
        results["query_time"] = elapsed / max(len(xtest), 1)
        results["seconds_per_arch"] = float(np.mean(self.arch_seconds)) if self.arch_seconds else math.nan
        results["archs"] = [list(spec) for spec in xtest]
        results["predictions"] = [float(pred) for pred in preds]  # per architecture, in the order of "archs"
        results["ground_truth"] = self.metric_name
        method = getattr(self.predictor, "method_type", type(self.predictor).__name__)
        logger.info(
            "dataset: %s, predictor: %s, kendalltau %.4f, spearman %.4f, %s",
            self.dataset,
            method,
            results["kendalltau"],
            results["spearman"],
            ", ".join(f"ndcg@{k} {results[f'ndcg@{k}']:.4f}" for k in self.ndcg_ks),
        )
        self.results.append(results)
