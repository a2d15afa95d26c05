"""``vkdnw-naslib zc`` and ``vkdnw-naslib compare``: NASLib's zero-cost runner steps with our
measures registered, NB201 ground truth from the shared table, and nDCG@k.

``run_zc`` reproduces ``naslib/runners/zc/runner.py`` (which cannot be imported: it works at
import time and needs NASLib's benchmark pickles) step by step: NASLib config → ``set_seed`` →
logger → ``get_search_space`` → predictor (``ZeroCost`` or ``vkdnw_agg``) → evaluator
(:class:`~.evaluator.NDCGZeroCostEvaluator`, NASLib's ``ZeroCostPredictorEvaluator`` with the
nDCG hook) → ``evaluate`` → ``<save>/scores.json`` (NASLib's usual result file).

``run_compare`` scores one sample of architectures with several predictors through NASLib's own
``ZeroCost`` objects (same graphs, same batch, same initialisation seed per architecture) and
writes one table: Kendall τ, Spearman ρ, nDCG@k, seconds per architecture.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
from naslib import utils
from naslib.search_spaces import get_search_space
from naslib.utils.log import setup_logger

from vkdnw_plugin.groundtruth import load_nb201_table
from vkdnw_plugin.metrics import kendall_tau, ndcg_at_k, spearman
from vkdnw_plugin.options import use_threads
from vkdnw_plugin.ranking import AGG_COMPONENTS, aggregate_ranks

from .config import ConfigError, ground_truth_column
from .evaluator import NDCGZeroCostEvaluator, nb201_ground_truth
from .measures import VKDNW_FAMILY, configure, current_options
from .predictor import make_predictor, predictor_names

__all__ = ["run_compare", "run_zc", "prepare"]

# Measures that reuse one VKDNW computation per architecture (see measures' cache): the table
# reports the time of that computation for each of them.
AZ_FAMILY = ("az_expressivity", "az_trainability")  # one AZ-NAS pass serves both


def prepare(config):
    """Threads, VKDNW options, seeds, logger, ground truth; returns ``(logger, ground_truth)``."""
    use_threads(int(config.num_threads))  # warns beyond the CPU cores
    configure(**{"seed": int(config.seed), **dict(config.vkdnw)})  # the protocol's seed: the config's
    utils.set_seed(config.seed)
    log = setup_logger(config.save + "/log.log")
    log.setLevel(logging.INFO)
    table = load_nb201_table(config.nb201_table)
    truth = nb201_ground_truth(table, ground_truth_column(config), config.arch_subset)
    return log, truth


def check_predictor(name: str, key: str = "predictor") -> None:
    names = predictor_names()
    if name not in names["ours"] and name not in names["naslib"]:
        raise ConfigError(
            f"{key}: unknown predictor {name!r}; ours: {', '.join(names['ours'])}; "
            f"NASLib's: {', '.join(names['naslib'])}"
        )


def run_zc(config) -> dict:
    """NASLib's zero-cost correlation experiment for ``config.predictor``; returns the metrics dict
    (also in ``<config.save>/scores.json`` after NASLib's config entry)."""
    check_predictor(config.predictor)
    if "test_size" not in config:
        raise ConfigError("test_size: missing (number of architectures to evaluate)")
    log, truth = prepare(config)
    utils.log_args(config)
    predictor = make_predictor(config.predictor)
    search_space = get_search_space(name=config.search_space, dataset=config.dataset)
    evaluator = NDCGZeroCostEvaluator(predictor, config=config, ground_truth=truth, ndcg_ks=config.ndcg_k)
    evaluator.adapt_search_space(search_space, load_labeled=True)
    results = evaluator.evaluate(None)
    log.info("Correlation experiment complete. Results in %s", os.path.join(config.save, "scores.json"))
    return results[-1]


def _arch_seed(seed: int, spec) -> int:
    """Initialisation seed of one architecture: the same for every predictor."""
    return int(seed) * 15625 + sum(int(op) * 5**i for i, op in enumerate(spec))


def compare_options(config) -> str:
    """Every option besides the architecture and the predictor that changes a ``compare`` score, as the
    core cache's canonical JSON: batch, seed, dataset, inputs, the ``vkdnw*`` options, package version."""
    from vkdnw_plugin import __version__
    from vkdnw_plugin.cache import options_text

    return options_text({"batch_size": config.get("batch_size"), "seed": int(config.seed), "dataset": config.dataset,
                         "data_path": config.data_path, "vkdnw": current_options(), "version": __version__})


def _load_rows(path: Path, options: str, log) -> dict:
    """``{(arch, predictor): row}`` of the rows in ``path`` scored under ``options``; rows scored under
    other options are never returned (one log line says how many there are)."""
    rows, elsewhere = {}, 0
    if path.is_file():
        for line in path.read_text().splitlines():
            if line.strip():
                row = json.loads(line)
                if row.get("options") == options:
                    rows[(tuple(row["arch"]), row["predictor"])] = row
                else:
                    elsewhere += 1
    if elsewhere:
        log.info("%s: %d scores were computed under other options and are not used; scoring under %s",
                 path, elsewhere, options)
    return rows


def run_compare(config, progress: bool = True) -> dict:
    """Score ``config.test_size`` sampled NB201 architectures with every predictor of
    ``config.predictors`` through NASLib's ``ZeroCost`` objects; write ``compare_scores.jsonl``
    (per architecture and measure, resume-safe), ``compare_table.{md,csv,json}`` to
    ``config.save``; return ``{"rows": [...], "table_md": str}``."""
    from tqdm import tqdm

    names = list(config.get("predictors") or [])
    if not names:
        raise ConfigError("predictors: missing or empty (list of predictor names to compare)")
    for name in names:
        check_predictor(name, key="predictors")
    if "test_size" not in config:
        raise ConfigError("test_size: missing (number of architectures to compare on)")
    log, truth = prepare(config)
    utils.log_args(config)

    # Architectures and the batch come from the evaluator's own sampling (NASLib's sampler).
    search_space = get_search_space(name=config.search_space, dataset=config.dataset)
    sampler = NDCGZeroCostEvaluator(make_predictor("flops"), config=config, ground_truth=truth, log_results=False)
    sampler.adapt_search_space(search_space, load_labeled=True)
    xtest, ytest, _, _ = sampler.load_dataset(data_size=int(config.test_size))
    loader = sampler.dataloader

    measures = []
    for name in names:
        for measure in (AGG_COMPONENTS if name == "vkdnw_agg" else (name,)):
            if measure not in measures:
                measures.append(measure)
    zero_costs = {name: make_predictor(name) for name in measures}

    save = Path(config.save)
    rows_path = save / "compare_scores.jsonl"
    options = compare_options(config)
    rows = _load_rows(rows_path, options, log)
    started = time.time()
    with open(rows_path, "a") as out:
        for spec in tqdm(xtest, desc="compare", disable=not progress):
            graph = None
            for name in measures:
                if (spec, name) in rows:
                    continue
                if graph is None:
                    graph = sampler.build_graph(spec)
                torch.manual_seed(_arch_seed(config.seed, spec))
                t0 = time.perf_counter()
                score = float(zero_costs[name].query(graph, dataloader=loader))
                row = {"arch": list(spec), "predictor": name, "score": score, "seconds": time.perf_counter() - t0,
                       "options": options}
                rows[(spec, name)] = row
                out.write(json.dumps(row) + "\n")
                out.flush()
    wall = time.time() - started

    def column(name, key):
        return np.array([rows[(spec, name)][key] for spec in xtest], dtype=float)

    seconds = {name: column(name, "seconds") for name in measures}
    for family in (VKDNW_FAMILY, AZ_FAMILY):
        members = [n for n in family if n in seconds]
        if members:  # one computation per architecture, whichever member ran first: its time for all
            shared = np.max([seconds[n] for n in members], axis=0)
            for n in members:
                seconds[n] = shared
    ytest = np.asarray(ytest, dtype=float)
    table = []
    for name in names:
        if name == "vkdnw_agg":
            preds = aggregate_ranks({c: column(c, "score") for c in AGG_COMPONENTS})
            counted = [c for c in AGG_COMPONENTS if c != "az_trainability" or "az_expressivity" not in AGG_COMPONENTS]
            secs = np.sum([seconds[c] for c in counted], axis=0)
        else:
            preds, secs = column(name, "score"), seconds[name]
        naslib_scores = utils.compute_scores(ytest, preds)
        entry = {
            "predictor": name,
            "kt": kendall_tau(ytest, preds),
            "spr": spearman(ytest, preds),
            **{f"ndcg@{k}": ndcg_at_k(ytest, preds, k=int(k)) for k in config.ndcg_k},
            "seconds_per_arch": float(np.mean(secs)),
            "naslib_kendalltau": float(naslib_scores["kendalltau"]),
        }
        table.append(entry)
    table.sort(key=lambda e: -e["kt"] if math.isfinite(e["kt"]) else math.inf)
    md = _markdown(table, config, len(xtest), wall)
    (save / "compare_table.md").write_text(md)
    (save / "compare_table.json").write_text(json.dumps({"n_archs": len(xtest), "wall_s": wall, "table": table}, indent=1))
    _csv(table, save / "compare_table.csv")
    log.info("Comparison table written to %s", save / "compare_table.md")  # the CLI prints the table itself
    return {"rows": table, "table_md": md, "n_archs": len(xtest), "wall_s": wall}


def _markdown(table, config, n, wall) -> str:
    ks = [f"ndcg@{k}" for k in config.ndcg_k]
    head = ["predictor", "KT", "SPR", *[f"nDCG@{k}" for k in config.ndcg_k], "s/arch"]
    lines = [
        f"NB201 {config.dataset}, {n} architectures ({config.arch_subset} set, seed {config.seed}), "
        f"ground truth: {config.ground_truth} accuracy; batch {config.batch_size} of random inputs; "
        f"scored through NASLib ZeroCost; wall {wall:.0f} s",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for e in table:
        cells = [e["predictor"], f"{e['kt']:.3f}", f"{e['spr']:.3f}", *[f"{e[k]:.3f}" for k in ks], f"{e['seconds_per_arch']:.2f}"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _csv(table, path: Path) -> None:
    import csv

    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(table[0]))
        writer.writeheader()
        writer.writerows(table)
