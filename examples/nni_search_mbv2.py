"""MobileNetV2-style search as in the paper, on NNI's ProxylessNAS space (inverted-residual blocks,
ImageNet-shaped): VKDNW_agg rank-aggregation evolution under a FLOPs budget counted at 224x224.
Every sample is FLOPs-checked before it costs a trial. VKDNW uses the authors' MobileNetV2 variant
(128 random tensors, 11 quantiles); on a CPU it scores at batch 8, 32x32, 10 classes (the paper:
batch 64 at 224x224, 1000 classes; set --batch/--resolution/--classes for that on a GPU).
Measured run time: docs/examples.md.

    pip install -e ".[nni]"
    python examples/nni_search_mbv2.py [--trials 10] [--population 4] [--max-mflops 330] [--batch 8] [--resolution 32]
                                        [--classes 10] [--seed 0]
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
    evaluator = vkdnw_evaluator(batch=args.batch, resolution=args.resolution, flops_resolution=224,
                                tensor_policy="random", n_quantiles=11, modes="exact")  # fmt: skip
    run_local_search(ProxylessNAS(num_labels=args.classes), evaluator, strategy, args.trials)

    flops = [metrics["flops"] for _, metrics in strategy.history]
    print(f"scored {len(strategy.history)} architectures ({min(flops):.0f}..{max(flops):.0f} MFLOPs at 224x224), "
          f"skipped {strategy.rejected_over_budget} samples over {args.max_mflops:g} MFLOPs before scoring, "
          f"{strategy.failed} failed")
    top = strategy.top_architectures(3)
    used = [canonical_sample(entry["arch"]) for entry in top]  # a stage's depth leaves its later layers unused (None)
    labels, shared = differing_choices(used)
    if len(top) > 1:
        print(f"top {len(top)}: only the choices that differ between them; the {shared} layer choices they share are not shown; "
              "'-' = layer unused at its stage's depth")
    print(f"{'VKDNW_agg':>9}  {'MFLOPs':>6}  {'params M':>8}  {'dim':>3}  {'entropy':>7}  " + "  ".join(f"{label:>6}" for label in labels))
    for entry, choices in zip(top, used):
        cells = "  ".join(f"{'-' if choices.get(label) is None else choices[label]!s:>6}" for label in labels)
        print(f"{entry['vkdnw_agg']:9.2f}  {entry['flops']:6.1f}  {entry['params']:8.2f}  {entry['vkdnw_dim']:3d}  {entry['vkdnw']:7.4f}  {cells}")


def differing_choices(samples: list[dict]) -> tuple[list[str], int]:
    """The labels whose value differs between ``samples`` (all labels for a single sample), in space
    order (stage, then layer), and how many used layer choices the samples share."""
    labels = sorted({label for sample in samples for label in sample}, key=_space_order)
    differ = [label for label in labels if len(samples) < 2 or len({str(s.get(label)) for s in samples}) > 1]
    shared = sum(1 for label in labels if label not in differ and samples[0].get(label) is not None and not label.endswith("_depth"))
    return differ, shared


def _space_order(label: str) -> tuple:
    """``s2_depth`` before ``s2_i0`` before ``s2_i10``; labels of another form after them, by name."""
    stage, _, rest = str(label).partition("_")
    if stage[1:].isdigit() and (rest == "depth" or rest[1:].isdigit()):
        return (0, int(stage[1:]), -1 if rest == "depth" else int(rest[1:]), "")
    return (1, 0, 0, str(label))


if __name__ == "__main__":
    main()
