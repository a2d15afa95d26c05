"""Zero-cost search on NB201 inside NASLib: RE with VKDNW / VKDNW_agg / synflow / jacov fitness and
random search, same budget, several seeds. Needs NASLib (see integrations/vkdnw_naslib/README.md).

    python benchmarks/naslib_search_compare.py --seeds 0 1 2 --epochs 30 --out benchmarks/results/naslib_search.md

Each run goes through ``vkdnw_naslib.search.run_search`` (the same code as ``vkdnw-naslib search``)
with ``configs/naslib_re_vkdnw.yaml`` and overrides; per-run JSON files in ``--work`` make it
resume-safe.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import numpy as np

METHODS = [
    ("re", "vkdnw"),
    ("re", "vkdnw_agg"),
    ("re", "synflow"),
    ("re", "jacov"),
    ("rs", "vkdnw"),
    ("rs", "synflow"),
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config-file", default="configs/naslib_re_vkdnw.yaml")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--population-size", type=int, default=10)
    parser.add_argument("--sample-size", type=int, default=3)
    parser.add_argument("--methods", nargs="+", default=[f"{o}:{f}" for o, f in METHODS])
    parser.add_argument("--work", default="/tmp/vkdnw_naslib_search")
    parser.add_argument("--out", default="benchmarks/results/naslib_search.md")
    args = parser.parse_args(argv)

    import vkdnw_naslib  # noqa: F401
    from vkdnw_naslib.config import load_config
    from vkdnw_naslib.search import run_search

    started = time.time()
    results = []
    for seed in args.seeds:
        shared = {}  # (spec, measure) -> (score, seconds): same seed, same batch, same init per arch
        for method in args.methods:
            optimizer, fitness = method.split(":")
            path = Path(args.work) / f"seed{seed}_{optimizer}_{fitness}.json"
            if path.is_file():
                results.append(json.loads(path.read_text()))
                continue
            overrides = [
                "seed", str(seed), "out_dir", args.work, "predictor", fitness,
                "search.epochs", str(args.epochs), "search.population_size", str(args.population_size),
                "search.sample_size", str(args.sample_size),
            ]  # fmt: skip
            config = load_config(args.config_file, overrides)
            result = run_search(config, fitness=fitness, optimizer=optimizer, shared_scores=shared)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(result, indent=1))
            results.append(result)
            print(f"seed {seed} {optimizer}+{fitness}: test {result['test_accuracy']:.2f} "
                  f"({result['n_scored']} scored, {result['wall_seconds']:.0f} s)", flush=True)
    wall = time.time() - started

    from vkdnw_plugin.groundtruth import load_nb201_table

    table = load_nb201_table()
    best = float(table["c10_test"].max())
    lines = [
        "# Zero-cost search on NAS-Bench-201 (CIFAR-10) inside NASLib",
        "",
        f"Command: `{' '.join(shlex.quote(a) for a in ['python', *sys.argv])}`",
        f"Wall time of this invocation: {wall:.0f} s (runs already on disk are reused). 2-core shared CPU, 1 torch thread.",
        "Scoring seconds = sum of the zero-cost computations of every network a run scored (scores shared "
        "between runs of the same seed count with their original cost); wall_seconds in the JSON is the "
        "run's own wall time with that reuse.",
        "",
        f"Budget: {args.epochs} networks queried per run (RE: population {args.population_size}, tournament "
        f"{args.sample_size}); batch 64 of random 32×32 inputs; seeds {', '.join(map(str, args.seeds))}. "
        "Accuracy: CIFAR-10 test accuracy (200 epochs, seed mean) of the picked architecture from the shared NB201 table. "
        f"Best in NB201: {best:.2f}.",
        "",
        "| method | test acc. mean ± std | per seed | networks scored (mean) | scoring s per run (mean) | best acc. among scored (mean) |",
        "|---|---|---|---|---|---|",
    ]
    for method in args.methods:
        optimizer, fitness = method.split(":")
        runs = [r for r in results if r["optimizer"] == optimizer and r["fitness"] == fitness]
        if not runs:
            continue
        acc = np.array([r["test_accuracy"] for r in runs])
        name = ("RE" if optimizer == "re" else "RS") + " + " + fitness
        lines.append(
            f"| {name} | {acc.mean():.2f} ± {acc.std():.2f} | {', '.join(f'{a:.2f}' for a in acc)} | "
            f"{np.mean([r['n_scored'] for r in runs]):.1f} | {np.mean([r['score_seconds'] for r in runs]):.0f} | "
            f"{np.mean([r['best_test_accuracy_among_scored'] for r in runs]):.2f} |"
        )
    rand = np.array([r["mean_test_accuracy_of_scored"] for r in results if r["optimizer"] == "rs"])
    if rand.size:
        lines += ["", f"Random pick without a proxy (mean test accuracy of the random-search samples): {rand.mean():.2f}."]
    lines += ["", "Per-run JSON (picked architecture, scores, counters):", "", "```"]
    lines += [json.dumps({k: r[k] for k in ("optimizer", "fitness", "seed", "picked_arch_str", "test_accuracy",
                                            "n_scored", "n_queries", "score_seconds", "wall_seconds")}) for r in results]
    lines += ["```", ""]
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text("\n".join(lines))
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
