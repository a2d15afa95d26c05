"""Seconds per network on a device (``cuda`` or ``cpu``): the median over N seeded random networks of
each setting, scored by ``vkdnw_score`` (reference mode, ``direction="auto"``), after one warm-up
network. Settings: NB201 CIFAR-10 and ImageNet16-120 at batch 64 (the paper's protocol), and
NAS-Bench-Macro networks with 10 classes at 32×32 and with 1000 classes at 224×224 (the paper's
MobileNetV2 search setting: batch 64, 1000 classes, 224×224). Prints networks per hour too.

    python benchmarks/devices.py --device cuda [--networks 20] [--batch 64]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

SETTINGS = [  # (space, dataset or classes, resolution)
    ("nb201", "cifar10", 32),
    ("nb201", "ImageNet16-120", 16),
    ("nas-bench-macro", 10, 32),
    ("nas-bench-macro", 1000, 224),
]


def factories(space, classes_or_dataset, n, seed):
    """``n`` (label, model factory, tensor policy, quantiles) of random architectures of ``space``."""
    rng = random.Random(seed)
    if space == "nb201":
        from vkdnw_plugin.spaces.nb201 import OPS, NB201Arch, dataset_shape, nb201_network

        classes, _ = dataset_shape(classes_or_dataset)
        for _ in range(n):
            arch = NB201Arch(tuple(rng.choice(OPS) for _ in range(6))).arch_str
            yield arch, (lambda a=arch: nb201_network(a, classes)), "first", 9
    else:
        from vkdnw_plugin.spaces.nas_bench_macro import nas_bench_macro_network

        for _ in range(n):
            code = "".join(rng.choice("012") for _ in range(8))
            yield code, (lambda c=code: nas_bench_macro_network(c, classes_or_dataset)), "random", 11


def main() -> None:
    import torch

    from vkdnw_plugin.engine import vkdnw_score
    from vkdnw_plugin.scoring import reference_setup

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--networks", type=int, default=20)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    name = torch.cuda.get_device_name(0) if args.device.startswith("cuda") else f"CPU, {args.threads} thread(s)"
    print(f"{name}, torch {torch.__version__}, batch {args.batch}, reference mode, direction auto, median of "
          f"{args.networks} networks after one warm-up")  # fmt: skip
    print(f"{'space':16} {'data':>15} {'px':>4} {'median s':>9} {'min s':>7} {'max s':>7} {'nets/hour':>10}")
    for space, data, resolution in SETTINGS:
        seconds = []
        for index, (_, factory, policy, quantiles) in enumerate(factories(space, data, args.networks + 1, args.seed)):
            model, x = reference_setup(factory, index, (args.batch, 3, resolution, resolution), args.device)
            start = time.perf_counter()
            vkdnw_score(model, x, modes="reference", tensor_policy=policy, n_quantiles=quantiles)
            if index:  # the first network warms up kernels and caches
                seconds.append(time.perf_counter() - start)
        median = statistics.median(seconds)
        print(f"{space:16} {data!s:>15} {resolution:>4} {median:9.3f} {min(seconds):7.3f} {max(seconds):7.3f} "
              f"{3600 / median:10.0f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
