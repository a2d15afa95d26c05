"""``vkdnw evaluate``: score a set of architectures of a benchmark space (NB201, NAS-Bench-Macro) with
many proxies (cached, resumable, parallel), compare the rankings with ground truth and write
scores.csv, metrics.csv, report.md and plots."""

from __future__ import annotations

import logging
import math
import shutil
import time
import warnings
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pandas as pd
from tqdm import tqdm

from . import __version__
from .cache import ResultCache, options_text
from .executors import check_scheduler, make_executor
from .options import (
    DEFAULT_THREADS,
    OptionError,
    check_choice,
    check_count,
    check_device,
    check_names,
    check_out_dir,
    check_seeds,
    check_workers_threads,
    new_folder_root,
)
from .ranking import AGG_COMPONENTS, ModelDrivenRanker, aggregate_ranks, model_features, nb201_graph_features, single_key
from .scoring import check_space_dataset, space_options
from .spaces.nas_bench_macro import layer_features
from .spaces.nb201 import DATASETS
from .vkdnw import DIRECTIONS, MODES

VKDNW_PROXIES = ("vkdnw", "vkdnw_single")  # computed per Fisher mode by the engine
DERIVED = ("vkdnw_agg", "model_driven")  # computed inside the collection from other proxies
ARCH_FEATURES = {"nb201": (), "nas-bench-macro": ("blocks",)}  # read off the architecture text, no network
ARCH_FEATURE_TABLES = {"nb201": nb201_graph_features, "nas-bench-macro": layer_features}  # model_driven's set (c)
MODEL_DRIVEN_BASE = ("vkdnw", "n_layers", "flops")
NO_MODE = "-"
NDCG_K = 1000
log = logging.getLogger(__name__)
_REEMITTED: dict = {}  # warnings registry of worker warnings shown again here (each shown once)


@dataclass
class EvaluateConfig:
    """What ``vkdnw evaluate`` scores; ``archs`` are the space's canonical architecture texts (NB201
    arch strings, NAS-Bench-Macro codes). Every field is checked on construction
    (:class:`~vkdnw_plugin.options.OptionError` naming it)."""

    dataset: str
    proxies: list[str]
    archs: list[str]
    seeds: list[int]
    modes: list[str]
    batch: int = 64
    workers: int = 1
    threads: int = DEFAULT_THREADS  # torch threads per worker
    space: str = "nb201"
    md_train: int = 1024
    imported: dict[str, pd.Series] = field(default_factory=dict)
    agg_components: tuple[str, ...] = AGG_COMPONENTS  # proxies, or imported columns ("suite0:jacov")
    scheduler: str | None = None  # Dask: tcp://HOST:PORT or local:N; None: local worker processes
    direction: str = "auto"  # Jacobian direction of the VKDNW engine
    device: str = "cpu"  # where each network is scored: cpu, cuda, cuda:N

    def __post_init__(self):
        check_space_dataset(self.space, self.dataset)
        check_names("proxies", self.proxies, available_proxies(self.space))
        check_choice("direction", self.direction, DIRECTIONS)
        check_device(self.device)
        check_names("modes", self.modes, MODES)
        if len(self.archs) < 3:
            raise OptionError("archs", len(self.archs), "too few architectures; ranking metrics need at least 3")
        check_seeds(self.seeds)
        check_count("batch", self.batch)
        check_count("md_train", self.md_train)
        check_workers_threads(self.workers, self.threads)
        check_scheduler(self.scheduler, self.workers, self.threads)
        self._check_agg_components()

    def vkdnw_options(self) -> dict:
        """Keywords of the VKDNW engine: the space's defaults and ``direction``."""
        return space_options(self.space, direction=self.direction)

    def cache_options(self) -> dict:
        """Every scoring option besides the cache's own key columns that changes a score: the VKDNW
        options, the input resolution (pixels) and the device type."""
        resolution = check_space_dataset(self.space, self.dataset)[1]
        return {**self.vkdnw_options(), "resolution": resolution, "device": self.device.split(":")[0]}

    def _check_agg_components(self) -> None:
        components = list(self.agg_components)
        per_network = [p for p in available_proxies(self.space) if p not in DERIVED]
        bad = [c for c in components if c not in per_network and c not in self.imported]
        if not components:
            raise OptionError("agg_components", components, "no component given")
        if bad:
            hint = " (imported columns need --import-scores)" if any(is_imported(c) for c in bad) else ""
            raise OptionError("agg_components", components, f"unknown {', '.join(bad)}{hint}; expected proxies of "
                              f"{', '.join(per_network)} or imported columns like suite0:jacov")  # fmt: skip


def available_proxies(space: str = "nb201") -> list[str]:
    """Names ``--proxies`` accepts in ``space``: the engine's, the registry's, the collection-level
    ones, and the space's architecture features (:data:`ARCH_FEATURES`)."""
    from .proxies import list_proxies

    return sorted(set(VKDNW_PROXIES) | set(list_proxies()) | set(DERIVED) | set(ARCH_FEATURES[space]))


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


class Task(NamedTuple):
    """One network to score: every missing ``(proxy, mode)`` of one (arch, seed)."""

    arch: str
    seed: int
    space: str
    dataset: str
    batch: int
    device: str
    vkdnw_options: dict
    wanted: list[tuple[str, str]]


def _score_network(item: Task) -> tuple[str, int, list[tuple[str, str, float, dict]], list[tuple]]:
    """Worker: every missing (proxy, mode) of one (arch, seed), and the warnings raised meanwhile as
    ``(category, message, filename, lineno)`` (shown by the main process). A network whose scoring
    raises gets :func:`_failed_rows`."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            arch, seed, rows = _score_rows(item)
        except Exception as error:
            arch, seed, rows = _failed_rows(item, error)
    return arch, seed, rows, [(w.category, str(w.message), w.filename, w.lineno) for w in caught]


def _failed_rows(item, error: Exception) -> tuple[str, int, list[tuple[str, str, float, dict]]]:
    """Every wanted (proxy, mode) of a network whose scoring raised ``error``: NaN, invalid, with the
    error as the reason (and a RuntimeWarning saying so), so that the run goes on."""
    arch, seed, wanted = item.arch, item.seed, item.wanted
    reason = f"scoring raised {type(error).__name__}: {' '.join(str(error).split())}"
    warnings.warn(f"network {arch} seed {seed}: {reason}; recorded as invalid (NaN)", RuntimeWarning, stacklevel=2)
    return arch, seed, [(proxy, mode, math.nan, {"valid": False, "reason": reason}) for proxy, mode in wanted]


def _score_rows(item: Task) -> tuple[str, int, list[tuple[str, str, float, dict]]]:
    """Every missing (proxy, mode) of one (arch, seed). Failures give NaN with the reason."""
    from .proxies import compute_proxies
    from .scoring import network, seeded_setup
    from .vkdnw import vkdnw_scores

    wanted = item.wanted
    out = [(proxy, NO_MODE, float(arch_feature(item.space, proxy, item.arch)), {}) for proxy, _ in wanted
           if proxy in ARCH_FEATURES[item.space]]  # fmt: skip
    model, inputs = seeded_setup(network(item.space, item.arch, item.dataset), item.seed, item.batch, item.device)
    modes = sorted({mode for proxy, mode in wanted if proxy in VKDNW_PROXIES})
    if modes:
        for mode, r in vkdnw_scores(model, inputs, modes=modes, **item.vkdnw_options).items():
            fields = {"dim": r.dim, "valid": r.valid, "reason": r.reason, "seconds": r.seconds,
                      **{f"vkdnw_q{i + 1}": float(q) for i, q in enumerate(r.deciles)}}  # fmt: skip
            out.append(("vkdnw", mode, r.entropy, fields))
            single = single_key(r.dim, r.entropy, item.vkdnw_options["n_quantiles"]) if r.valid else math.nan
            out.append(("vkdnw_single", mode, single, fields))
    others = [proxy for proxy, mode in wanted if proxy not in VKDNW_PROXIES + ARCH_FEATURES[item.space]]
    if others:
        started = time.perf_counter()
        values = compute_proxies(model, inputs, others)
        seconds = (time.perf_counter() - started) / len(others)
        out += [(proxy, NO_MODE, values[proxy], {"seconds": seconds}) for proxy in others]
    wanted = set(wanted)
    return item.arch, item.seed, [row for row in out if (row[0], row[1]) in wanted]


def arch_feature(space: str, name: str, arch: str) -> float:
    """An architecture feature of :data:`ARCH_FEATURES` (``blocks``: NAS-Bench-Macro layers that are
    not identity)."""
    from .spaces.nas_bench_macro import non_identity_blocks

    check_choice("architecture feature", name, ARCH_FEATURES[space])
    return float(non_identity_blocks(arch))


def pending_networks(config: EvaluateConfig, cache: ResultCache) -> list[Task]:
    """One :class:`Task` per (arch, seed) with a result missing from ``cache``."""
    done = cache.done(config.space, config.dataset, config.batch, config.cache_options())
    per_net = computed_proxies(config.proxies, config.agg_components)
    vkdnw_options = config.vkdnw_options()
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
                items.append(Task(arch, seed, config.space, config.dataset, config.batch, config.device, vkdnw_options, wanted))
    return items


def run_scoring(config: EvaluateConfig, cache: ResultCache, progress: bool = True) -> int:
    """Compute every missing result on the config's executor (local workers or ``scheduler``),
    committing each to ``cache`` as it arrives. Returns how many networks were scored."""
    items = pending_networks(config, cache)
    options = config.cache_options()
    elsewhere = cache.elsewhere(config.space, config.dataset, config.batch, options)
    if elsewhere:
        log.warning("%d results of %s/%s/batch %d in the cache %s were computed under other scoring options or by "
                    "another vkdnw-plugin version; they are not used (this run: %s, version %s)", elsewhere,
                    config.space, config.dataset, config.batch, cache.path, options_text(options), __version__)  # fmt: skip
    total = len(config.archs) * len(config.seeds)
    found = ("%d of %d networks (architecture x seed) found in the cache %s; %d to score", total - len(items), total, cache.path, len(items))
    if not items:
        log.info(*found)
        return 0
    with make_executor(config.scheduler, config.workers, config.threads) as executor:
        log.info(*found)  # once connected: a bad --scheduler gives one line, its error
        bar = tqdm(total=len(items), desc=f"scoring {config.dataset}", unit="net", disable=not progress)
        started = time.perf_counter()
        try:
            for done, (arch, seed, rows, caught) in enumerate(executor.imap_unordered(_score_network, items), 1):
                for proxy, mode, value, fields in rows:
                    cache.put(config.space, arch, config.dataset, proxy, seed, mode, config.batch, value, fields, options)
                for category, message, filename, lineno in caught:
                    warnings.warn_explicit(message, category, filename, lineno, registry=_REEMITTED)
                bar.set_postfix_str(f"{60 * done / (time.perf_counter() - started):.1f} net/min", refresh=False)
                bar.update()
        finally:
            bar.close()
    return len(items)


# ----------------------------------------------------------------------------- collection-level scores


def cached_rows(config: EvaluateConfig, cache: ResultCache) -> pd.DataFrame:
    """Every cached result of the config's space, dataset, batch and scoring options, one row each."""
    return pd.DataFrame(cache.rows(config.space, config.dataset, config.batch, config.cache_options()))


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
    features = model_features(frame, "c", arch_features=ARCH_FEATURE_TABLES[config.space])
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
    from .groundtruth import load_naslib_zc, load_suite_zero

    check_choice("dataset", dataset, tuple(DATASETS))
    if source.endswith(".json"):
        prefix, frame = "naslib", load_naslib_zc(source, dataset).drop(columns=["val_accuracy"])
    else:
        prefix, frame = "suite0", load_suite_zero(source)
    frame = frame.select_dtypes("number")
    return {f"{prefix}:{column}": frame[column].astype(float) for column in frame.columns}


def metric_table(wide: pd.DataFrame, accuracy: pd.Series, n_boot: int = 200, k: int = NDCG_K) -> pd.DataFrame:
    """One row per score column: n, KT, SPR, nDCG@k (``ndcg_k``: the k used), regret@1/10 and
    (``n_boot`` > 0) bootstrap 95 % CIs, each on the architectures that have a score (k and 10
    capped at that number)."""
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
        row["ndcg"], row["ndcg_k"] = row.pop(f"ndcg@{kk}"), kk
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
        ax.scatter(wide[name][mask].rank(), accuracy[mask], s=3, alpha=0.5)
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

    fig, ax = plt.subplots(figsize=(7, 4))
    acc = accuracy.to_numpy()
    ks = np.unique(np.geomspace(1, len(acc), 20).astype(int))
    bars = _interval(metrics, "ndcg")
    for i, (name, label) in enumerate(zip(names, labels)):
        mask = wide[name].notna().to_numpy()
        (line,) = ax.plot(ks, [ndcg_at_k(acc[mask], wide[name].to_numpy()[mask], k=min(k, mask.sum())) for k in ks], label=label)
        if bars is not None:
            at = metrics.ndcg_k.iloc[i] * 1.01**i  # side by side, not on top of each other
            ax.errorbar(at, metrics.ndcg.iloc[i], yerr=bars[:, i : i + 1], color=line.get_color(), capsize=3)
    ax.set_xscale("log")
    ax.set_xlabel("k (top-k networks by test accuracy)")
    ax.set_ylabel("nDCG@k")
    ax.set_title(f"nDCG@k ({context})" + ("; bars: 95 % CI at the table's k" if bars is not None else ""), fontsize=9)
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


def evaluate(config: EvaluateConfig, cache: ResultCache, accuracy: pd.Series, out: Path, progress=True, n_boot=200) -> pd.DataFrame:
    """Score (resuming from ``cache``), rank, compare with ``accuracy`` (test accuracy in %, indexed by
    architecture, e.g. :func:`~vkdnw_plugin.groundtruth.ground_truth`), and write scores.csv,
    metrics.csv, report.md and plots into ``out`` (with several seeds also per_seed_metrics.csv).
    ``out``, ``n_boot`` and the accuracies are checked before scoring; when writing fails, a folder
    created for ``out`` is removed again. Returns the metric table of the seed-averaged scores."""
    from .groundtruth import ACCURACY_TEXT

    out = check_out_dir(out)
    check_count("n_boot", n_boot, minimum=0)
    accuracy = accuracy.reindex(config.archs)
    if accuracy.isna().any():
        missing = list(accuracy.index[accuracy.isna()])
        raise OptionError("archs", missing[:3], f"{len(missing)} architecture(s) have no ground-truth accuracy")
    started = time.perf_counter()
    scored = run_scoring(config, cache, progress)
    rows = cached_rows(config, cache)
    wide = scored_table(config, rows, accuracy)
    metrics = metric_table(wide, accuracy, n_boot=n_boot)
    metrics["role"] = roles(config, metrics.index)
    networks = len(config.archs) * len(config.seeds)
    header = {
        "space": config.space, "dataset": config.dataset, "architectures": len(config.archs), "seeds": config.seeds,
        "modes": config.modes, "batch": config.batch, "scoring options": options_text(config.cache_options()),
        "networks scored this run": scored, "networks from the cache": networks - scored,
        "wall time this run": f"{time.perf_counter() - started:.0f} s", "accuracy": ACCURACY_TEXT[config.space],
        "bootstrap resamples": n_boot,
    }  # fmt: skip
    if "vkdnw_agg" in config.proxies:
        header["VKDNW_agg components"] = ", ".join(config.agg_components)
    per_seed = per_seed_metrics(config, rows, accuracy) if len(config.seeds) > 1 else None
    root = new_folder_root(out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        wide.assign(accuracy=accuracy).to_csv(out / "scores.csv")
        metrics.to_csv(out / "metrics.csv")
        extra = []
        if per_seed is not None:
            per_seed["role"] = roles(config, per_seed.proxy)
            per_seed.to_csv(out / "per_seed_metrics.csv", index=False)
            extra = per_seed_summary(per_seed)
        plot_report(wide, accuracy, metrics, out, f"{config.space} {config.dataset}, {len(config.archs)} architectures")
        write_report(metrics, out, header, extra)
    except BaseException:
        if root is not None:
            shutil.rmtree(root, ignore_errors=True)
        raise
    return metrics
