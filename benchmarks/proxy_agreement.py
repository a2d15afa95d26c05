"""Agreement of our proxies with NAS-Bench-Suite-Zero's NASLib scores on NAS-Bench-201 / CIFAR-10.

For ``--n-archs`` architectures drawn (seeded) from the 9,445 unique NB201 cells, build the
TinyNetwork (C=16, N=5, 10 classes; PyTorch default init, seeded per architecture), score it on one
batch of ``torch.randn(64, 3, 32, 32)`` (seeded) with NASLib's 13 proxies and compare with the
Suite-Zero table (NASLib on real CIFAR-10 batches) by Spearman's ρ over the architectures.

    python benchmarks/proxy_agreement.py --n-archs 120            # ~15 min on 1 CPU thread
    python benchmarks/proxy_agreement.py --n-archs 120 --resume   # continue an interrupted run

Scores are appended to ``benchmarks/results/proxy_agreement_cifar10.csv`` as they are computed;
the report goes to ``benchmarks/results/proxy_agreement_cifar10.md``. Needs the shared data folder
(``$VKDNW_SHARED``, default ``../shared``).
"""

from __future__ import annotations

import argparse
import csv
import math
import platform
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from scipy.stats import spearmanr

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vkdnw_plugin.paths import shared_dir  # noqa: E402
from vkdnw_plugin.proxies import NASLIB_PROXIES, compute_proxies  # noqa: E402
from vkdnw_plugin.proxies.flops import naslib_flops  # noqa: E402
from vkdnw_plugin.spaces.nb201 import nb201_network  # noqa: E402

SUITE_ZERO = "data/nb201/suite_zero_proxies_cifar10_9445.csv"
RESULTS = ROOT / "benchmarks" / "results"

EXPLANATIONS = {
    "flops": "Same unit (M multiply-accumulates per sample). NASLib's tensorwatch count also adds "
    "BatchNorm/ReLU/pooling element operations; `naslib_flops` reproduces it exactly (row below).",
    "params": "Exact: identical parameter counts.",
    "l2_norm": "Data-free; differs only by the random initialisation draw.",
    "synflow": "Data-free (all-ones input, absolute weights, no BatchNorm); differs only by the initialisation draw.",
    "zen": "Data-free (Gaussian inputs and Gaussian weights drawn inside the proxy); differs only by random draws.",
    "nwot": "Forward-only, label-free; real CIFAR-10 images vs Gaussian noise change the activation "
    "patterns but hardly the ranking.",
    "jacov": "Label-free, but the input-gradient correlations depend on the input distribution: NASLib "
    "used real CIFAR-10 images, we use Gaussian noise.",
    "epe_nas": "Needs labels: NASLib used the true CIFAR-10 labels of real images; we use random labels "
    "on Gaussian noise, so the per-class grouping is arbitrary.",
    "grad_norm": "Needs labels: cross-entropy gradients of real images with true labels vs Gaussian noise "
    "with random labels.",
    "snip": "Needs labels (as grad_norm).",
    "grasp": "Needs labels (as grad_norm); a Hessian-gradient product, the noisiest of the gradient proxies.",
    "fisher": "Needs labels (as grad_norm).",
    "plain": "Needs labels; a signed sum of W·∂L/∂W that nearly cancels, so it is dominated by the data "
    "and label draw (low agreement is expected even between two NASLib runs).",
}


def sample_archs(table: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return table.iloc[np.sort(rng.choice(len(table), size=n, replace=False))]


def score_arch(net_tuple, index: int, seed: int, batch: int, proxies) -> dict:
    torch.manual_seed(seed * 100_003 + index)
    net = nb201_network(net_tuple, num_classes=10)
    gen = torch.Generator().manual_seed(seed * 7_919 + index)
    x = torch.randn(batch, 3, 32, 32, generator=gen)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scores = compute_proxies(net, x, proxies, num_classes=10, seed=seed + index)
    scores["seconds"] = time.perf_counter() - start
    if "flops" in proxies:
        scores["flops_naslib"] = naslib_flops(net, x)
    return scores


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n-archs", type=int, default=120)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a shared 2-core box)")
    parser.add_argument("--proxies", nargs="*", default=list(NASLIB_PROXIES))
    parser.add_argument("--resume", action="store_true", help="keep rows already in the scores CSV")
    parser.add_argument("--out", type=Path, default=RESULTS / "proxy_agreement_cifar10")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    table_path = shared_dir() / SUITE_ZERO
    if not table_path.is_file():
        print(f"Suite-Zero table not found at {table_path}; set VKDNW_SHARED", file=sys.stderr)
        return 2
    table = pd.read_csv(table_path)
    chosen = sample_archs(table, args.n_archs, args.seed)

    csv_path = args.out.with_suffix(".csv")
    csv_path.parent.mkdir(parents=True, exist_ok=True)
    done = {}
    if args.resume and csv_path.is_file():
        done = {row["net_str"]: row for row in csv.DictReader(open(csv_path))}
    columns = ["net", "net_str", *args.proxies] + (["flops_naslib"] if "flops" in args.proxies else []) + ["seconds"]
    mode = "a" if args.resume and csv_path.is_file() else "w"
    try:
        from tqdm import tqdm
    except ImportError:  # pragma: no cover
        tqdm = None
    rows = chosen.itertuples()
    if tqdm is not None:
        rows = tqdm(list(rows), desc="archs")
    with open(csv_path, mode, newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        if mode == "w":
            writer.writeheader()
        for row in rows:
            if row.net_str in done:
                continue
            scores = score_arch(eval(row.net), int(row.Index), args.seed, args.batch, args.proxies)
            writer.writerow({"net": row.net, "net_str": row.net_str, **scores})
            handle.flush()

    ours = pd.read_csv(csv_path)
    ours = ours[ours["net_str"].isin(set(chosen["net_str"]))].drop_duplicates("net_str")
    merged = ours.merge(table, on="net_str", suffixes=("", "_suite"))
    lines = [
        "# Proxy agreement with NAS-Bench-Suite-Zero (NB201, CIFAR-10)",
        "",
        f"{len(merged)} architectures drawn with seed {args.seed} from the 9,445 unique NB201 cells; "
        f"our scores on one batch of `torch.randn({args.batch}, 3, 32, 32)` (random labels where needed) "
        "vs NASLib's scores in the Suite-Zero table (real CIFAR-10 batches). Spearman ρ over architectures.",
        "",
        f"Command: `python benchmarks/proxy_agreement.py --n-archs {args.n_archs} --seed {args.seed} "
        f"--batch {args.batch} --threads {args.threads}`  ",
        f"Machine: {platform.machine()} {platform.system()}, torch {torch.__version__}, "
        f"{args.threads} thread(s); mean {merged['seconds'].mean():.1f} s per architecture for all proxies.",
        "",
        "| proxy | Spearman ρ | NaN (ours) | note |",
        "| --- | ---: | ---: | --- |",
    ]
    for name in args.proxies:
        ok = merged[[name, f"{name}_suite"]].replace([np.inf, -np.inf], np.nan).dropna()
        rho = spearmanr(ok[name], ok[f"{name}_suite"]).statistic if len(ok) > 2 else math.nan
        nan_count = int(merged[name].isna().sum())
        lines.append(f"| {name} | {rho:.3f} | {nan_count} | {EXPLANATIONS.get(name, '')} |")
        if name == "flops":
            exact = np.abs(merged["flops_naslib"] - merged["flops_suite"]).max()
            rho2 = spearmanr(merged["flops_naslib"], merged["flops_suite"]).statistic
            lines.append(
                f"| flops (`naslib_flops`) | {rho2:.3f} | 0 | NASLib/tensorwatch convention; max abs difference {exact:.2e} M. |"
            )
    report = "\n".join(lines) + "\n"
    args.out.with_suffix(".md").write_text(report)
    print(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
