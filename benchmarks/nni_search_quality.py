"""NB201 search quality through NNI: VKDNW_agg rank-aggregation evolution vs NNI's Random strategy.

Both run as NNI 3.0 ``NasExperiment``s (sequential engine, NNI's own ``NasBench201`` space) with the
same VKDNW evaluator and the same budget of evaluated architectures; the chosen architecture of
each run is the best by VKDNW_agg over everything that run evaluated (for evolution also reported:
the best of its final population). True test accuracy from the shared NB201 table.

Scores are deterministic per (architecture, dataset, options), so a JSON cache (``--cache``) is shared
by all runs: identical evaluations are not recomputed (this changes wall time only).

    python benchmarks/nni_search_quality.py --budget 60 --population 16 --seeds 0 1 2 \
        --datasets cifar10 cifar100 ImageNet16-120 --batch-size 16 --out benchmarks/results/nni_search_quality.md
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from pathlib import Path

import numpy as np
import torch

_CACHE: dict = {}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--budget", type=int, default=60)
    parser.add_argument("--population", type=int, default=16)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=["cifar10", "cifar100", "ImageNet16-120"])
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--cache", default="benchmarks/results/.nni_search_cache.json")
    parser.add_argument("--out", default="benchmarks/results/nni_search_quality.md")
    parser.add_argument("--from-log", nargs="+", default=None,
                        help="only write the report from the JSON records printed by earlier (possibly cut) runs")
    parser.add_argument("--wall", type=float, default=float("nan"), help="with --from-log: their total wall time, s")
    parser.add_argument("--note", default="", help="with --from-log: a sentence on what was run")
    args = parser.parse_args(argv)
    if args.from_log:
        records = []
        for log in args.from_log:
            for line in Path(log).read_text().splitlines():
                if line.startswith('{"dataset"'):
                    records.append(json.loads(line))
        write_report(records, args, args.wall, Path(args.out))
        return 0
    torch.set_num_threads(1)
    logging.getLogger("nni").setLevel(logging.ERROR)

    from nni.nas.evaluator import FunctionalEvaluator
    from nni.nas.hub.pytorch import NasBench201
    from nni.nas.strategy import Random
    from vkdnw_nni.search import run_local_search
    from vkdnw_nni.strategy import VKDNWAggEvolution
    from vkdnw_nni.tuner import population_fitness as population_agg

    from vkdnw_plugin.groundtruth import load_nb201_table, nb201_accuracy
    from vkdnw_plugin.ranking import AGG_COMPONENTS
    from vkdnw_plugin.spaces import get_space
    from vkdnw_plugin.spaces.nb201 import parse_arch

    global _CACHE
    cache_path = Path(args.cache)
    if cache_path.is_file():
        _CACHE = json.loads(cache_path.read_text())
    table = load_nb201_table()
    started_all = time.time()
    records = []
    for dataset in args.datasets:
        accuracy = dict(zip(table["arch_str"], nb201_accuracy(table, dataset)))
        optimum = max(accuracy.values())
        classes, resolution = get_space("nb201").shape(dataset)
        options = dict(batch=args.batch_size, resolution=resolution)

        for seed in args.seeds:
            for name in ("vkdnw_agg_evolution", "nni_random"):
                t0 = time.time()
                strategy = (VKDNWAggEvolution(population_size=args.population, seed=seed) if name != "nni_random"
                            else Random(dedup=True, seed=seed))
                evaluator = FunctionalEvaluator(_evaluate_tagged, dataset=dataset, **options)
                run_local_search(NasBench201(num_labels=classes), evaluator, strategy, args.budget)
                history = _HISTORY.pop(dataset, [])
                results = [r for _, r in history]
                agg = population_agg(results, AGG_COMPONENTS)
                chosen = history[int(np.argmax(agg))][0]
                record = {
                    "dataset": dataset, "seed": seed, "strategy": name, "evaluated": len(history),
                    "chosen": chosen, "chosen_acc": accuracy[chosen], "optimum": optimum,
                    "best_evaluated_acc": max(accuracy[a] for a, _ in history),
                    "wall_s": time.time() - t0,
                }
                if name != "nni_random":
                    pop = list(strategy._population)
                    pagg = population_agg([m.y for m in pop], AGG_COMPONENTS)
                    record["population_pick_acc"] = accuracy[parse_arch(pop[int(np.argmax(pagg))].x).arch_str]
                records.append(record)
                print(json.dumps(record), flush=True)
                cache_path.parent.mkdir(parents=True, exist_ok=True)
                cache_path.write_text(json.dumps(_CACHE))
    total = time.time() - started_all
    write_report(records, args, total, Path(args.out))
    return 0


_HISTORY: dict = {}


def _evaluate_tagged(model, dataset: str, **options):
    """Evaluator: score (cached by arch string) and remember (arch_str, metrics) for the driver."""
    import nni
    from vkdnw_nni.evaluator import score_model

    from vkdnw_plugin.spaces.nb201 import parse_arch

    arch = parse_arch(_current_sample()).arch_str
    key = f"{dataset}|{arch}"
    if key not in _CACHE:
        _CACHE[key] = score_model(model, **options)
    _HISTORY.setdefault(dataset, []).append((arch, _CACHE[key]))
    nni.report_final_result(_CACHE[key])


def _current_sample() -> dict:
    import nni

    params = nni.get_current_parameter()  # the ExecutableModelSpace under evaluation (sequential engine)
    return dict(params.sample)


def write_report(records, args, total, out: Path) -> None:
    import pandas as pd

    frame = pd.DataFrame(records)
    lines = [
        "# NB201 search through NNI: VKDNW_agg evolution vs NNI Random (equal budget)",
        "",
        "Command (run from the repository root, NNI 3.0 venv, 1 torch thread, 2-core shared CPU):",
        "",
        "```",
        "python benchmarks/nni_search_quality.py " + " ".join(sys.argv[1:] if sys.argv[1:] else []),
        "```",
        "",
        *([getattr(args, "note", ""), ""] if getattr(args, "note", "") else []),
        f"Wall time: {total:.0f} s in total (a shared score cache makes repeated architectures free; see the script).",
        f"Budget: {args.budget} evaluated architectures per run; evolution population P = {args.population}, "
        f"uniform parent, one-choice mutation, no FLOPs budget; scoring batch {args.batch_size} of randn at the "
        "dataset's resolution (32, 16 for ImageNet16-120), reference mode, seed 0 for the network init.",
        "Chosen architecture of a run = best VKDNW_agg (VKDNW_single, jacov, expressivity, trainability, FLOPs; "
        "Σ log rank/N) over all architectures that run evaluated. Accuracies: NB201 200-epoch test accuracy "
        "(c10_test / c100_test / in16_test).",
        "",
        "| dataset | strategy | seeds | chosen acc (mean ± sd) | regret vs space optimum | best acc among evaluated | evolution: final-population pick |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for (dataset, strategy), group in frame.groupby(["dataset", "strategy"], sort=False):
        pop = f"{group['population_pick_acc'].mean():.2f}" if "population_pick_acc" in group and group["population_pick_acc"].notna().any() else "-"
        lines.append(
            f"| {dataset} | {strategy} | {len(group)} | {group['chosen_acc'].mean():.2f} ± {group['chosen_acc'].std(ddof=0):.2f} | "
            f"{(group['optimum'] - group['chosen_acc']).mean():.2f} (optimum {group['optimum'].iloc[0]:.2f}) | "
            f"{group['best_evaluated_acc'].mean():.2f} | {pop} |"
        )
    lines += ["", "Per run:", "", "| dataset | seed | strategy | evaluated | chosen acc | wall s | chosen arch |", "| --- | --- | --- | --- | --- | --- | --- |"]
    for r in records:
        lines.append(f"| {r['dataset']} | {r['seed']} | {r['strategy']} | {r['evaluated']} | {r['chosen_acc']:.2f} | {r['wall_s']:.0f} | `{r['chosen']}` |")
    out.write_text("\n".join(lines) + "\n")
    print(out)


if __name__ == "__main__":
    sys.exit(main())
