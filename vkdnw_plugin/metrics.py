"""Ranking quality of a proxy against ground truth: Kendall τ, Spearman ρ, nDCG@k, regret@k, bootstrap CIs.

Every function takes ``(accuracy, score)`` — truth first, like scikit-learn — as 1-D array-likes of
equal length ``n`` (one entry per architecture). Accuracies are percentages (0–100). A higher
``score`` means the proxy predicts a better network; negate lower-is-better proxies first.

NaN policy: a pair whose accuracy is NaN is dropped everywhere. A NaN score is dropped by
:func:`kendall_tau` and :func:`spearman`, and ranks last (below every finite score, tied with the
other NaNs) in :func:`ndcg_at_k` and :func:`regret_at_k`, so a proxy that fails on a network is
penalised rather than excused.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
from scipy import stats
from sklearn.metrics import ndcg_score


def _pairs(accuracy, score) -> tuple[np.ndarray, np.ndarray]:
    """Float64 copies of both arrays with NaN-accuracy pairs dropped."""
    acc = np.asarray(accuracy, dtype=np.float64)
    sc = np.asarray(score, dtype=np.float64)
    if acc.ndim != 1 or acc.shape != sc.shape:
        raise ValueError(f"accuracy and score must be 1-D, equal length; got shapes {acc.shape}, {sc.shape}")
    keep = ~np.isnan(acc)
    return acc[keep], sc[keep]


def _without_nan(accuracy, score) -> tuple[np.ndarray, np.ndarray]:
    acc, sc = _pairs(accuracy, score)
    keep = ~np.isnan(sc)
    return acc[keep], sc[keep]


def _nan_last(score: np.ndarray) -> np.ndarray:
    """Ranks of the scores (higher score, higher rank; ties share the lowest), NaN below every score."""
    return stats.rankdata(np.where(np.isnan(score), -np.inf, score), method="min").astype(np.float64)


def kendall_tau(accuracy, score) -> float:
    """Kendall τ-b (``scipy.stats.kendalltau``) over pairs where neither value is NaN."""
    return float(stats.kendalltau(*_without_nan(accuracy, score)).statistic)


def spearman(accuracy, score) -> float:
    """Spearman ρ (``scipy.stats.spearmanr``, ties averaged) over pairs where neither value is NaN."""
    return float(stats.spearmanr(*_without_nan(accuracy, score)).statistic)


def ndcg_at_k(accuracy, score, k: int = 1000, repeats: int | None = None, seed: int = 0) -> float:
    """nDCG@k of the proxy's ranking, as in the VKDNW paper (Týbl & Neumann, CVPR 2025).

    ``nDCG@k = (1/Z) Σ_{j≤k} (2^{acc_(j)} − 1) / log2(1 + j)`` where ``acc_(j)`` is the accuracy
    (in percent, 0–100) of the network the proxy ranks j-th and ``Z`` the same sum for the ideal
    order. Networks with equal scores are put in random order (the paper's "random ordering
    within groups"): with ``repeats=None`` the exact expectation over those orders is returned
    (``sklearn.metrics.ndcg_score(ignore_ties=False)``, McSherry & Najork 2008); with an integer
    ``repeats`` the mean over that many random tie-breaks drawn from ``seed``. The gains are
    computed as ``(2^acc − 1) / 2^max(acc)`` (nDCG is scale-free) so 2^94 never reaches sklearn.
    """
    acc, sc = _pairs(accuracy, score)
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    if acc.size and not (acc.min() >= 0 and acc.max() <= 100):
        raise ValueError(f"accuracy must be in percent (0-100), got values in [{acc.min()}, {acc.max()}]")
    top = acc.max(initial=0.0)
    gain = (np.exp2(acc - top) - np.exp2(-top))[None]
    ranks = _nan_last(sc)
    if repeats is None:
        return float(ndcg_score(gain, ranks[None], k=k, ignore_ties=False))
    if repeats < 1:
        raise ValueError(f"repeats must be None or a positive integer, got {repeats}")
    rng = np.random.default_rng(seed)
    runs = []
    for _ in range(repeats):
        # Strict order: rank first, a fresh uniform key among equal ranks.
        order = np.lexsort((rng.random(ranks.size), ranks))
        strict = np.empty(ranks.size)
        strict[order] = np.arange(ranks.size)
        runs.append(ndcg_score(gain, strict[None], k=k, ignore_ties=True))
    return float(np.mean(runs))


def regret_at_k(accuracy, score, k: int) -> float:
    """Best true accuracy minus the best accuracy among the proxy's top-k (percentage points).

    Equal scores straddling the k-th place are ordered at random, as in :func:`ndcg_at_k`; the
    exact expectation over those orders is returned (hypergeometric probabilities)."""
    acc, sc = _pairs(accuracy, score)
    if not 1 <= k <= acc.size:
        raise ValueError(f"k must be in 1..{acc.size} (number of architectures with an accuracy), got {k}")
    ranks = _nan_last(sc)
    threshold = np.sort(ranks)[::-1][k - 1]
    above = acc[ranks > threshold]
    tied = np.sort(acc[ranks == threshold])[::-1]
    drawn = k - above.size
    # P(the best drawn tied network is the i-th best of the group), i = 1..len(tied).
    p_none_of_top = stats.hypergeom(tied.size, np.arange(tied.size + 1), drawn).pmf(0)
    p_best_is = p_none_of_top[:-1] - p_none_of_top[1:]
    best_found = np.maximum(tied, above.max(initial=-np.inf))
    return float(acc.max() - p_best_is @ best_found)


def bootstrap_ci(
    metric_fn: Callable[[np.ndarray, np.ndarray], float],
    accuracy,
    score,
    n_boot: int = 1000,
    alpha: float = 0.05,
    seed: int = 0,
) -> tuple[float, float]:
    """Percentile ``(1 − alpha)`` confidence interval of ``metric_fn(accuracy, score)``.

    Architectures (pairs) are resampled with replacement ``n_boot`` times using
    ``numpy.random.default_rng(seed)``; the interval is the ``alpha/2`` and ``1 − alpha/2``
    percentiles of the resampled metric (NaN if any resample gives NaN)."""
    acc = np.asarray(accuracy, dtype=np.float64)
    sc = np.asarray(score, dtype=np.float64)
    if acc.ndim != 1 or acc.shape != sc.shape:
        raise ValueError(f"accuracy and score must be 1-D, equal length; got shapes {acc.shape}, {sc.shape}")
    if not 0 < alpha < 1:
        raise ValueError(f"alpha must be in (0, 1), got {alpha}")
    if n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")
    rng = np.random.default_rng(seed)
    values = []
    for _ in range(n_boot):
        idx = rng.integers(0, acc.size, acc.size)
        values.append(metric_fn(acc[idx], sc[idx]))
    low, high = np.percentile(values, [100 * alpha / 2, 100 * (1 - alpha / 2)])
    return float(low), float(high)


def ranking_metrics(
    accuracy, score, ks: Sequence[int] = (1000,), regret_ks: Sequence[int] = (1, 10)
) -> dict[str, float]:
    """``{"kt", "spr", "ndcg@<k>" for k in ks, "regret@<k>" for k in regret_ks}`` (exact tie expectations)."""
    out = {"kt": kendall_tau(accuracy, score), "spr": spearman(accuracy, score)}
    out.update({f"ndcg@{k}": ndcg_at_k(accuracy, score, k=k) for k in ks})
    out.update({f"regret@{k}": regret_at_k(accuracy, score, k) for k in regret_ks})
    return out
