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
from .evaluate_config import EvaluateConfig, computed_proxies, vkdnw_proxies
from .executors import make_executor
from .options import OptionError, check_count, check_out_dir, new_folder_root
from .report import metric_table, per_seed_metrics, per_seed_summary, plot_report, roles, write_report
from .scoring import NO_MODE
from .spaces import get_space
from .vkdnw_options import VKDNWOptions, warn_deprecated

log = logging.getLogger(__name__)
_REEMITTED: dict = {}  # warnings registry of worker warnings shown again here (each shown once)


class Task(NamedTuple):
    """One network to score: every missing ``(proxy, mode)`` of one (arch, seed); ``options`` carry
    the seed."""

    arch: str
    space: str
    dataset: str
    options: VKDNWOptions
    wanted: list[tuple[str, str]]

    @property
    def seed(self) -> int:
        return self.options.seed


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
    """Every missing (proxy, mode) of one (arch, seed), through :func:`~vkdnw_plugin.scoring.score_network`."""
    from .scoring import score_network

    proxies = list(dict.fromkeys(proxy for proxy, _ in item.wanted))
    scores = score_network(item.space, item.arch, item.options, proxies, dataset=item.dataset)
    wanted = set(item.wanted)
    return item.arch, item.seed, [row for row in scores.rows if (row[0], row[1]) in wanted]


def pending_networks(config: EvaluateConfig, cache: ResultCache) -> list[Task]:
    """One :class:`Task` per (arch, seed) with a result missing from ``cache``."""
    options = config.options
    done = cache.done(config.space, config.dataset, options.batch, options.cache_options())
    per_net = computed_proxies(config.proxies, config.agg_components)
    per_mode = set(vkdnw_proxies())
    items = []
    for arch in config.archs:
        for seed in config.seeds:
            wanted = [
                (proxy, mode)
                for proxy in per_net
                for mode in (options.modes if proxy in per_mode else [NO_MODE])
                if (arch, proxy, seed, mode) not in done
            ]
            if wanted:
                items.append(Task(arch, config.space, config.dataset, options.replace(seed=seed), wanted))
    return items


def run_scoring(config: EvaluateConfig, cache: ResultCache, progress: bool = True) -> int:
    """Compute every missing result on the config's executor (local workers or ``scheduler``),
    committing each to ``cache`` as it arrives. Returns how many networks were scored."""
    items = pending_networks(config, cache)
    options, batch = config.options.cache_options(), config.options.batch
    elsewhere = cache.elsewhere(config.space, config.dataset, batch, options)
    if elsewhere:
        log.warning("%d results of %s/%s/batch %d in the cache %s were computed under other scoring options or by "
                    "another vkdnw-plugin version; they are not used (this run: %s, version %s)", elsewhere,
                    config.space, config.dataset, batch, cache.path, options_text(options), __version__)  # fmt: skip
    total = len(config.archs) * len(config.seeds)
    found = ("%d of %d networks (architecture x seed) found in the cache %s; %d to score", total - len(items), total, cache.path, len(items))
    if not items:
        log.info(*found)
        return 0
    with make_executor(config.scheduler, config.workers, config.options.threads) as executor:
        log.info(*found)  # once connected: a bad --scheduler gives one line, its error
        bar = tqdm(total=len(items), desc=f"scoring {config.dataset}", unit="net", disable=not progress)
        started = time.perf_counter()
        try:
            for done, (arch, seed, rows, caught) in enumerate(executor.imap_unordered(_score_network, items), 1):
                for proxy, mode, value, fields in rows:
                    cache.put(config.space, arch, config.dataset, proxy, seed, mode, batch, value, fields, options)
                for category, message, filename, lineno in caught:
                    warnings.warn_explicit(message, category, filename, lineno, registry=_REEMITTED)
                bar.set_postfix_str(f"{60 * done / (time.perf_counter() - started):.1f} net/min", refresh=False)
                bar.update()
        finally:
            bar.close()
    return len(items)


def cached_rows(config: EvaluateConfig, cache: ResultCache) -> pd.DataFrame:
    """Every cached result of the config's space, dataset, batch and scoring options, one row each."""
    return pd.DataFrame(cache.rows(config.space, config.dataset, config.options.batch, config.options.cache_options()))


def import_scores(source: str, dataset: str) -> dict[str, pd.Series]:
    """Precomputed scores of NASLib's built-in proxies, indexed by arch string: ``naslib:<proxy>``
    from NASLib's zc json (``*.json``), ``suite0:<proxy>`` from a NAS-Bench-Suite-Zero csv or
    dataset name (both are NAS-Bench-201 tables)."""
    from .groundtruth import load_naslib_zc, load_suite_zero

    get_space("nb201").shape(dataset)
    if source.endswith(".json"):
        prefix, frame = "naslib", load_naslib_zc(source, dataset).drop(columns=["val_accuracy"])
    else:
        prefix, frame = "suite0", load_suite_zero(source)
    frame = frame.select_dtypes("number")
    return {f"{prefix}:{column}": frame[column].astype(float) for column in frame.columns}


def evaluate(config: EvaluateConfig, cache: ResultCache, accuracy: pd.Series, out: Path, progress=True, bootstrap=200,
             n_boot=None) -> pd.DataFrame:  # fmt: skip
    """Score (resuming from ``cache``), rank, compare with ``accuracy`` (test accuracy in %, indexed by
    architecture, e.g. :func:`~vkdnw_plugin.groundtruth.ground_truth`), and write scores.csv,
    metrics.csv, report.md and plots into ``out`` (with several seeds also per_seed_metrics.csv);
    ``bootstrap`` resamples give the 95 % CIs (``n_boot`` is its deprecated spelling). ``out``,
    ``bootstrap`` and the accuracies are checked before scoring; when writing fails, a folder created
    for ``out`` is removed again. Returns the metric table of the seed-averaged scores."""
    if n_boot is not None:
        warn_deprecated("evaluate(n_boot=...)", "evaluate(bootstrap=...)")
        bootstrap = n_boot
    out = check_out_dir(out)
    check_count("bootstrap", bootstrap, minimum=0)
    accuracy = accuracy.reindex(config.archs)
    if accuracy.isna().any():
        missing = list(accuracy.index[accuracy.isna()])
        raise OptionError("archs", missing[:3], f"{len(missing)} architecture(s) have no ground-truth accuracy")
    started = time.perf_counter()
    scored = run_scoring(config, cache, progress)
    rows = cached_rows(config, cache)
    wide = scored_table(config, rows, accuracy)
    metrics = metric_table(wide, accuracy, bootstrap=bootstrap)
    metrics["role"] = roles(config, metrics.index)
    networks = len(config.archs) * len(config.seeds)
    header = {
        "space": config.space, "dataset": config.dataset, "architectures": len(config.archs), "seeds": config.seeds,
        "modes": list(config.options.modes), "batch": config.options.batch,
        "scoring options": options_text(config.options.cache_options()),
        "networks scored this run": scored, "networks from the cache": networks - scored,
        "wall time this run": f"{time.perf_counter() - started:.0f} s", "accuracy": get_space(config.space).accuracy,
        "bootstrap resamples": bootstrap,
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

