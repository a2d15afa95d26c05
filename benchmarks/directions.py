"""Jacobian direction: ``direction="auto"`` vs ``"reverse"`` (and ``"forward"``) on many-class networks,
side by side in one run, each timing in its own child process.

Networks: a NAS-Bench-Macro network (CIFAR 32×32) and, when NNI is installed, a ProxylessNAS
(MobileNetV2-style) network of NNI's space at the shipped config's scoring resolution (64×64), each
with 1000 and with 10 classes, batch 16 and 64. Printed per row: seconds for each direction, the
direction ``auto`` chose, the speed-up auto/reverse, and the ideal forward-mode cost, P plain forward
passes of the batch (P = sampled tensors). Also checks that the directions agree on the entropy.

    python benchmarks/directions.py [--threads 1] [--batches 16 64] [--classes 1000 10] [--repeats 1]
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

MACRO_CODE = "12121212"  # both block kinds in every stage
PROXYLESS_SEED = 0
PROXYLESS_RESOLUTION = 64  # configs/vkdnw_mbv2.yml scores at --resolution 64


def build(network: str, classes: int):
    """``(model factory, input resolution, tensor policy, quantiles)`` as the engine's users score it."""
    if network == "nas-bench-macro":
        from vkdnw_plugin.spaces.nas_bench_macro import nas_bench_macro_network

        return (lambda: nas_bench_macro_network(MACRO_CODE, num_classes=classes)), 32, "random", 11
    import numpy as np
    from vkdnw_nni.spaces import build_space, space_kwargs

    def proxyless():
        space = build_space("proxylessnas", **space_kwargs("proxylessnas", num_classes=classes))
        return space.random(memo={}, random_state=np.random.RandomState(PROXYLESS_SEED))

    return proxyless, PROXYLESS_RESOLUTION, "random", 11


def measure(network: str, classes: int, batch: int, method: str, threads: int) -> dict:
    import torch

    from vkdnw_plugin.engine import plan_jacobian, select_tensors, vkdnw_score
    from vkdnw_plugin.scoring import reference_setup

    torch.set_num_threads(threads)
    factory, resolution, policy, quantiles = build(network, classes)
    model, x = reference_setup(factory, 0, (batch, 3, resolution, resolution))
    names = select_tensors(model, 128, policy)
    if method == "ideal":  # P plain forward passes of the batch
        with torch.no_grad():
            model(x)
            start = time.perf_counter()
            model(x)
            one = time.perf_counter() - start
        return {"seconds": one * len(names), "forward": one, "P": len(names)}
    plan = plan_jacobian(model, x, names)
    start = time.perf_counter()
    result = vkdnw_score(model, x, modes="exact", tensor_policy=policy, n_quantiles=quantiles, direction=method)
    seconds = time.perf_counter() - start
    return {"seconds": seconds, "entropy": result.entropy, "chose": plan.cheaper if method == "auto" else method,
            "K": plan.reverse_passes, "P": len(names)}  # fmt: skip


def child(*args) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *map(str, args)], capture_output=True, text=True)
    if out.returncode:
        raise RuntimeError(f"{args} failed: {out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        network, classes, batch, method, threads = sys.argv[2:7]
        print(json.dumps(measure(network, int(classes), int(batch), method, int(threads))))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batches", type=int, nargs="+", default=[16, 64])
    parser.add_argument("--classes", type=int, nargs="+", default=[1000, 10])
    parser.add_argument("--networks", nargs="+", default=["nas-bench-macro", "proxylessnas"])
    parser.add_argument("--repeats", type=int, default=1, help="median over this many runs of each cell")
    parser.add_argument("--forward", action="store_true", help="also time direction='forward' where auto chose reverse")
    args = parser.parse_args()
    try:
        import vkdnw_nni  # noqa: F401
    except ImportError as error:
        if "proxylessnas" in args.networks:
            print(f"skipping ProxylessNAS: {error}")
            args.networks = [n for n in args.networks if n != "proxylessnas"]
    print(f"{args.threads} torch thread(s), exact mode, seconds are medians of {args.repeats} child process(es)")
    print(f"{'network':16} {'classes':>7} {'batch':>5} {'P':>4} {'K':>5} {'reverse':>8} {'auto':>8} {'chose':>8} "
          f"{'forward':>8} {'ideal':>7} {'rev/auto':>8} {'|dH|':>8}")  # fmt: skip
    for network in args.networks:
        for classes in args.classes:
            for batch in args.batches:
                runs = {m: [child(network, classes, batch, m, args.threads) for _ in range(args.repeats)]
                        for m in ("reverse", "auto", "ideal")}  # fmt: skip
                chose = runs["auto"][0]["chose"]
                if args.forward or chose == "forward":
                    runs["forward"] = runs["auto"] if chose == "forward" else [
                        child(network, classes, batch, "forward", args.threads) for _ in range(args.repeats)]  # fmt: skip
                sec = {m: statistics.median(r["seconds"] for r in rs) for m, rs in runs.items()}
                entropies = [r["entropy"] for m, rs in runs.items() if m != "ideal" for r in rs]
                forward = f"{sec['forward']:8.2f}" if "forward" in sec else f"{'-':>8}"
                print(f"{network:16} {classes:>7} {batch:>5} {runs['auto'][0]['P']:>4} {runs['auto'][0]['K']:>5} "
                      f"{sec['reverse']:8.2f} {sec['auto']:8.2f} {chose:>8} {forward} {sec['ideal']:7.2f} "
                      f"{sec['reverse'] / sec['auto']:7.1f}x {max(entropies) - min(entropies):8.1e}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
