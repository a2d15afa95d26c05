"""``vkdnw-naslib zc`` and ``vkdnw-naslib compare``.

``run_zc`` reproduces ``naslib/runners/zc/runner.py`` (which cannot be imported: it works at import
time and needs NASLib's benchmark pickles) step by step: config → ``set_seed`` → logger →
``get_search_space`` → predictor → :class:`~.evaluator.NDCGZeroCostEvaluator` → ``evaluate`` →
``<save>/scores.json``.

``run_compare`` scores one sample of architectures with several predictors through NASLib's own
``ZeroCost`` objects (same graphs, batch and initialisation seed per architecture), keeps every score
in the core's :class:`~vkdnw_plugin.cache.ResultCache` (``<save>/compare_cache.sqlite``, resume-safe,
keyed by every option that changes a score) and reports with the core's
:func:`~vkdnw_plugin.report.metric_table` and :func:`~vkdnw_plugin.report.write_report`.
"""

from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from naslib import utils
from naslib.search_spaces import get_search_space
from naslib.utils.log import setup_logger

from vkdnw_plugin.cache import ResultCache
from vkdnw_plugin.groundtruth import load_nb201_table
from vkdnw_plugin.metrics import ndcg_at_k
from vkdnw_plugin.options import use_threads
from vkdnw_plugin.proxies import get_proxy
from vkdnw_plugin.ranking import AGG_COMPONENTS, aggregate_ranks
from vkdnw_plugin.report import metric_table, plot_report, write_report
from vkdnw_plugin.scoring import NO_MODE
from vkdnw_plugin.spaces.nb201 import parse_arch

from . import measures
from .config import ConfigError, ground_truth_column
from .evaluator import NDCGZeroCostEvaluator, nb201_ground_truth
from .predictor import check_predictor, make_predictor

__all__ = ["compare_key", "prepare", "run_compare", "run_zc"]


def prepare(config, need_size: int = 0):
    """Threads, measure options (the protocol's seed: the config's unless ``vkdnw.seed``), seeds, logger,
    ground truth; ``test_size`` must be at least ``need_size``. Returns ``(logger, ground_truth)``."""
    if need_size and config.get("test_size", 0) < need_size:
        raise ConfigError(f"test_size: expected at least {need_size} architectures, got {config.get('test_size')}")
    use_threads(int(config.num_threads))
    measures.configure(seed=int(config.seed), threads=int(config.num_threads), **dict(config.vkdnw))
    utils.set_seed(config.seed)
    log = setup_logger(config.save + "/log.log")
    log.setLevel(logging.INFO)
    table = load_nb201_table(config.nb201_table)
    return log, nb201_ground_truth(table, ground_truth_column(config), config.arch_subset)


def run_zc(config) -> dict:
    """NASLib's zero-cost correlation experiment for ``config.predictor``; returns the metrics dict
    (also in ``<config.save>/scores.json`` after NASLib's config entry)."""
    check_predictor(config.predictor)
    log, truth = prepare(config, need_size=2)
    utils.log_args(config)
    evaluator = NDCGZeroCostEvaluator(make_predictor(config.predictor), config=config, ground_truth=truth,
                                      ndcg_ks=config.ndcg_k)  # fmt: skip
    evaluator.adapt_search_space(get_search_space(name=config.search_space, dataset=config.dataset), load_labeled=True)
    results = evaluator.evaluate(None)
    log.info("Correlation experiment complete. Results in %s/scores.json", config.save)
    return results[-1]


def compare_key(config) -> tuple[str, str, int, dict]:
    """``(space, dataset, batch, options)`` of ``compare``'s cache rows (with ``seed`` and ``mode`` the key
    columns besides arch and proxy): ``options`` holds every other option that changes a score, the
    VKDNW cache options, ``init``, the protocol's seed and ``data_path``."""
    options, init = measures.current_options()
    return "nb201", config.dataset, int(config.batch_size), {
        **options.for_space("nb201", config.dataset).cache_options(), "init": init, "vkdnw_seed": options.seed,
        "data_path": config.data_path}  # fmt: skip


def _mode(name: str) -> str:
    """The cache's mode of a measure: the Fisher mode scored for VKDNW proxies, else ``NO_MODE``."""
    vkdnw = name in measures.OUR_MEASURES and get_proxy(name).from_vkdnw is not None
    return measures.current_options()[0].modes[0] if vkdnw else NO_MODE


def run_compare(config, progress: bool = True) -> dict:
    """Score ``config.test_size`` sampled NB201 architectures with every predictor of
    ``config.predictors``; write ``compare_table.{md,csv,json}``, ``report.md`` and plots to
    ``config.save``; return ``{"rows": [...], "table_md": str, "n_archs": n, "wall_s": s}``."""
    from tqdm import tqdm

    if not (names := list(config.get("predictors") or [])):
        raise ConfigError("predictors: missing or empty (list of predictor names to compare)")
    for name in names:
        check_predictor(name, key="predictors")
    log, truth = prepare(config, need_size=3)
    utils.log_args(config)
    sampler = NDCGZeroCostEvaluator(make_predictor("flops"), config=config, ground_truth=truth, log_results=False)
    sampler.adapt_search_space(get_search_space(name=config.search_space, dataset=config.dataset), load_labeled=True)
    xtest, ytest, _, _ = sampler.load_dataset(data_size=int(config.test_size))
    archs = [parse_arch(spec).arch_str for spec in xtest]
    components = list(dict.fromkeys(c for n in names for c in (AGG_COMPONENTS if n == "vkdnw_agg" else (n,))))
    zero_costs = {name: make_predictor(name) for name in components}

    space, dataset, batch, options = compare_key(config)
    seed = int(config.seed)
    cache = ResultCache(Path(config.save) / "compare_cache.sqlite")
    stored = {(r["arch"], r["proxy"], r["mode"]): r for r in cache.rows(space, dataset, batch, options) if r["seed"] == seed}
    if elsewhere := cache.elsewhere(space, dataset, batch, options):
        log.info("%s: %d scores were computed under other options and are not used", cache.path, elsewhere)
    started = time.time()
    try:
        for spec, arch in tqdm(list(zip(xtest, archs)), desc="compare", disable=not progress):
            graph = None
            for name in components:
                key = (arch, name, _mode(name))
                if key in stored:
                    continue
                graph = sampler.build_graph(spec) if graph is None else graph
                value, seconds = measures.timed_query(name, zero_costs[name], graph, sampler.dataloader, seed)
                cache.put(space, arch, dataset, name, seed, key[2], batch, value, {"seconds": seconds}, options)
                stored[key] = {"value": value, "fields": {"seconds": seconds}}
    finally:
        cache.close()
    wall = time.time() - started

    def column(name, seconds=False):
        rows = [stored[(arch, name, _mode(name))] for arch in archs]
        return np.array([r["fields"]["seconds"] if seconds else r["value"] for r in rows], dtype=float)

    wide = pd.DataFrame({name: column(name) for name in components}, index=archs)
    seconds = {name: column(name, seconds=True) for name in components}
    if "vkdnw_agg" in names:
        wide["vkdnw_agg"] = aggregate_ranks({c: wide[c].to_numpy() for c in AGG_COMPONENTS}, AGG_COMPONENTS)
        seconds["vkdnw_agg"] = np.sum([seconds[c] for c in AGG_COMPONENTS], axis=0)
    wide, ytest = wide[names], np.asarray(ytest, dtype=float)
    accuracy = pd.Series(ytest, index=archs)
    metrics = metric_table(wide, accuracy, k=max(config.ndcg_k)).assign(role="requested")
    table = [{"predictor": name, "kt": float(metrics.kt[name]), "spr": float(metrics.spr[name]),
              **{f"ndcg@{k}": ndcg_at_k(ytest, wide[name].to_numpy(), k=int(k)) for k in config.ndcg_k},
              "seconds_per_arch": float(np.mean(seconds[name])),
              "naslib_kendalltau": float(utils.compute_scores(ytest, wide[name].to_numpy())["kendalltau"]),
              **{key: float(value) for key, value in metrics.drop(columns="role").loc[name].items() if key not in ("kt", "spr")}}
             for name in names]  # fmt: skip
    table.sort(key=lambda e: -e["kt"] if math.isfinite(e["kt"]) else math.inf)

    save = Path(config.save)
    context = f"NB201 {config.dataset}, {len(archs)} architectures"
    head = ["predictor", "KT", "SPR", *[f"nDCG@{k}" for k in config.ndcg_k], "s/arch"]
    lines = [f"{context} ({config.arch_subset} set, seed {seed}), ground truth: {config.ground_truth} accuracy; "
             f"batch {batch} of random inputs; scored through NASLib ZeroCost; wall {wall:.0f} s", "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]  # fmt: skip
    for e in table:
        cells = [e["predictor"], *[f"{e[k]:.3f}" for k in ("kt", "spr", *[f"ndcg@{k}" for k in config.ndcg_k])],
                 f"{e['seconds_per_arch']:.2f}"]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    (save / "compare_table.md").write_text(md := "\n".join(lines) + "\n")
    (save / "compare_table.json").write_text(json.dumps({"n_archs": len(archs), "wall_s": wall, "table": table}, indent=1))
    pd.DataFrame(table).to_csv(save / "compare_table.csv", index=False)
    header = {"space": "NB201 (NASLib graphs, NASLib ZeroCost)", "dataset": config.dataset, "architectures": len(archs),
              "ground truth": f"{config.ground_truth} accuracy", "batch": batch, "seed": seed, "cache": cache.path}
    write_report(metrics, save, header, extra=["Seconds per architecture: `compare_table.md`."])
    plot_report(wide, accuracy, metrics, save, context)
    log.info("Comparison table written to %s", save / "compare_table.md")  # the CLI prints the table itself
    return {"rows": table, "table_md": md, "n_archs": len(archs), "wall_s": wall}
