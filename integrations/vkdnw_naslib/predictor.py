"""``vkdnw_agg``: a NASLib predictor scoring a *set* of graphs by VKDNW_agg, and predictor lookup.

VKDNW_agg (Týbl & Neumann, CVPR 2025) ranks a collection of networks by each component proxy
(rank N = best), and sums ``log(rank / N)`` over the components; higher is better. It is only
defined for a collection, so :meth:`VKDNWAggPredictor.query` takes a list of graphs and returns
one value per graph; a single graph is rejected. Every component is computed through NASLib's
own ``ZeroCost(method_type=name)`` (``vkdnw_single``, ``az_expressivity`` and ``az_trainability``
are the measures this package registers; ``jacov`` and ``flops`` are NASLib's).
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from naslib.predictors.predictor import Predictor
from naslib.predictors.zerocost import ZeroCost

from vkdnw_plugin.ranking import AGG_COMPONENTS, aggregate_ranks

from .measures import OUR_MEASURES, naslib_measure_names

__all__ = [
    "SET_PREDICTORS",
    "VKDNWAggPredictor",
    "make_predictor",
    "predictor_names",
]

SET_PREDICTORS = ("vkdnw_agg",)


class VKDNWAggPredictor(Predictor):
    """NASLib predictor ``vkdnw_agg``: ``query(graphs, dataloader=...)`` → VKDNW_agg of each graph
    within that set (higher = better).

    ``components``: measure names, all higher-is-better (default: the core's
    :data:`vkdnw_plugin.ranking.AGG_COMPONENTS`; ``flops``
    counts as higher-is-better, as in the paper). :attr:`last_components` holds the component
    scores of the last query and :attr:`last_seconds` the wall time per graph."""

    method_type = "vkdnw_agg"
    scores_collection = True

    def __init__(self, components: Sequence[str] = AGG_COMPONENTS, ss_type=None, encoding_type=None):
        super().__init__(ss_type=ss_type, encoding_type=encoding_type)
        components = tuple(components)
        if not components:
            raise ValueError("vkdnw_agg needs at least one component")
        known = naslib_measure_names()
        for name in components:
            if name not in known:
                raise ValueError(f"unknown vkdnw_agg component {name!r}; expected NASLib measures: {', '.join(known)}")
        self.components = components
        self.zero_costs = {name: ZeroCost(method_type=name) for name in components}
        self.last_components: dict[str, np.ndarray] = {}
        self.last_seconds: np.ndarray = np.zeros(0)

    def component_scores(self, graph, dataloader) -> dict[str, float]:
        """``{component: score}`` of one graph, each through NASLib's ``ZeroCost``."""
        return {name: float(zc.query(graph, dataloader=dataloader)) for name, zc in self.zero_costs.items()}

    def aggregate(self, rows: Sequence[Mapping[str, float]]) -> np.ndarray:
        """VKDNW_agg over ``rows`` (one ``{component: score}`` per network): the core's
        :func:`~vkdnw_plugin.ranking.aggregate_ranks`."""
        scores = {name: np.array([row.get(name, math.nan) for row in rows], dtype=float) for name in self.components}
        return aggregate_ranks(scores, self.components)

    def query(self, xtest, info=None, dataloader=None):
        if not isinstance(xtest, Iterable) or hasattr(xtest, "get_hash") or hasattr(xtest, "forward"):
            raise TypeError(
                "vkdnw_agg ranks a collection: pass a list of graphs, e.g. predictor.query([g1, g2, ...], "
                "dataloader=loader); use ZeroCost('vkdnw_single') to score one graph"
            )
        graphs = list(xtest)
        if dataloader is None:
            dataloader = getattr(self, "train_loader", None)
        if dataloader is None:
            raise ValueError("vkdnw_agg needs a dataloader: an iterable of (inputs, targets) batches")
        rows, seconds = [], []
        for graph in graphs:
            started = time.perf_counter()
            rows.append(self.component_scores(graph, dataloader))
            seconds.append(time.perf_counter() - started)
        self.last_components = {name: np.array([r[name] for r in rows]) for name in self.components}
        self.last_seconds = np.array(seconds)
        return self.aggregate(rows)


def predictor_names() -> dict[str, list[str]]:
    """``{"ours": [...], "naslib": [...]}``: every name :func:`make_predictor` accepts."""
    ours = sorted(set(OUR_MEASURES) | set(SET_PREDICTORS))
    naslib = [name for name in naslib_measure_names() if name not in OUR_MEASURES]
    return {"ours": ours, "naslib": naslib}


def make_predictor(name: str, **kwargs):
    """NASLib predictor object for ``name``: ``VKDNWAggPredictor`` for ``vkdnw_agg``, else
    ``ZeroCost(method_type=name)``; an unknown name raises ``ValueError`` listing both sets."""
    names = predictor_names()
    if name == "vkdnw_agg":
        return VKDNWAggPredictor(**kwargs)
    if name in names["ours"] or name in names["naslib"]:
        return ZeroCost(method_type=name)
    raise ValueError(
        f"unknown predictor {name!r}; ours: {', '.join(names['ours'])}; NASLib's: {', '.join(names['naslib'])}"
    )
