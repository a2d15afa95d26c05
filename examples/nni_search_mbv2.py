"""MobileNetV2-style search as in the paper, on NNI's ProxylessNAS space (inverted-residual blocks,
ImageNet-shaped): VKDNW_agg rank-aggregation evolution under a FLOPs budget counted at 224x224.
Every sample is FLOPs-checked before it costs a trial. VKDNW uses the authors' MobileNetV2 variant
(128 random tensors, 11 quantiles); on a CPU it scores at batch 8, 32x32, 10 classes (the paper:
batch 64 at 224x224, 1000 classes; set --batch/--resolution/--classes for that on a GPU).
About 1-2 minutes on 2 CPU cores.

    pip install -e ".[nni]"
    python examples/nni_search_mbv2.py [--trials 12] [--max-mflops 330]
"""

import argparse
import logging

from nni.nas.hub.pytorch import ProxylessNAS
from vkdnw_nni import VKDNWAggEvolution, run_local_search, vkdnw_evaluator

from vkdnw_plugin.evolution import canonical_sample


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=10)
    parser.add_argument("--population", type=int, default=4)
    parser.add_argument("--max-mflops", type=float, default=330.0, help="M MACs at 224x224 (this space spans about 109..693)")
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--resolution", type=int, default=32)
    parser.add_argument("--classes", type=int, default=10)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    logging.getLogger("nni").setLevel(logging.WARNING)

    strategy = VKDNWAggEvolution(population_size=args.population, max_mflops=args.max_mflops, flops_resolution=224, seed=args.seed)
    evaluator = vkdnw_evaluator(batch_size=args.batch, resolution=args.resolution, flops_resolution=224,
                                tensor_policy="random", n_quantiles=11, mode="exact")  # fmt: skip
    run_local_search(ProxylessNAS(num_labels=args.classes), evaluator, strategy, args.trials)

    flops = [metrics["flops"] for _, metrics in strategy.history]
    print(f"scored {len(strategy.history)} architectures ({min(flops):.0f}..{max(flops):.0f} MFLOPs at 224x224), "
          f"skipped {strategy.rejected_over_budget} samples over {args.max_mflops:g} MFLOPs before scoring, "
          f"{strategy.failed} failed")
    print(f"{'VKDNW_agg':>9}  {'MFLOPs':>6}  {'params M':>8}  {'dim':>3}  {'entropy':>7}  blocks (depth per stage; kernel/expansion per layer)")
    for entry in strategy.top_architectures(3):
        arch = entry["arch"]
        depths = " ".join(str(arch[k]) for k in sorted(arch) if k.endswith("_depth"))
        used = canonical_sample(arch)  # the choices this network uses (a stage's depth leaves the rest unused)
        layers = " ".join(str(used[k]) for k in sorted(used) if not k.endswith("_depth") and used[k] is not None)
        print(f"{entry['vkdnw_agg']:9.2f}  {entry['flops']:6.1f}  {entry['params']:8.2f}  {entry['vkdnw_dim']:3d}  "
              f"{entry['vkdnw']:7.4f}  depths {depths} | {layers[:60]}...")


if __name__ == "__main__":
    main()
