"""VKDNW_agg inside a population: sum over components of log(rank / N), rank N = best.

Uses the core's ``vkdnw_plugin.ranking.aggregate_ranks``.
Components are oriented so that higher is better before ranking: ``vkdnw`` is the lexicographic
(dim, entropy) rank of VKDNW_single, the other proxies follow their registry's ``higher_is_better``,
``flops`` counts as higher-is-better (as in the paper's aggregation). Missing / NaN values rank last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np

from vkdnw_plugin.ranking import aggregate_ranks as core_aggregate_ranks
from vkdnw_plugin.vkdnw import vkdnw_single_rank


def _direction(name: str) -> float:
    if name in ("vkdnw", "flops", "params"):
        return 1.0
    try:
        from vkdnw_plugin.proxies import get_proxy

        return 1.0 if get_proxy(name).higher_is_better else -1.0
    except (ImportError, ValueError):
        return 1.0


def aggregate_ranks(scores: Mapping[str, Sequence[float]]) -> np.ndarray:
    """Σ_c log(rank_c / N) with ranks of each (higher-is-better) score array; N = best (the core's
    :func:`vkdnw_plugin.ranking.aggregate_ranks` over exactly the given components)."""
    arrays = {k: np.asarray(v, dtype=float) for k, v in scores.items()}
    return np.asarray(core_aggregate_ranks(arrays, components=list(arrays)), dtype=float)


def _value(result: Mapping, key: str) -> float:
    value = result.get(key)
    try:
        value = float(value)
    except (TypeError, ValueError):
        return math.nan
    return value if math.isfinite(value) else math.nan


def component_arrays(results: Sequence[Mapping], components: Sequence[str]) -> dict[str, np.ndarray]:
    """Oriented, higher-is-better arrays of each component over ``results`` (reported metric dicts)."""
    arrays = {}
    for name in components:
        if name == "vkdnw":
            pairs = [(_value(r, "vkdnw_dim"), _value(r, "vkdnw_entropy")) for r in results]
            arrays[name] = vkdnw_single_rank(pairs).astype(float)
            bad = [not (math.isfinite(d) and math.isfinite(e)) for d, e in pairs]
            arrays[name][bad] = math.nan
        else:
            arrays[name] = _direction(name) * np.array([_value(r, name) for r in results], dtype=float)
    return arrays


def population_agg(results: Sequence[Mapping], components: Sequence[str]) -> np.ndarray:
    """VKDNW_agg of each of ``results`` aggregated inside this collection (higher = better)."""
    if not results:
        return np.zeros(0)
    return aggregate_ranks(component_arrays(results, components))
