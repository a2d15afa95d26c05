"""Score 8 NAS-Bench-201 networks with VKDNW and rank them (VKDNW_single); show true accuracy when
the NB201 table is available (VKDNW_SHARED or VKDNW_NB201_TABLE). Uses the same seeded protocol as
``vkdnw score`` (seed 0, batch 64, CIFAR-10), so the numbers match it. Measured run time: docs/examples.md.

    python examples/score_and_rank_nb201.py [--threads 1]
"""

import argparse

from vkdnw_plugin.groundtruth import accuracy_by_arch
from vkdnw_plugin.options import DEFAULT_THREADS, use_threads
from vkdnw_plugin.ranking import vkdnw_single_rank
from vkdnw_plugin.scoring import score_architecture
from vkdnw_plugin.spaces.nb201 import parse_arch

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|",
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|nor_conv_1x1~0|+|nor_conv_1x1~0|nor_conv_1x1~1|+|nor_conv_1x1~0|nor_conv_1x1~1|nor_conv_1x1~2|",
    "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|",
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|+|skip_connect~0|skip_connect~1|skip_connect~2|",
    "|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|nor_conv_3x3~2|",
    "|avg_pool_3x3~0|+|avg_pool_3x3~0|avg_pool_3x3~1|+|avg_pool_3x3~0|avg_pool_3x3~1|avg_pool_3x3~2|",
    "|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|",
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help="torch threads (default %(default)s)")
    args = parser.parse_args()
    use_threads(args.threads)
    results = [score_architecture("nb201", arch, seed=0)["reference"] for arch in ARCHS]
    ranks = vkdnw_single_rank(results)
    accuracy = accuracy_by_arch("cifar10")  # None without the NB201 table
    print(f"{'rank':>4} {'dim':>4} {'entropy':>8} {'C10 acc':>8}  arch (NASLib tuple)")
    for i in sorted(range(len(ARCHS)), key=lambda i: -ranks[i]):
        acc = f"{accuracy[ARCHS[i]]:8.2f}" if accuracy is not None else "       ?"
        print(f"{ranks[i]:4.0f} {results[i].dim:4d} {results[i].entropy:8.4f} {acc}  {parse_arch(ARCHS[i]).naslib}")


if __name__ == "__main__":
    main()
