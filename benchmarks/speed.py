"""VKDNW engine vs a naive ``vmap(jacrev)`` of the same quantity, side by side in one run.

For each of N seeded random NB201 architectures (batch 64, authors' init and input protocol) it
times, in separate child processes (so peak RSS is per method): the engine (``vkdnw_score``,
reference mode), the naive vmap(jacrev) Jacobian + the same Fisher/spectrum, and the floor
"1 forward + K input-gradient backward passes" (K = min(C, 64)); with ``--ablate-bn`` also the engine
with torch's own BatchNorm backward. Prints medians and ratios, and the compute rate each target would
need: (1 + K) forward-equivalents of FLOPs (torch's FLOP counter; a convolution's input-gradient costs
its forward's FLOPs) per target second, next to the rate the floor reaches and a float32 GEMM's rate on
the same threads.

    python benchmarks/speed.py --archs 20 --dataset cifar10 [--threads 2] [--naive-archs 5]
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time


def measure(method: str, arch: str, dataset: str, threads: int) -> dict:
    import torch

    from vkdnw_plugin.engine import logits_of, vkdnw_score
    from vkdnw_plugin.scoring import reference_setup
    from vkdnw_plugin.spaces.nb201 import dataset_shape, nb201_network

    torch.set_num_threads(threads)
    classes, res = dataset_shape(dataset)
    model, x = reference_setup(lambda: nb201_network(arch, classes), 0, (64, 3, res, res))
    start = time.perf_counter()
    if method == "engine":
        entropy = vkdnw_score(model, x, modes="reference").entropy
    elif method == "engine_native_bn":  # ablation: the engine with torch's own BatchNorm backward
        import contextlib

        import vkdnw_plugin.engine.jacobian as engine

        engine._cheap_eval_batchnorm = lambda model: contextlib.nullcontext()
        entropy = vkdnw_score(model, x, modes="reference").entropy
    elif method == "naive":
        from naive import naive_entropy

        entropy = naive_entropy(model, x)
    elif method == "gemm":  # the machine's float32 matrix-multiply rate on these threads
        a, b = torch.randn(2048, 2048), torch.randn(2048, 2048)
        a @ b
        start = time.perf_counter()
        for _ in range(10):
            a @ b
        return {"gflops": 10 * 2 * 2048**3 / (time.perf_counter() - start) / 1e9}
    else:  # floor: one forward with grad, K backward passes to the input only
        from torch.utils.flop_counter import FlopCounterMode

        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(x)
        forward_flops = counter.get_total_flops()
        start = time.perf_counter()
        for p in model.parameters():
            p.requires_grad_(False)
        x.requires_grad_(True)
        logits = logits_of(model(x))
        for k in range(min(classes, 64)):
            torch.autograd.grad(logits[:, k].sum(), x, retain_graph=True)
        seconds = time.perf_counter() - start
        equivalents = 1 + min(classes, 64)
        return {"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                "forward_gflop": forward_flops / 1e9, "work_gflop": equivalents * forward_flops / 1e9}  # fmt: skip
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": seconds, "peak_rss_mb": peak_mb, "entropy": entropy}


def child(method, arch, dataset, threads) -> dict:
    out = subprocess.run(
        [sys.executable, __file__, "--child", method, arch, dataset, str(threads)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(measure(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))))
        return
    from vkdnw_plugin.spaces.nb201 import OPS, NB201Arch

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=20)
    parser.add_argument("--naive-archs", type=int, default=5, help="naive vmap(jacrev) on the first N archs only")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--target", type=float, help="target seconds per network (default: the issue's 0.7 / 1.5)")
    parser.add_argument("--ablate-bn", action="store_true", help="also time the engine with native BatchNorm backward")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    archs = [NB201Arch(tuple(rng.choice(OPS) for _ in range(6))).arch_str for _ in range(args.archs)]
    rows = []
    for i, arch in enumerate(archs):
        row = {"arch": arch, "engine": child("engine", arch, args.dataset, args.threads)}
        row["floor"] = child("floor", arch, args.dataset, args.threads)
        if args.ablate_bn:
            row["native_bn"] = child("engine_native_bn", arch, args.dataset, args.threads)
        if i < args.naive_archs:
            row["naive"] = child("naive", arch, args.dataset, args.threads)
        rows.append(row)
        naive = row.get("naive", {}).get("seconds", float("nan"))
        print(
            f"{i:2d} engine {row['engine']['seconds']:6.2f}s {row['engine']['peak_rss_mb']:6.0f}MB  "
            f"floor {row['floor']['seconds']:6.2f}s  naive {naive:6.2f}s  {arch}",
            flush=True,
        )
    med = lambda key, field: statistics.median(r[key][field] for r in rows if key in r)  # noqa: E731
    paired = [r for r in rows if "naive" in r]
    target = args.target or (0.7 if args.dataset.lower().startswith("cifar") else 1.5)
    print(f"\n{args.dataset}, batch 64, {len(rows)} archs, {args.threads} threads")
    peak_max = max(r["engine"]["peak_rss_mb"] for r in rows)
    print(f"engine  median {med('engine', 'seconds'):.2f} s, peak RSS median {med('engine', 'peak_rss_mb'):.0f} MB, max {peak_max:.0f} MB")
    print(f"floor   median {med('floor', 'seconds'):.2f} s (1 forward + K input backward passes)")
    print(f"engine / floor  median ratio {statistics.median(r['engine']['seconds'] / r['floor']['seconds'] for r in rows):.2f}")
    work = statistics.median(r["floor"]["work_gflop"] for r in rows)
    floor_rate = statistics.median(r["floor"]["work_gflop"] / r["floor"]["seconds"] for r in rows)
    gemm = child("gemm", archs[0], args.dataset, args.threads)["gflops"]
    print(f"work    median {work:.1f} GFLOP per network (1 + K forward-equivalents, forward median "
          f"{statistics.median(r['floor']['forward_gflop'] for r in rows):.2f} GFLOP)")
    print(f"rates   floor reaches {floor_rate:.0f} GFLOP/s; a {target:g} s target needs {work / target:.0f} GFLOP/s; "
          f"float32 2048x2048 GEMM here {gemm:.0f} GFLOP/s")
    if args.ablate_bn:
        print(f"engine with native BatchNorm backward  median {med('native_bn', 'seconds'):.2f} s; "
              f"its time / engine's median ratio {statistics.median(r['native_bn']['seconds'] / r['engine']['seconds'] for r in rows):.2f}")
    if paired:
        print(f"naive   median {med('naive', 'seconds'):.2f} s, peak RSS median {med('naive', 'peak_rss_mb'):.0f} MB ({len(paired)} archs)")
        print(f"naive / engine  median speed-up {statistics.median(r['naive']['seconds'] / r['engine']['seconds'] for r in paired):.1f}x, "
              f"max |entropy difference| {max(abs(r['naive']['entropy'] - r['engine']['entropy']) for r in paired):.1e}")


if __name__ == "__main__":
    main()
