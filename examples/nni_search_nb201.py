"""VKDNW_agg rank-aggregation evolution on NNI's own NAS-Bench-201 space (NNI 3.0 ``NasExperiment``,
sequential engine, no web server), under a FLOPs budget; prints the top architectures with their
true CIFAR-10 test accuracy when the NB201 table is available. Measured run time: docs/examples.md.

    pip install -e ".[nni]"
    python examples/nni_search_nb201.py [--trials 12] [--population 5] [--max-mflops 100] [--seed 0]
"""

import argparse
import logging

from nni.nas.hub.pytorch import NasBench201
from vkdnw_nni import VKDNWAggEvolution, run_local_search, vkdnw_evaluator

from vkdnw_plugin.groundtruth import accuracy_by_arch
from vkdnw_plugin.spaces.nb201 import parse_arch


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--population", type=int, default=5)
    parser.add_argument("--max-mflops", type=float, default=100.0, help="M MACs at 32x32 (NB201 spans 7.8..220)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("nni").setLevel(logging.WARNING)

    strategy = VKDNWAggEvolution(population_size=args.population, max_mflops=args.max_mflops, flops_resolution=32, seed=args.seed)
    # the paper scores batch 64 at 32x32; batch 16 keeps this example short
    evaluator = vkdnw_evaluator(batch=16, resolution=32)
    run_local_search(NasBench201(), evaluator, strategy, args.trials)

    accuracy = accuracy_by_arch("cifar10")  # None without the NB201 table
    print(f"scored {len(strategy.history)} architectures, skipped {strategy.rejected_over_budget} samples over "
          f"{args.max_mflops:g} MFLOPs before scoring, {strategy.failed} failed")
    print(f"{'VKDNW_agg':>9}  {'MFLOPs':>6}  {'dim':>3}  {'C10 acc':>7}  arch")
    for entry in strategy.top_architectures(5):
        arch = parse_arch(entry["arch"]).arch_str
        acc = f"{accuracy[arch]:7.2f}" if accuracy is not None else "      ?"
        print(f"{entry['vkdnw_agg']:9.2f}  {entry['flops']:6.1f}  {entry['vkdnw_dim']:3d}  {acc}  {arch}")
    if accuracy is not None:
        scored = [accuracy[parse_arch(s).arch_str] for s, _ in strategy.history]
        print(f"best true accuracy among the scored: {max(scored):.2f}; space optimum (any FLOPs): {accuracy.max():.2f}; "
              f"median of the space: {accuracy.median():.2f}")


if __name__ == "__main__":
    main()
