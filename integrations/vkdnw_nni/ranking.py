"""VKDNW_agg inside a population: the core's :func:`vkdnw_plugin.ranking.aggregate_ranks` over the
components' reported metrics (every component is higher-is-better, ``flops`` too, as in the paper's
aggregation). Missing / NaN values rank last."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from vkdnw_plugin.ranking import aggregate_ranks


def _value(result: Mapping, key: str) -> float:
    value = result.get(key)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def population_agg(results: Sequence[Mapping], components: Sequence[str]) -> np.ndarray:
    """VKDNW_agg of each of ``results`` (reported metric dicts) aggregated inside this collection
    (higher = better)."""
    if not results:
        return np.zeros(0)
    arrays = {name: np.array([_value(r, name) for r in results], dtype=float) for name in components}
    return aggregate_ranks(arrays, components)
