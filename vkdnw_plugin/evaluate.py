"""``vkdnw evaluate``: score a set of NB201 architectures with many proxies (cached, resumable,
parallel), compare the rankings with ground truth and write scores.csv, metrics.csv, report.md and plots."""

from __future__ import annotations

import math
import multiprocessing
import os
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm import tqdm

from .cache import ResultCache
from .ranking import AGG_COMPONENTS, ModelDrivenRanker, aggregate_ranks, model_features, single_key

VKDNW_PROXIES = ("vkdnw", "vkdnw_single")  # computed per Fisher mode by the engine
DERIVED = ("vkdnw_agg", "model_driven")  # computed inside the collection from other proxies
MODEL_DRIVEN_BASE = ("vkdnw", "n_layers", "flops")
NO_MODE = "-"


@dataclass
class EvaluateConfig:
    """What ``vkdnw evaluate`` scores; ``archs`` are NB201 arch strings."""

    dataset: str
    proxies: list[str]
    archs: list[str]
    seeds: list[int]
    modes: list[str]
    batch: int = 64
    workers: int = 1
    threads: int | None = None
    space: str = "nb201"
    md_train: int = 1024
    imported: dict[str, pd.Series] = field(default_factory=dict)
    agg_components: tuple[str, ...] = AGG_COMPONENTS  # proxies, or imported columns ("suite0:jacov")


def available_proxies() -> list[str]:
    """Names ``--proxies`` accepts: the engine's, the registry's, and the collection-level ones."""
    from .proxies import list_proxies

    return sorted(set(VKDNW_PROXIES) | set(list_proxies()) | set(DERIVED))


def is_imported(name: str) -> bool:
    """Whether a score column comes from ``--import-scores`` (``naslib:<proxy>``, ``suite0:<proxy>``)."""
    return ":" in name


def computed_proxies(proxies, agg_components=AGG_COMPONENTS) -> list[str]:
    """Per-network proxies needed for ``proxies`` (derived ones expanded into their inputs; imported
    VKDNW_agg components need no computing)."""
    needed = []
    for name in proxies:
        if name == "vkdnw_agg":
            expanded = [c for c in agg_components if not is_imported(c)]
        else:
            expanded = MODEL_DRIVEN_BASE if name == "model_driven" else (name,)
        needed += [p for p in expanded if p not in needed]
    return needed


def _column(proxy: str, mode: str, modes) -> str:
    """Column name: VKDNW-derived values (incl. ``vkdnw_q*`` spectrum features) get ``[mode]`` when
    several Fisher modes are evaluated together."""
    per_mode = proxy in VKDNW_PROXIES + DERIVED or proxy.startswith("vkdnw_q")
    return f"{proxy}[{mode}]" if per_mode and len(modes) > 1 else proxy


# ----------------------------------------------------------------------------- scoring


def _score_network(item) -> tuple[str, int, list[tuple[str, str, float, dict]]]:
    """Worker: every missing (proxy, mode) of one (arch, seed). Failures give NaN with the reason."""
    from .proxies import compute_proxies
    from .spaces.nb201 import dataset_shape, nb201_network
    from .vkdnw import reference_setup, vkdnw_scores

    arch, seed, dataset, batch, wanted = item
    classes, resolution = dataset_shape(dataset)
    model, inputs = reference_setup(lambda: nb201_network(arch, classes), seed, (batch, 3, resolution, resolution))
    out = []
    modes = sorted({mode for proxy, mode in wanted if proxy in VKDNW_PROXIES})
    if modes:
        for mode, r in vkdnw_scores(model, inputs, modes=modes).items():
            fields = {"dim": r.dim, "valid": r.valid, "reason": r.reason, "seconds": r.seconds,
                      **{f"vkdnw_q{i + 1}": float(q) for i, q in enumerate(r.deciles)}}  # fmt: skip
            out.append(("vkdnw", mode, r.entropy, fields))
            out.append(("vkdnw_single", mode, single_key(r.dim, r.entropy) if r.valid else math.nan, fields))
    others = [proxy for proxy, mode in wanted if proxy not in VKDNW_PROXIES]
    if others:
        started = time.perf_counter()
        values = compute_proxies(model, inputs, others)
        seconds = (time.perf_counter() - started) / len(others)
        out += [(proxy, NO_MODE, values[proxy], {"seconds": seconds}) for proxy in others]
    wanted = set(wanted)
    return arch, seed, [row for row in out if (row[0], row[1]) in wanted]


def _init_worker(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def run_scoring(config: EvaluateConfig, cache: ResultCache, progress: bool = True) -> int:
    """Compute every missing result, committing each to ``cache`` as it arrives. Returns how many
    networks were scored."""
    done = cache.done(config.space, config.dataset, config.batch)
    per_net = computed_proxies(config.proxies, config.agg_components)
    items = []
    for arch in config.archs:
        for seed in config.seeds:
            wanted = [
                (proxy, mode)
                for proxy in per_net
                for mode in (config.modes if proxy in VKDNW_PROXIES else [NO_MODE])
                if (arch, proxy, seed, mode) not in done
            ]
            if wanted:
                items.append((arch, seed, config.dataset, config.batch, wanted))
    if not items:
        return 0
    workers = max(1, min(config.workers, len(items)))
    threads = config.threads or max(1, (os.cpu_count() or 1) // workers)
    bar = tqdm(total=len(items), desc=f"scoring {config.dataset}", unit="net", disable=not progress)
    try:
        if workers == 1:
            _init_worker(threads)
            results = map(_score_network, items)
            pool = None
        else:
            pool = multiprocessing.get_context("spawn").Pool(workers, _init_worker, (threads,))
            results = pool.imap_unordered(_score_network, items)
        for arch, seed, rows in results:
            for proxy, mode, value, fields in rows:
                cache.put(config.space, arch, config.dataset, proxy, seed, mode, config.batch, value, fields)
            bar.update()
    finally:
        bar.close()
        if workers > 1:
            pool.terminate()
    return len(items)


# ----------------------------------------------------------------------------- collection-level scores


def cached_rows(config: EvaluateConfig, cache: ResultCache) -> pd.DataFrame:
    """Every cached result of the config's space, dataset and batch, one row each."""
    return pd.DataFrame(cache.rows(config.space, config.dataset, config.batch))


def collect_scores(config: EvaluateConfig, rows: pd.DataFrame) -> pd.DataFrame:
    """Wide table indexed by arch string: one column per proxy (and mode), mean over seeds, plus
    ``vkdnw_q*`` spectrum features per mode, derived rankings, and imported scores."""
    rows = rows[rows.arch.isin(config.archs) & rows.seed.isin(config.seeds)]
    wide = pd.DataFrame(index=pd.Index(config.archs, name="arch"))
    for (proxy, mode), group in rows.groupby(["proxy", "mode"]):
        if mode != NO_MODE and mode not in config.modes:
            continue
        wide[_column(proxy, mode, config.modes)] = group.groupby("arch").value.mean()
        if proxy == "vkdnw":
            spectrum = pd.DataFrame(list(group.fields), index=group.arch)
            spectrum = spectrum[[c for c in spectrum.columns if c.startswith("vkdnw_q")]].groupby(level=0).mean()
            for column in spectrum.columns:
                wide[_column(column, mode, config.modes)] = spectrum[column]
    for name, series in config.imported.items():
        wide[name] = series.reindex(wide.index)
    for mode in config.modes:
        if "vkdnw_agg" in config.proxies:
            components = {
                c: wide[c if is_imported(c) else _column(c, mode, config.modes)].to_numpy() for c in config.agg_components
            }  # fmt: skip
            wide[_column("vkdnw_agg", mode, config.modes)] = aggregate_ranks(components, config.agg_components)
    return wide


def model_driven_scores(wide: pd.DataFrame, accuracy: pd.Series, config: EvaluateConfig, mode: str, seed: int = 0):
    """Predicted accuracy of every arch with feature set (c) built from the mode's VKDNW spectrum and
    the other proxies. Protocol: train on ``md_train`` random archs and predict the rest when the
    collection has at least twice that many; otherwise 5-fold cross-prediction (each arch predicted by
    a forest trained on the other 80 %)."""
    from sklearn.model_selection import KFold

    spectrum = {_column(f"vkdnw_q{i}", mode, config.modes): f"vkdnw_q{i}" for i in range(1, 12)}
    plain = [p for p in computed_proxies(config.proxies, config.agg_components) if p not in VKDNW_PROXIES]
    frame = wide[[c for c in spectrum if c in wide] + plain].rename(columns=spectrum)
    features = model_features(frame, "c")
    predicted = pd.Series(np.nan, index=wide.index)
    rng = np.random.RandomState(seed)
    if len(wide) >= 2 * config.md_train:
        train = rng.permutation(len(wide))[: config.md_train]
        test = np.setdiff1d(np.arange(len(wide)), train)
        splits = [(train, test)]
    else:
        splits = KFold(5, shuffle=True, random_state=seed).split(features)
    for train, test in splits:
        ranker = ModelDrivenRanker(random_state=seed).fit(features.iloc[train], accuracy.iloc[train])
        predicted.iloc[test] = ranker.predict(features.iloc[test])
    return predicted


# ----------------------------------------------------------------------------- report


def import_scores(source: str, dataset: str) -> dict[str, pd.Series]:
    """Precomputed scores of NASLib's built-in proxies, indexed by arch string: ``naslib:<proxy>``
    from NASLib's zc json (``*.json``), ``suite0:<proxy>`` from a NAS-Bench-Suite-Zero csv or
    dataset name."""
    from .benchmarks import load_naslib_zc, load_suite_zero

    if source.endswith(".json"):
        prefix, frame = "naslib", load_naslib_zc(source, dataset).drop(columns=["val_accuracy"])
    else:
        prefix, frame = "suite0", load_suite_zero(source)
    frame = frame.select_dtypes("number")
    return {f"{prefix}:{column}": frame[column].astype(float) for column in frame.columns}


def metric_table(wide: pd.DataFrame, accuracy: pd.Series, n_boot: int = 200, k: int = 1000) -> pd.DataFrame:
    """One row per score column: n, KT, SPR, nDCG@k, regret@1/10 and (``n_boot`` > 0) bootstrap 95 %
    CIs, each on the architectures that have a score (k and 10 capped at that number)."""
    from .metrics import bootstrap_ci, kendall_tau, ndcg_at_k, ranking_metrics, spearman

    rows = []
    for column in wide.columns:
        if column.startswith("vkdnw_q"):
            continue
        mask = wide[column].notna().to_numpy()
        acc, score = accuracy.to_numpy()[mask], wide[column].to_numpy()[mask]
        if mask.sum() < 3:
            continue
        kk = min(k, len(acc))
        row = {"proxy": column, "n": int(mask.sum()), **ranking_metrics(acc, score, ks=(kk,), regret_ks=(1, min(10, len(acc))))}
        row["ndcg"] = row.pop(f"ndcg@{kk}")
        row["regret@10"] = row.pop(f"regret@{min(10, len(acc))}")
        for name, fn in (("kt", kendall_tau), ("spr", spearman), ("ndcg", lambda a, s: ndcg_at_k(a, s, k=kk))):
            if n_boot:
                row[f"{name}_lo"], row[f"{name}_hi"] = bootstrap_ci(fn, acc, score, n_boot=n_boot)
        rows.append(row)
    return pd.DataFrame(rows).set_index("proxy")


def scored_table(config: EvaluateConfig, rows: pd.DataFrame, accuracy: pd.Series) -> pd.DataFrame:
    """``collect_scores`` of the cached ``rows`` plus the model-driven prediction when it was asked for."""
    wide = collect_scores(config, rows)
    if "model_driven" in config.proxies:
        for mode in config.modes:
            wide[_column("model_driven", mode, config.modes)] = model_driven_scores(wide, accuracy.reindex(wide.index), config, mode)
    return wide


def per_seed_metrics(config: EvaluateConfig, rows: pd.DataFrame, accuracy: pd.Series) -> pd.DataFrame:
    """KT, SPR and nDCG of every score column computed on each seed's scores alone, one row per
    (seed, proxy): the authors' protocol (their tables give the mean over seeds 1-5 of these)."""
    frames = []
    for seed in config.seeds:
        wide = scored_table(replace(config, seeds=[seed]), rows, accuracy)
        frames.append(metric_table(wide, accuracy.reindex(wide.index), n_boot=0).assign(seed=seed))
    return pd.concat(frames).reset_index()


def per_seed_summary(per_seed: pd.DataFrame) -> list[str]:
    """report.md lines: mean ± sd over seeds of each proxy's per-seed KT, SPR and nDCG."""
    lines = ["## Per seed (the authors' protocol: each seed ranked on its own, mean ± sd over seeds)", "",
             "| proxy | KT | SPR | nDCG | KT per seed |", "|---|---|---|---|---|"]  # fmt: skip
    for proxy, group in per_seed.groupby("proxy", sort=False):
        cells = [f"{group[m].mean():.3f}" + (f" ± {group[m].std(ddof=1):.3f}" if len(group) > 1 else "") for m in ("kt", "spr", "ndcg")]
        lines.append(f"| {proxy} | {' | '.join(cells)} | {', '.join(f'{v:.3f}' for v in group.kt)} |")
    return lines + [""]


def plot_report(wide: pd.DataFrame, accuracy: pd.Series, metrics: pd.DataFrame, out: Path) -> list[Path]:
    """PNG plots: rank-vs-accuracy scatter per proxy, nDCG@k over k, bar chart of KT/SPR/nDCG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .metrics import ndcg_at_k

    names = list(metrics.index)
    cols = min(4, len(names))
    rows = math.ceil(len(names) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3 * rows), squeeze=False)
    for ax, name in zip(axes.flat, names):
        mask = wide[name].notna()
        ax.scatter(wide[name][mask].rank(), accuracy[mask], s=3, alpha=0.5)
        ax.set_title(f"{name}\nKT {metrics.kt[name]:.3f}", fontsize=8)
        ax.set_xlabel("proxy rank (higher = better)", fontsize=7)
        ax.set_ylabel("test accuracy (%)", fontsize=7)
    for ax in list(axes.flat)[len(names):]:
        ax.axis("off")
    fig.tight_layout()
    paths = [out / "rank_vs_accuracy.png"]
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    n = len(accuracy)
    ks = sorted({int(k) for k in np.unique(np.geomspace(10, n, 12).astype(int))})
    for name in names:
        mask = wide[name].notna().to_numpy()
        ax.plot(ks, [ndcg_at_k(accuracy.to_numpy()[mask], wide[name].to_numpy()[mask], k=min(k, mask.sum())) for k in ks], label=name)
    ax.set_xscale("log")
    ax.set_xlabel("k")
    ax.set_ylabel("nDCG@k")
    ax.legend(fontsize=6)
    fig.tight_layout()
    paths.append(out / "ndcg_at_k.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(max(6, 0.6 * len(names)), 4))
    x = np.arange(len(names))
    for offset, metric in zip((-0.25, 0, 0.25), ("kt", "spr", "ndcg")):
        ax.bar(x + offset, metrics[metric], width=0.25, label=metric.upper())
    ax.set_xticks(x, names, rotation=60, ha="right", fontsize=7)
    ax.legend()
    fig.tight_layout()
    paths.append(out / "metrics_bar.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths


def write_report(metrics: pd.DataFrame, out: Path, header: dict, extra: list[str] = ()) -> Path:
    """report.md: a table like the paper's Table I (KT, SPR, nDCG with bootstrap 95 % CIs), then
    ``extra`` lines."""
    lines = ["# vkdnw evaluate report", ""]
    lines += [f"- **{key}**: {value}" for key, value in header.items()]
    lines += ["", "| proxy | n | KT [95% CI] | SPR [95% CI] | nDCG [95% CI] | regret@1 | regret@10 |", "|---|---|---|---|---|---|---|"]
    for name, r in metrics.iterrows():
        lines.append(
            f"| {name} | {r.n} | {r.kt:.3f} [{r.kt_lo:.3f}, {r.kt_hi:.3f}] | {r.spr:.3f} [{r.spr_lo:.3f}, {r.spr_hi:.3f}] "
            f"| {r.ndcg:.3f} [{r.ndcg_lo:.3f}, {r.ndcg_hi:.3f}] | {r['regret@1']:.2f} | {r['regret@10']:.2f} |"
        )
    lines += ["", "Plots: `rank_vs_accuracy.png`, `ndcg_at_k.png`, `metrics_bar.png`.", "", *extra]
    path = out / "report.md"
    path.write_text("\n".join(lines))
    return path


def evaluate(config: EvaluateConfig, cache: ResultCache, table: pd.DataFrame, out: Path, progress=True, n_boot=200) -> pd.DataFrame:
    """Score (resuming from ``cache``), rank, compare with the table's test accuracy, and write
    scores.csv, metrics.csv, report.md and plots into ``out`` (with several seeds also
    per_seed_metrics.csv). Returns the metric table of the seed-averaged scores."""
    from .benchmarks import nb201_accuracy

    started = time.perf_counter()
    scored = run_scoring(config, cache, progress)
    accuracy = nb201_accuracy(table.set_index("arch_str", drop=False), config.dataset).reindex(config.archs)
    rows = cached_rows(config, cache)
    wide = scored_table(config, rows, accuracy)
    out.mkdir(parents=True, exist_ok=True)
    wide.assign(accuracy=accuracy).to_csv(out / "scores.csv")
    metrics = metric_table(wide, accuracy, n_boot=n_boot)
    metrics.to_csv(out / "metrics.csv")
    plot_report(wide, accuracy, metrics, out)
    header = {
        "dataset": config.dataset, "architectures": len(config.archs), "seeds": config.seeds,
        "modes": config.modes, "batch": config.batch, "networks scored this run": scored,
        "wall time this run": f"{time.perf_counter() - started:.0f} s",
        "accuracy": "NB201 200-epoch test accuracy (c10_test / c100_test / in16_test)",
    }  # fmt: skip
    if "vkdnw_agg" in config.proxies:
        header["VKDNW_agg components"] = ", ".join(config.agg_components)
    extra = []
    if len(config.seeds) > 1:
        per_seed = per_seed_metrics(config, rows, accuracy)
        per_seed.to_csv(out / "per_seed_metrics.csv", index=False)
        extra = per_seed_summary(per_seed)
    write_report(metrics, out, header, extra)
    return metrics
