"""Rankings of a collection of networks: VKDNW_single, VKDNW_agg and model-driven ranking.

Every function returns values where higher is better. Scores are oriented by the proxy registry
(:func:`oriented`): a proxy registered with ``higher_is_better=False`` is negated before it is ranked.
Importing this module loads numpy only (scipy, pandas, scikit-learn and torch load when used), so the
NNI tuner process can use it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# VKDNW_agg components (paper eq. 15): V vkdnw_single, J jacov, E AZ-NAS expressivity,
# T AZ-NAS trainability, F FLOPs.
AGG_COMPONENTS = ("vkdnw_single", "jacov", "az_expressivity", "az_trainability", "flops")
FEATURE_SETS = ("a", "b", "c")


def single_key(dim, entropy, n_quantiles: int = 9) -> float:
    """A scalar ordered exactly like (dim, entropy) lexicographically: dim + entropy / (2 ln n_q),
    as entropy of n_q values lies in [0, ln n_q]. NaN when either is missing."""
    return float(dim) + float(entropy) / (2 * math.log(n_quantiles))


def single_value(result) -> float:
    """VKDNW_single of one :class:`~vkdnw_plugin.vkdnw.VKDNWResult`: :func:`single_key` of its dim and
    entropy with its own number of quantiles; NaN for an invalid result. The one value every door
    reports as ``vkdnw_single``."""
    return single_key(result.dim, result.entropy, len(result.deciles)) if result.valid else math.nan


def vkdnw_single_rank(results) -> np.ndarray:
    """Ranks (1 = worst, n = best) ordering a collection lexicographically by (dim, entropy); equal
    pairs share the average rank (scipy ``rankdata(method="average")``). ``results``: VKDNWResults
    or ``(dim, entropy)`` pairs; invalid or NaN entries rank last (tied among themselves)."""
    from scipy.stats import rankdata

    pairs = np.array(
        [(r.dim, r.entropy if r.valid else math.nan) if hasattr(r, "valid") else tuple(r) for r in results],
        dtype=float,
    ).reshape(-1, 2)
    bad = ~np.isfinite(pairs).all(axis=1)
    dims = rankdata(np.where(bad, -np.inf, pairs[:, 0]), method="dense")
    entropies = rankdata(np.where(bad, -np.inf, pairs[:, 1]), method="dense")
    return rankdata(dims * (len(pairs) + 1) + entropies, method="average")


def higher_is_better(name: str) -> bool:
    """Whether a higher score of column ``name`` (``proxy`` or ``proxy[mode]``) means a better network:
    the registry's ``higher_is_better`` for a registered proxy or alias; True for anything else
    (imported columns such as ``suite0:jacov``, collection-level scores, architecture features)."""
    if ":" in name:
        return True
    from .proxies import get_proxy

    try:
        return get_proxy(name.split("[")[0]).higher_is_better
    except ValueError:
        return True


def oriented(name: str, values) -> np.ndarray:
    """``values`` (float array) negated when ``name`` is lower-is-better (:func:`higher_is_better`)."""
    values = np.asarray(values, dtype=float)
    return values if higher_is_better(name) else -values


def log_ranks(values) -> np.ndarray:
    """log(rank / N) with rank N = best (scipy ``rankdata(method="average")``: ties share the mean
    rank); NaN values are the worst, tied among themselves."""
    from scipy.stats import rankdata

    values = np.asarray(values, dtype=float)
    ranks = rankdata(np.where(np.isnan(values), -np.inf, values), method="average")
    return np.log(ranks / len(values))


def aggregate_ranks(scores: Mapping[str, Sequence[float]], components: Sequence[str] | None = None) -> np.ndarray:
    """VKDNW_agg (AZ-NAS non-linear aggregation, paper eq. 15): Σ_components log(rank / N) inside the
    collection, rank N = best. ``scores`` maps component name → (N,) scores, oriented by
    :func:`oriented`; ``components`` defaults to the paper's V, J, E, T, F. Returns (N,) aggregated
    scores, higher is better."""
    components = tuple(components or AGG_COMPONENTS)
    missing = [c for c in components if c not in scores]
    if missing:
        raise ValueError(f"aggregate_ranks: missing component(s) {', '.join(missing)}; got {', '.join(scores) or 'none'}")
    lengths = {len(scores[c]) for c in components}
    if len(lengths) != 1:
        raise ValueError(f"aggregate_ranks: components have different lengths {sorted(lengths)}")
    return np.sum([log_ranks(oriented(c, scores[c])) for c in components], axis=0)


def model_features(proxy_scores: pd.DataFrame, feature_set: str = "c", arch_features=None) -> pd.DataFrame:
    """Feature table for :class:`ModelDrivenRanker` from per-architecture proxy results.

    ``proxy_scores`` is indexed by architecture (NB201 arch string) with columns ``vkdnw_q1…`` (FIM
    eigenvalue quantiles), ``n_layers``, ``flops`` and any other proxies. Feature sets as in the paper:
    (a) FIM quantiles + n_layers + flops; (b) (a) + every other proxy column; (c) (b) + the
    architecture's own features: ``arch_features(arch) -> {name: value}``, default the NB201 cell's
    :func:`vkdnw_plugin.spaces.nb201.graph_features`."""
    import pandas as pd

    if feature_set not in FEATURE_SETS:
        raise ValueError(f"unknown feature set {feature_set!r}; expected one of {', '.join(FEATURE_SETS)}")
    spectrum = [c for c in proxy_scores.columns if c.startswith("vkdnw_q")]
    needed = ["n_layers", "flops"]
    missing = [c for c in needed if c not in proxy_scores.columns] + ([] if spectrum else ["vkdnw_q*"])
    if missing:
        raise ValueError(f"model_features: proxy table lacks column(s) {', '.join(missing)}")
    columns = spectrum + needed
    if feature_set in ("b", "c"):
        columns += [c for c in proxy_scores.columns if c not in columns]
    table = proxy_scores[columns].astype(float)
    if feature_set == "c":
        if arch_features is None:
            from .spaces.nb201 import graph_features as arch_features
        graph = pd.DataFrame([arch_features(a) for a in table.index], index=table.index)
        table = pd.concat([table, graph], axis=1)
    return table


class ModelDrivenRanker:
    """Regress accuracy on proxy features (scikit-learn ``RandomForestRegressor`` by default, any
    sklearn regressor accepted), then rank unseen architectures by the prediction.

    Non-finite feature values are replaced by the training column median."""

    def __init__(self, regressor=None, random_state: int = 0):
        if regressor is None:
            from sklearn.ensemble import RandomForestRegressor

            regressor = RandomForestRegressor(n_estimators=500, random_state=random_state, n_jobs=-1)
        if not (hasattr(regressor, "fit") and hasattr(regressor, "predict")):
            raise ValueError(f"regressor {regressor!r} needs fit() and predict() (a scikit-learn regressor)")
        self.regressor = regressor
        self._fill: pd.Series | None = None
        self._columns: list[str] | None = None

    def _clean(self, features: pd.DataFrame) -> np.ndarray:
        import pandas as pd

        frame = pd.DataFrame(features)[self._columns].astype(float).replace([np.inf, -np.inf], np.nan)
        return frame.fillna(self._fill).fillna(0.0).to_numpy()

    def fit(self, features: pd.DataFrame, accuracy) -> ModelDrivenRanker:
        """features (N, F) DataFrame; accuracy (N,) in percent."""
        import pandas as pd

        frame = pd.DataFrame(features)
        self._columns = list(frame.columns)
        self._fill = frame.astype(float).replace([np.inf, -np.inf], np.nan).median()
        self.regressor.fit(self._clean(frame), np.asarray(accuracy, dtype=float))
        return self

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Predicted accuracy (N,), higher is better."""
        import pandas as pd

        if self._columns is None:
            raise ValueError("ModelDrivenRanker.predict called before fit")
        missing = [c for c in self._columns if c not in pd.DataFrame(features).columns]
        if missing:
            raise ValueError(f"ModelDrivenRanker.predict: feature column(s) {', '.join(missing)} missing")
        return self.regressor.predict(self._clean(features))
