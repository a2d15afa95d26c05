"""Networks per minute for a batch job: N seeded random NB201 networks (batch 64, the authors' protocol)
scored by W worker processes × T torch threads, idle and next to a competing 2-thread process, for the
engine (``vkdnw_score``, reference mode) and a naive ``vmap(jacrev)`` of the same quantity.

Each arm is one fresh process pool; the competing process (a 2-thread float32 matmul loop) runs for the
whole arm when ``--load`` includes ``busy``. Prints one row per arm and the engine/naive ratio.

    python benchmarks/throughput.py [--archs 100] [--naive-archs 20] [--dataset cifar10] \
        [--layouts 1x1 1x2 2x1] [--load idle busy]
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import statistics
import subprocess
import sys
import time

COMPETITOR = "import torch; torch.set_num_threads(2); a = torch.randn(1024, 1024)\nwhile True: a @ a"


def _init(threads: int) -> None:
    import torch

    torch.set_num_threads(threads)


def score(task) -> float:
    """Seconds to score one network with ``method`` (``engine`` or ``naive``)."""
    method, arch, dataset = task
    from vkdnw_plugin.engine import vkdnw_score
    from vkdnw_plugin.scoring import reference_setup
    from vkdnw_plugin.spaces.nb201 import dataset_shape, nb201_network

    classes, res = dataset_shape(dataset)
    model, x = reference_setup(lambda: nb201_network(arch, classes), 0, (64, 3, res, res))
    start = time.perf_counter()
    if method == "engine":
        vkdnw_score(model, x, modes="reference")
    else:
        from naive import naive_entropy

        naive_entropy(model, x)
    return time.perf_counter() - start


def run_arm(method: str, archs: list[str], dataset: str, workers: int, threads: int) -> dict:
    """Wall time of the whole job in a fresh pool, and the median per-network seconds."""
    start = time.perf_counter()
    with multiprocessing.get_context("spawn").Pool(workers, _init, (threads,)) as pool:
        seconds = pool.map(score, [(method, arch, dataset) for arch in archs], chunksize=1)
    wall = time.perf_counter() - start
    return {"per_minute": 60 * len(archs) / wall, "median_s": statistics.median(seconds), "wall_s": wall}


def main() -> None:
    from vkdnw_plugin.spaces.nb201 import OPS, NB201Arch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=100)
    parser.add_argument("--naive-archs", type=int, default=20, help="the naive method scores the first N only")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--layouts", nargs="+", default=["1x1", "1x2", "2x1"], help="WORKERSxTHREADS")
    parser.add_argument("--load", nargs="+", default=["idle", "busy"], choices=["idle", "busy"])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    archs = [NB201Arch(tuple(rng.choice(OPS) for _ in range(6))).arch_str for _ in range(args.archs)]
    print(f"{args.dataset}, batch 64, engine on {len(archs)} networks, naive on the first {args.naive_archs}")
    print(f"{'load':5} {'workers x threads':>17} {'method':>7} {'nets/min':>9} {'median s/net':>13} {'wall s':>8}")
    for load in args.load:
        competitor = subprocess.Popen([sys.executable, "-c", COMPETITOR]) if load == "busy" else None
        try:
            for layout in args.layouts:
                workers, threads = map(int, layout.split("x"))
                rates = {}
                for method, subset in (("engine", archs), ("naive", archs[: args.naive_archs])):
                    if not subset:
                        continue
                    arm = run_arm(method, subset, args.dataset, workers, threads)
                    rates[method] = arm["per_minute"]
                    print(f"{load:5} {layout:>17} {method:>7} {arm['per_minute']:9.1f} {arm['median_s']:13.2f} "
                          f"{arm['wall_s']:8.0f}", flush=True)  # fmt: skip
                if len(rates) == 2:
                    print(f"{load:5} {layout:>17} engine/naive networks per minute: {rates['engine'] / rates['naive']:.1f}x")
        finally:
            if competitor is not None:
                competitor.kill()
                competitor.wait()


if __name__ == "__main__":
    main()
