"""VKDNW_single and VKDNW_agg next to NASLib's 13 built-in proxies (this package's implementations) on
12 seeded NB201 architectures, Kendall τ against CIFAR-10 test accuracy. Needs the NB201 table
(VKDNW_SHARED). Measured run time: docs/examples.md. For NASLib's own code, see `vkdnw-naslib compare`.

    python examples/compare_with_builtin_proxies.py [--threads 1]
"""

import argparse

import numpy as np

from vkdnw_plugin.groundtruth import load_nb201_table, nb201_accuracy, select_archs
from vkdnw_plugin.metrics import kendall_tau
from vkdnw_plugin.options import DEFAULT_THREADS, use_threads
from vkdnw_plugin.proxies import NASLIB_PROXIES, compute_proxies
from vkdnw_plugin.ranking import aggregate_ranks
from vkdnw_plugin.scoring import seeded_setup
from vkdnw_plugin.vkdnw_options import VKDNWOptions

EXTRA = ["vkdnw_single", "az_expressivity", "az_trainability"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads (default %(default)s)")
    args = parser.parse_args()
    use_threads(args.threads)
    table = load_nb201_table()
    sample = select_archs(table, "sample:12", seed=0)
    names = list(NASLIB_PROXIES) + EXTRA
    scores = {name: [] for name in names}
    for arch in sample.arch_str:
        model, inputs = seeded_setup("nb201", arch, VKDNWOptions(seed=0, batch=64))[:2]
        for name, value in compute_proxies(model, inputs, names).items():
            scores[name].append(value)
    scores = {name: np.array(values) for name, values in scores.items()}
    scores["vkdnw_agg"] = aggregate_ranks(scores)
    accuracy = nb201_accuracy(sample, "cifar10").to_numpy()
    print(f"Kendall tau vs CIFAR-10 test accuracy, {len(accuracy)} architectures:")
    for name in sorted(scores, key=lambda n: -kendall_tau(accuracy, scores[n])):
        print(f"  {name:16s} {kendall_tau(accuracy, scores[name]):+.3f}")


if __name__ == "__main__":
    main()
