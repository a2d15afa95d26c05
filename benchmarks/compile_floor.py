"""Does ``torch.compile`` lower the NB201 floor on this CPU? Side by side in one run, on N seeded random
NB201 networks (batch 64, the authors' protocol, one process, ``--threads`` torch threads):

* eager: the floor of the engine, one forward and K = min(classes, 64) input-gradient backward passes;
* blocks: the same with every ReLU-Conv-BN op and residual block compiled (``nn.Module.compile``); the
  compiled code is shared by all blocks of one shape, across networks, so its cost is paid once;
* whole: the same with the whole network compiled (a new graph, and a new compile, per cell).

Prints per-network seconds, medians, the eager/compiled ratios and the compile seconds (excluded from
the per-network times, reported separately).

``--engine``: instead, the engine itself, ``vkdnw_score(direction="reverse", compile=False)`` against
``compile=True`` (:func:`vkdnw_plugin.vkdnw.compiled_blocks`) on the same networks, with the entropy
difference; a network's first compiled call (new block shapes compile there) is timed apart.

    python benchmarks/compile_floor.py [--archs 6] [--whole-archs 2] [--dataset cifar10] [--threads 1]
    python benchmarks/compile_floor.py --engine --archs 20
"""

from __future__ import annotations

import argparse
import random
import statistics
import time


def floor_seconds(model, inputs, k: int) -> float:
    """One forward and ``k`` input-gradient backward passes over the shared graph."""
    import torch

    x = inputs.detach().requires_grad_(True)
    started = time.perf_counter()
    logits = model(x)[1]
    cotangent = torch.zeros_like(logits)
    for row in range(k):
        cotangent.zero_()
        cotangent[:, row] = 1
        torch.autograd.grad(logits, x, cotangent, retain_graph=True)
    return time.perf_counter() - started


def engine_rows(setup, archs) -> None:
    """Eager vs compiled engine per network, then medians (compile time apart)."""
    from vkdnw_plugin.engine import vkdnw_score

    def timed(model, x, compile):
        started = time.perf_counter()
        result = vkdnw_score(model, x, direction="reverse", compile=compile)
        return time.perf_counter() - started, result.entropy

    rows, first_calls = [], []
    for i, arch in enumerate(archs):
        model, x = setup(arch)
        timed(model, x, False)  # warm-up
        eager, h_eager = timed(model, x, False)
        first_calls.append(timed(model, x, True)[0])
        compiled, h_compiled = timed(model, x, True)
        rows.append((eager, compiled, abs(h_eager - h_compiled)))
        print(f"{i:>2} eager {eager:6.3f} s  compiled {compiled:6.3f} s  first compiled call {first_calls[-1]:6.1f} s  "
              f"|dH| {rows[-1][2]:.1e}  {arch}", flush=True)  # fmt: skip
    eager, compiled = (statistics.median(r[j] for r in rows) for j in (0, 1))
    print(f"\nengine, {len(archs)} networks: median eager {eager:.3f} s, compiled {compiled:.3f} s, "
          f"eager / compiled = {eager / compiled:.2f}, max |dH| {max(r[2] for r in rows):.1e}")
    print(f"first compiled calls (compiling new block shapes) {sum(first_calls):.1f} s in all, "
          f"{first_calls[0]:.1f} s for the first network, median {statistics.median(first_calls):.1f} s")


def compile_blocks(model) -> None:
    from vkdnw_plugin.spaces.nb201_modules import ReLUConvBN, ResNetBasicblock

    for module in model.modules():
        if isinstance(module, (ReLUConvBN, ResNetBasicblock)):
            module.compile(dynamic=False)


def main() -> None:
    import torch
    import torch._dynamo
    import torch._functorch.config

    from vkdnw_plugin.scoring import reference_setup
    from vkdnw_plugin.spaces.nb201 import OPS, NB201Arch, dataset_shape, nb201_network

    parser = argparse.ArgumentParser()
    parser.add_argument("--archs", type=int, default=6)
    parser.add_argument("--whole-archs", type=int, default=2, help="networks compiled whole (a compile each)")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engine", action="store_true", help="time vkdnw_score(compile=False/True) instead")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch._dynamo.config.cache_size_limit = 64  # one entry per block shape
    torch._functorch.config.donated_buffer = False  # the K backward passes retain the graph
    classes, res = dataset_shape(args.dataset)
    k = min(classes, 64)
    rng = random.Random(args.seed)
    archs = [NB201Arch(tuple(rng.choice(OPS[1:]) for _ in range(6))).arch_str for _ in range(args.archs)]

    def setup(arch):
        return reference_setup(lambda: nb201_network(arch, classes), 0, (64, 3, res, res))

    if args.engine:
        print(f"{args.dataset}, batch 64, {args.threads} thread(s), reverse mode, reference Fisher")
        engine_rows(setup, archs)
        return

    rows = []
    block_compile = 0.0
    for i, arch in enumerate(archs):
        model, x = setup(arch)
        floor_seconds(model, x, k)  # warm-up
        eager = statistics.median(floor_seconds(model, x, k) for _ in range(3))
        compile_blocks(model)
        started = time.perf_counter()
        floor_seconds(model, x, k)  # compiles the block shapes not seen before
        block_compile += time.perf_counter() - started
        blocks = statistics.median(floor_seconds(model, x, k) for _ in range(3))
        whole = compile_s = float("nan")
        if i < args.whole_archs:
            model, x = setup(arch)
            model = torch.compile(model, dynamic=False)
            started = time.perf_counter()
            floor_seconds(model, x, k)
            compile_s = time.perf_counter() - started
            whole = statistics.median(floor_seconds(model, x, k) for _ in range(3))
        rows.append((arch, eager, blocks, whole, compile_s))
        print(f"{i:>2} eager {eager:6.3f} s  blocks {blocks:6.3f} s  whole {whole:6.3f} s (compile {compile_s:5.1f} s)  {arch}",
              flush=True)
    med = {name: statistics.median(r[j] for r in rows if r[j] == r[j]) for j, name in ((1, "eager"), (2, "blocks"), (3, "whole"))}
    print(f"\n{args.dataset}, batch 64, K = {k}, {args.threads} thread(s), {len(archs)} networks "
          f"({args.whole_archs} compiled whole)")
    print(f"median floor: eager {med['eager']:.3f} s, blocks {med['blocks']:.3f} s, whole {med['whole']:.3f} s")
    print(f"eager / blocks = {med['eager'] / med['blocks']:.2f}, eager / whole = {med['eager'] / med['whole']:.2f}")
    whole_compiles = [r[4] for r in rows if r[4] == r[4]]
    print(f"compile: blocks {block_compile:.1f} s for the whole job (shared shapes); whole network "
          f"{statistics.median(whole_compiles):.1f} s per network")


if __name__ == "__main__":
    main()
