"""NAS-Bench-Macro (MobileNetV2 blocks, CIFAR-10): VKDNW ranking quality vs params/FLOPs on N codes.

Scores N random codes (seeded) with the adapter's in-process scorer (``vkdnw_nni.evaluator.score_model``,
the same one the NNI evaluator and trial use) on the core builder ``nas_bench_macro_network``, with the
authors' MobileNetV2 settings (128 random tensors, 11 quantiles), and reports Kendall τ / Spearman of
VKDNW_single, VKDNW_agg (aggregated over the N codes), params and FLOPs against the benchmark's mean
CIFAR-10 test accuracy.

    python benchmarks/nni_macro_ranking.py --n 200 --batch-size 32 --out benchmarks/results/nni_macro_ranking.md
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="benchmarks/results/nni_macro_ranking.md")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    from vkdnw_nni.evaluator import score_model
    from vkdnw_nni.tuner import population_fitness as population_agg

    from vkdnw_plugin.groundtruth import load_nas_bench_macro
    from vkdnw_plugin.metrics import kendall_tau, spearman
    from vkdnw_plugin.ranking import AGG_COMPONENTS
    from vkdnw_plugin.spaces.nas_bench_macro import nas_bench_macro_network

    bench = load_nas_bench_macro()
    sample = bench.sample(n=args.n, random_state=args.seed)
    code_col = "code" if "code" in sample.columns else sample.columns[0]
    t0 = time.time()
    rows = []
    for _, rec in sample.iterrows():
        code = str(rec[code_col]).zfill(8)
        metrics = score_model(nas_bench_macro_network(code), batch_size=args.batch_size, resolution=32,
                              tensor_policy="random", n_quantiles=11, seed=0)
        rows.append({"code": code, "acc": float(rec["mean_acc"]), **metrics})
        if len(rows) % 20 == 0:
            print(len(rows), time.time() - t0, flush=True)
    wall = time.time() - t0
    acc = np.array([r["acc"] for r in rows])
    def column(name):
        return np.array([r[name] if r[name] is not None else np.nan for r in rows], dtype=float)

    single = column("vkdnw_single")
    agg = population_agg(rows, AGG_COMPONENTS)
    entries = {
        "VKDNW_single (dim, entropy)": single,
        "VKDNW_agg (VKDNW, jacov, expressivity, trainability, FLOPs)": agg,
        "entropy only": column("vkdnw"),
        "params": np.array([r["params"] for r in rows]),
        "FLOPs": np.array([r["flops"] for r in rows]),
    }
    lines = [
        "# NAS-Bench-Macro: VKDNW ranking quality vs params / FLOPs",
        "",
        "```",
        f"python benchmarks/nni_macro_ranking.py {' '.join(sys.argv[1:])}",
        "```",
        "",
        f"{args.n} codes drawn with `DataFrame.sample(n={args.n}, random_state={args.seed})` from the shared "
        "NAS-Bench-Macro CIFAR-10 results (mean of 3 training seeds); networks from "
        f"`vkdnw_plugin.spaces.nas_bench_macro.nas_bench_macro_network`; batch {args.batch_size} randn at 32×32, reference mode, "
        "128 random tensors, 11 quantiles (the authors' MobileNetV2 settings), init seed 0, 1 torch thread.",
        f"Scoring wall time: {wall:.0f} s ({wall / args.n:.1f} s per network, shared 2-core CPU under load).",
        "",
        "| ranking by | Kendall τ | Spearman ρ |",
        "| --- | ---: | ---: |",
    ]
    for name, score in entries.items():
        lines.append(f"| {name} | {kendall_tau(acc, score):.3f} | {spearman(acc, score):.3f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    Path(args.out).with_suffix(".json").write_text(json.dumps(rows))
    print(Path(args.out).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
