"""The report of ``vkdnw evaluate``: ranking metrics against ground truth (with bootstrap CIs), per-seed
metrics, report.md and plots."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd

from .collection import scored_table
from .evaluate_config import EvaluateConfig, is_imported
from .ranking import oriented

NDCG_K = 1000



def metric_table(wide: pd.DataFrame, accuracy: pd.Series, bootstrap: int = 200, k: int = NDCG_K) -> pd.DataFrame:
    """One row per score column: n, KT, SPR, nDCG@k (``ndcg_k``: the k used), regret@1/10 and
    (``bootstrap`` > 0 resamples) bootstrap 95 % CIs, each on the architectures that have a score (k and 10
    capped at that number); lower-is-better proxies are negated first (:func:`~.ranking.oriented`)."""
    from .metrics import bootstrap_ci, kendall_tau, ndcg_at_k, ranking_metrics, spearman

    rows = []
    for column in wide.columns:
        if column.startswith("vkdnw_q"):
            continue
        mask = wide[column].notna().to_numpy()
        acc, score = accuracy.to_numpy()[mask], oriented(column, wide[column].to_numpy()[mask])
        if mask.sum() < 3:
            continue
        kk = min(k, len(acc))
        row = {"proxy": column, "n": int(mask.sum()), **ranking_metrics(acc, score, ks=(kk,), regret_ks=(1, min(10, len(acc))))}
        row["ndcg"], row["ndcg_k"] = row.pop(f"ndcg@{kk}"), kk
        row["regret@10"] = row.pop(f"regret@{min(10, len(acc))}")
        for name, fn in (("kt", kendall_tau), ("spr", spearman), ("ndcg", lambda a, s: ndcg_at_k(a, s, k=kk))):
            if bootstrap:
                row[f"{name}_lo"], row[f"{name}_hi"] = bootstrap_ci(fn, acc, score, n_boot=bootstrap)
        rows.append(row)
    return pd.DataFrame(rows).set_index("proxy")


def per_seed_metrics(config: EvaluateConfig, rows: pd.DataFrame, accuracy: pd.Series) -> pd.DataFrame:
    """KT, SPR and nDCG of every score column computed on each seed's scores alone, one row per
    (seed, proxy): the authors' protocol (their tables give the mean over seeds 1-5 of these)."""
    frames = []
    for seed in config.seeds:
        wide = scored_table(config.with_seeds([seed]), rows, accuracy)
        frames.append(metric_table(wide, accuracy.reindex(wide.index), bootstrap=0).assign(seed=seed))
    return pd.concat(frames).reset_index()


def roles(config: EvaluateConfig, columns) -> list[str]:
    """Why each score column is there: ``requested`` (in ``proxies``), ``imported``, or computed only
    as a ``VKDNW_agg component`` or a ``model_driven input``."""
    out = []
    for column in columns:
        base = column.split("[")[0]
        if is_imported(base):
            out.append("imported")
        elif base in config.proxies:
            out.append("requested")
        elif "vkdnw_agg" in config.proxies and base in config.agg_components:
            out.append("VKDNW_agg component")
        else:
            out.append("model_driven input")
    return out


def _label(name: str, role: str) -> str:
    """A row's name, with its role when it was not asked for (``jacov (VKDNW_agg component)``)."""
    return name if role in ("requested", "imported") else f"{name} ({role})"


def ndcg_label(metrics: pd.DataFrame) -> str:
    """``nDCG@1000``, or ``nDCG@k`` with k's rule when the rows have different numbers of networks."""
    ks = metrics.ndcg_k.unique()
    return f"nDCG@{ks[0]}" if len(ks) == 1 else f"nDCG@k (k = min({NDCG_K}, n))"


def per_seed_summary(per_seed: pd.DataFrame) -> list[str]:
    """report.md lines: mean ± sd over seeds of each proxy's per-seed KT, SPR and nDCG."""
    lines = ["## Per seed (the authors' protocol: each seed ranked on its own, mean ± sd over seeds)", "",
             f"| proxy | KT | SPR | {ndcg_label(per_seed)} | KT per seed |", "|---|---|---|---|---|"]  # fmt: skip
    for proxy, group in per_seed.groupby("proxy", sort=False):
        cells = [f"{group[m].mean():.3f}" + (f" ± {group[m].std(ddof=1):.3f}" if len(group) > 1 else "") for m in ("kt", "spr", "ndcg")]
        lines.append(f"| {_label(proxy, group.role.iloc[0])} | {' | '.join(cells)} | {', '.join(f'{v:.3f}' for v in group.kt)} |")
    return lines + [""]


def _interval(metrics: pd.DataFrame, metric: str) -> np.ndarray | None:
    """(2, n) distances from each value down to its CI's low end and up to its high end (clipped at
    0), or ``None`` without CIs."""
    if f"{metric}_lo" not in metrics:
        return None
    values = metrics[metric].to_numpy()
    return np.clip([values - metrics[f"{metric}_lo"].to_numpy(), metrics[f"{metric}_hi"].to_numpy() - values], 0, None)


def _with_ci(r: pd.Series, metric: str) -> str:
    """``0.812 [0.790, 0.830]`` (without brackets when there are no CIs)."""
    ci = f" [{r[f'{metric}_lo']:.3f}, {r[f'{metric}_hi']:.3f}]" if f"{metric}_lo" in r else ""
    return f"{r[metric]:.3f}{ci}"


def plot_report(wide: pd.DataFrame, accuracy: pd.Series, metrics: pd.DataFrame, out: Path, context: str) -> list[Path]:
    """PNG plots (``context`` names the dataset and sample in the titles): rank-vs-accuracy scatter per
    proxy, nDCG@k over k, bar chart of KT/SPR/nDCG; 95 % CIs as in the report's table."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import ndcg_at_k

    names = list(metrics.index)
    labels = [_label(n, r) for n, r in zip(names, metrics.role)]
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3 * rows + 0.6), squeeze=False)
    for ax, name, label in zip(axes.flat, names, labels):
        mask = wide[name].notna()
        ax.scatter(pd.Series(oriented(name, wide[name][mask])).rank(), accuracy[mask], s=3, alpha=0.5)
        ax.set_title(f"{label}\nKT {_with_ci(metrics.loc[name], 'kt')}", fontsize=8)
        ax.set_xlabel("proxy rank (highest = best score)", fontsize=7)
        ax.set_ylabel("test accuracy (%)", fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.suptitle(f"Proxy rank vs test accuracy ({context})", fontsize=10)
    fig.tight_layout()
    paths = [out / "rank_vs_accuracy.png"]
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    acc = accuracy.to_numpy()
    bars = _interval(metrics, "ndcg")
    if bars is None:
        fig, ax = plt.subplots(figsize=(7, 4))
    else:  # the CIs get their own panel, one bar per proxy side by side, so none hides another
        fig, (ax, ci_ax) = plt.subplots(1, 2, figsize=(8.5, 4), sharey=True, gridspec_kw={"width_ratios": [4, 1.3], "wspace": 0.05})
    n = len(acc)
    linear = n <= 30
    if linear:  # every k from 1 to n on a linear axis
        ks = np.arange(1, n + 1)
    else:  # a log axis with every k of 1, 2, 5, 10, 20, 50, ... below n, n itself, and a few in between
        ticks = [m * 10**e for e in range(int(math.log10(n)) + 1) for m in (1, 2, 5) if m * 10**e * 1.5 <= n] + [n]
        ks = np.unique(np.concatenate([np.geomspace(1, n, 40).astype(int), ticks]))
    for i, (name, label) in enumerate(zip(names, labels)):
        mask = wide[name].notna().to_numpy()
        score = oriented(name, wide[name].to_numpy()[mask])
        (line,) = ax.plot(ks, [ndcg_at_k(acc[mask], score, k=min(k, mask.sum())) for k in ks], label=label)
        if bars is not None:
            ci_ax.errorbar(i, metrics.ndcg.iloc[i], yerr=bars[:, i : i + 1], color=line.get_color(), fmt="o", markersize=4, capsize=3)
    if linear:
        ax.set_xlim(0.5, n + 0.5)
        ax.set_xticks(ks if n <= 12 else [k for k in ks if k == 1 or k % 5 == 0 or k == n])
    else:
        ax.set_xscale("log")
        ax.set_xticks(ticks, [f"{k:,}" for k in ticks])
        ax.minorticks_off()
    ax.grid(alpha=0.3)
    ax.set_xlabel("k (top-k networks by test accuracy)")
    ax.set_ylabel("nDCG@k")
    ax.set_title(f"nDCG@k ({context})", fontsize=9)
    if bars is not None:
        ks_table = sorted({int(k) for k in metrics.ndcg_k})
        ci_ax.set_xlim(-0.7, len(names) - 0.3)
        ci_ax.set_xticks([])
        ci_ax.grid(axis="y", alpha=0.3)
        ci_ax.set_xlabel("proxies (colours as in the legend)", fontsize=7)
        ci_ax.set_title(f"nDCG@{', '.join(map(str, ks_table))}, 95 % CI", fontsize=8)
        ci_ax.legend(*ax.get_legend_handles_labels(), fontsize=7, loc="upper left", bbox_to_anchor=(1.04, 1))
    else:
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1))
    paths.append(out / "ndcg_at_k.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(names)), 4.5))
    x = np.arange(len(names))
    for offset, metric, title in zip((-0.25, 0, 0.25), ("kt", "spr", "ndcg"), ("KT", "SPR", ndcg_label(metrics))):
        ax.bar(x + offset, metrics[metric], width=0.25, label=title, yerr=_interval(metrics, metric), capsize=2)
    ax.axhline(0, color="black", linewidth=0.5)
    ax.set_xticks(x, labels, rotation=60, ha="right", fontsize=7)
    ax.set_ylabel("rank agreement with test accuracy")
    ci = "; error bars: bootstrap 95 % CI" if "kt_lo" in metrics else ""
    ax.set_title(f"KT, SPR and nDCG of each proxy ({context}){ci}", fontsize=9)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1))
    paths.append(out / "metrics_bar.png")
    fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
    plt.close(fig)
    return paths


def write_report(metrics: pd.DataFrame, out: Path, header: dict, extra: list[str] = ()) -> Path:
    """report.md: a table like the paper's Table I (KT, SPR, nDCG with bootstrap 95 % CIs when
    computed, regret), a legend of its columns, then ``extra`` lines."""
    ci = " [95% CI]" if "kt_lo" in metrics else ""
    ndcg = ndcg_label(metrics)
    lines = ["# vkdnw evaluate report", ""]
    lines += [f"- **{key}**: {value}" for key, value in header.items()]
    lines += ["", f"| proxy | n | KT{ci} | SPR{ci} | {ndcg}{ci} | regret@1 (pp) | regret@10 (pp) |", "|---|---|---|---|---|---|---|"]
    for name, r in metrics.iterrows():
        cells = " | ".join(_with_ci(r, m) for m in ("kt", "spr", "ndcg"))
        lines.append(f"| {_label(name, r.role)} | {int(r.n)} | {cells} | {r['regret@1']:.2f} | {r['regret@10']:.2f} |")
    lines += ["", f"n: networks with a score. KT: Kendall's tau, SPR: Spearman's rho, {ndcg}: normalised discounted "
              "cumulative gain of the proxy's top k, each against test accuracy. regret@k: the best test accuracy "
              "among the n networks minus the best among the proxy's top k, in percentage points (pp) of accuracy "
              "(k capped at n)." + (" 95% CI: bootstrap over networks." if ci else "")]  # fmt: skip
    if (metrics.role == "VKDNW_agg component").any():
        lines += ["", "Rows marked (VKDNW_agg component) were not in --proxies: they were computed only as inputs of VKDNW_agg."]
    if (metrics.role == "model_driven input").any():
        lines += ["", "Rows marked (model_driven input) were not in --proxies: they were computed only as model_driven features."]
    lines += ["", "Plots: `rank_vs_accuracy.png`, `ndcg_at_k.png`, `metrics_bar.png`.", "", *extra]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path

