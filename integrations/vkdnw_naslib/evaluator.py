"""NASLib's ``ZeroCostPredictorEvaluator`` with NB201 ground truth from the shared table and nDCG@k.

:class:`NDCGZeroCostEvaluator` keeps NASLib's flow (``adapt_search_space`` → ``evaluate`` →
``load_dataset`` → ``single_evaluate`` → ``_log_to_json``), changing only what needs CIFAR or NASLib's
benchmark pickles: architectures are drawn by NASLib's own labeled sampler from the table's (distinct
ones), with their accuracy from the table; the batch is a fixed random-input batch of the dataset's
shape (or NASLib's CIFAR loader when ``data_path`` is given); the metrics are NASLib's
``utils.compute_scores`` plus ``ndcg@k`` (:func:`vkdnw_plugin.metrics.ndcg_at_k`), the per-arch
scores and timings. Set predictors (``vkdnw_agg``) are queried once with the whole list of graphs.
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

from .config import ConfigError

logger = logging.getLogger(__name__)

__all__ = ["NDCGZeroCostEvaluator", "nb201_graph", "nb201_ground_truth", "plain_spec", "random_batches"]


def plain_spec(spec) -> tuple[int, ...]:
    """An op-index spec as a tuple of Python ints (NASLib's ``mutate`` yields numpy ints)."""
    return tuple(int(op) for op in spec)


def nb201_graph(spec, num_classes: int):
    """NASLib's NB201 graph of an op-index spec, parsed."""
    graph = NasBench201SearchSpace(n_classes=num_classes)
    graph.set_spec(list(plain_spec(spec)))
    graph.parse()
    return graph


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
    return [(torch.randn(batch_size, 3, resolution, resolution, generator=gen),
             torch.randint(0, num_classes, (batch_size,), generator=gen)) for _ in range(n_batches)]  # fmt: skip


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
            raise ConfigError(f"test_size: {data_size} architectures asked, the ground truth has {len(self.ground_truth)}")
        xdata = {}  # distinct specs, in the order drawn
        while len(xdata) < data_size:
            arch = self.search_space.clone()
            arch.sample_random_architecture(dataset_api=self.dataset_api, load_labeled=True)
            xdata.setdefault(plain_spec(arch.get_hash()), None)
        return [list(xdata), [self.ground_truth[spec] for spec in xdata], [], []]

    def build_graph(self, spec):
        return nb201_graph(spec, dataset_shape(self.dataset)[0])

    def query_all(self, xtest) -> np.ndarray:
        """Predictions for ``xtest`` (op tuples): one ``query`` per graph, or one for the whole list
        for set predictors; fills :attr:`arch_seconds`."""
        if getattr(self.predictor, "scores_collection", False):
            preds = self.predictor.query([self.build_graph(spec) for spec in xtest], dataloader=self.dataloader)
            self.arch_seconds = [float(s) for s in self.predictor.last_seconds]
            return np.asarray(preds, dtype=float)
        preds, self.arch_seconds = [], []
        for spec in xtest:
            graph = self.build_graph(spec)
            started = time.perf_counter()
            preds.append(self.predictor.query(graph, dataloader=self.dataloader))
            self.arch_seconds.append(time.perf_counter() - started)
        return np.asarray(preds, dtype=float)

    def single_evaluate(self, test_data, zc_api=None):
        xtest, ytest, _, _ = test_data
        logger.info("Querying the predictor on %d architectures", len(xtest))
        started = time.time()
        preds = self.query_all(xtest)
        elapsed = time.time() - started
        preds = np.where(np.isposinf(preds), 1e9, np.where(np.isneginf(preds), -1e9, preds))
        results = utils.compute_scores(ytest, preds)
        results.update({f"ndcg@{k}": ndcg_at_k(ytest, preds, k=k) for k in self.ndcg_ks})
        results.update(kendalltau_check=kendall_tau(ytest, preds), query_time=elapsed / max(len(xtest), 1),
                       seconds_per_arch=float(np.mean(self.arch_seconds)) if self.arch_seconds else math.nan,
                       archs=[list(spec) for spec in xtest], predictions=[float(pred) for pred in preds],
                       ground_truth=self.metric_name)  # fmt: skip
        method = getattr(self.predictor, "method_type", type(self.predictor).__name__)
        logger.info("dataset: %s, predictor: %s, kendalltau %.4f, spearman %.4f, %s", self.dataset, method,
                    results["kendalltau"], results["spearman"],
                    ", ".join(f"ndcg@{k} {results[f'ndcg@{k}']:.4f}" for k in self.ndcg_ks))  # fmt: skip
        self.results.append(results)
