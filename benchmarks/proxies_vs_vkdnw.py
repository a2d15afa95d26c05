"""Cost of every registered proxy on one network (``compute_proxies`` with all names, VKDNW included)
against VKDNW alone, side by side on the same seeded NB201 networks. Prints per-network times and
the median ratio (issue target: ≤ 3).

    python benchmarks/proxies_vs_vkdnw.py --archs 10 --dataset cifar10 --threads 1
"""

import argparse
import random
import statistics
import time
import warnings

import torch

from vkdnw_plugin.engine import vkdnw_score
from vkdnw_plugin.proxies import compute_proxies, list_proxies
from vkdnw_plugin.scoring import reference_setup
from vkdnw_plugin.spaces.nb201 import OPS, NB201Arch, dataset_shape, nb201_network


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archs", type=int, default=10)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    classes, res = dataset_shape(args.dataset)
    rng = random.Random(args.seed)
    ratios = []
    for i in range(args.archs):
        arch = NB201Arch(tuple(rng.choice(OPS) for _ in range(6)))
        model, inputs = reference_setup(lambda: nb201_network(arch, classes), 0, (64, 3, res, res))
        start = time.perf_counter()
        vkdnw_score(model, inputs)
        alone = time.perf_counter() - start
        start = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compute_proxies(model, inputs, list_proxies())
        everything = time.perf_counter() - start
        ratios.append(everything / alone)
        print(f"{i:2d} vkdnw {alone:6.2f}s  all {len(list_proxies())} proxies {everything:6.2f}s  ratio {ratios[-1]:.2f}  {arch}", flush=True)
    print(f"\n{args.dataset}, batch 64, {args.threads} thread(s): median ratio all/vkdnw {statistics.median(ratios):.2f} "
          f"(min {min(ratios):.2f}, max {max(ratios):.2f}) over {len(ratios)} networks")


if __name__ == "__main__":
    main()
