"""``vkdnw_agg``: a NASLib predictor scoring a *set* of graphs by VKDNW_agg, and predictor lookup.

VKDNW_agg (Týbl & Neumann, CVPR 2025) is the core's :func:`~vkdnw_plugin.ranking.aggregate_ranks`
over the component proxies, defined only within a collection: :meth:`VKDNWAggPredictor.query`
takes a list of graphs and returns one value per graph (higher is better). Every component is
computed through NASLib's own ``ZeroCost(method_type=name)`` (ours and NASLib's built-ins alike).
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

import numpy as np
from naslib.predictors.predictor import Predictor
from naslib.predictors.zerocost import ZeroCost

from vkdnw_plugin.ranking import AGG_COMPONENTS, aggregate_ranks

from .config import ConfigError
from .measures import OUR_MEASURES, naslib_builtins

__all__ = ["SET_PREDICTORS", "VKDNWAggPredictor", "check_predictor", "make_predictor", "predictor_names"]

SET_PREDICTORS = ("vkdnw_agg",)


class VKDNWAggPredictor(Predictor):
    """NASLib predictor ``vkdnw_agg``: ``query(graphs, dataloader=...)`` → VKDNW_agg of each graph
    within that set. ``components``: measure names (default the core's
    :data:`~vkdnw_plugin.ranking.AGG_COMPONENTS`), oriented by the core registry;
    :attr:`last_components` holds the component scores of the last query and :attr:`last_seconds`
    the wall time per graph."""

    method_type = "vkdnw_agg"
    scores_collection = True

    def __init__(self, components: Sequence[str] = AGG_COMPONENTS, ss_type=None, encoding_type=None):
        super().__init__(ss_type=ss_type, encoding_type=encoding_type)
        self.components = tuple(components)
        if not self.components:
            raise ConfigError("components: vkdnw_agg needs at least one component")
        for name in self.components:
            check_predictor(name, "components", sets=False)
        self.zero_costs = {name: ZeroCost(method_type=name) for name in self.components}
        self.last_components: dict[str, np.ndarray] = {}
        self.last_seconds: np.ndarray = np.zeros(0)

    def query(self, xtest, info=None, dataloader=None):
        if not isinstance(xtest, Iterable) or hasattr(xtest, "get_hash") or hasattr(xtest, "forward"):
            raise TypeError(
                "vkdnw_agg ranks a collection: pass a list of graphs, e.g. predictor.query([g1, g2, ...], "
                "dataloader=loader); use ZeroCost('vkdnw_single') to score one graph"
            )
        dataloader = dataloader if dataloader is not None else getattr(self, "train_loader", None)
        if dataloader is None:
            raise ConfigError("dataloader: vkdnw_agg needs an iterable of (inputs, targets) batches")
        rows, seconds = [], []
        for graph in xtest:
            started = time.perf_counter()
            rows.append([float(zc.query(graph, dataloader=dataloader)) for zc in self.zero_costs.values()])
            seconds.append(time.perf_counter() - started)
        self.last_components = {name: np.array([row[i] for row in rows]) for i, name in enumerate(self.components)}
        self.last_seconds = np.array(seconds)
        return aggregate_ranks(self.last_components, self.components)


def predictor_names() -> dict[str, list[str]]:
    """``{"ours": [...], "naslib": [...]}``: every name :func:`make_predictor` accepts."""
    return {"ours": sorted({*OUR_MEASURES, *SET_PREDICTORS}), "naslib": naslib_builtins()}


def check_predictor(name: str, key: str = "predictor", sets: bool = True) -> None:
    """:class:`ConfigError` naming ``key`` unless ``name`` is a measure (or, with ``sets``, ``vkdnw_agg``)."""
    names = predictor_names()
    if name not in {*names["naslib"], *OUR_MEASURES, *(SET_PREDICTORS if sets else ())}:
            raise ConfigError(f"{key}: unknown predictor {name!r}; ours: {', '.join(names['ours'])}; "
                          f"NASLib's: {', '.join(names['naslib'])}")  # fmt: skip


def make_predictor(name: str, **kwargs):
    """``VKDNWAggPredictor`` for ``vkdnw_agg``, else NASLib's ``ZeroCost(method_type=name)``; an unknown
    name raises :class:`ConfigError` listing ours and NASLib's."""
    check_predictor(name)
    return VKDNWAggPredictor(**kwargs) if name in SET_PREDICTORS else ZeroCost(method_type=name)
