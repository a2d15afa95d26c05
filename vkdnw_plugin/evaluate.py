"""``vkdnw evaluate``: score a set of architectures of a benchmark space (NB201, NAS-Bench-Macro) with
many proxies (cached, resumable, parallel), compare the rankings with ground truth and write
scores.csv, metrics.csv, report.md and plots. This module orchestrates; the configuration is in
:mod:`.evaluate_config`, collection-level scores in :mod:`.collection`, the report in :mod:`.report`."""

from __future__ import annotations

import logging
import math
import shutil
import time
import warnings
from pathlib import Path
from typing import NamedTuple

import pandas as pd
from tqdm import tqdm

from . import __version__
from .cache import ResultCache, options_text
from .collection import scored_table
from .evaluate_config import ARCH_FEATURES, NO_MODE, VKDNW_PROXIES, EvaluateConfig, computed_proxies
from .executors import make_executor
from .options import (
    OptionError,
    check_choice,
    check_count,
    check_out_dir,
    new_folder_root,
)
from .ranking import single_value
from .report import metric_table, per_seed_metrics, per_seed_summary, plot_report, roles, write_report
from .spaces.nb201 import DATASETS

log = logging.getLogger(__name__)
_REEMITTED: dict = {}  # warnings registry of worker warnings shown again here (each shown once)


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
    from .engine import vkdnw_scores
    from .proxies import compute_proxies
    from .scoring import network, seeded_setup

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
            out.append(("vkdnw_single", mode, single_value(r), fields))
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


def cached_rows(config: EvaluateConfig, cache: ResultCache) -> pd.DataFrame:
    """Every cached result of the config's space, dataset, batch and scoring options, one row each."""
    return pd.DataFrame(cache.rows(config.space, config.dataset, config.batch, config.cache_options()))


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

