"""Seconds per proxy on a few NAS-Bench-201 networks (CIFAR-10 shape, batch 64, CPU).

Each proxy is timed alone (a fresh context, so it pays for its own forward/backward passes), then
all proxies together through ``compute_proxies`` (shared forward pass). Prints a Markdown table and,
with ``--out``, writes it to a file.

    python benchmarks/proxy_speed.py --threads 1 --out benchmarks/results/proxy_speed.md
"""

from __future__ import annotations

import argparse
import platform
import sys
import time
import warnings
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vkdnw_plugin.proxies import compute_proxies, get_proxy, list_proxies  # noqa: E402
from vkdnw_plugin.spaces.nb201 import nb201_network  # noqa: E402

ARCHS = {
    "light": "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|",
    "mid": "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    "heavy": "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--proxies", nargs="*", default=list_proxies())
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    times: dict[str, dict[str, float]] = {}
    for label, arch in ARCHS.items():
        torch.manual_seed(0)
        net = nb201_network(arch)
        x = torch.randn(args.batch, 3, 32, 32)
        with torch.no_grad():  # warm-up
            net(x)
        column = {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for name in args.proxies:
                start = time.perf_counter()
                get_proxy(name).fn(net, x)
                column[name] = time.perf_counter() - start
            start = time.perf_counter()
            compute_proxies(net, x, args.proxies)
            column["compute_proxies (all, shared)"] = time.perf_counter() - start
        column["sum of the separate calls"] = sum(column[name] for name in args.proxies)
        times[label] = column
        print(f"{label} done", file=sys.stderr)

    rows = list(next(iter(times.values())))
    lines = [
        "# Seconds per proxy, NAS-Bench-201 CIFAR-10 networks",
        "",
        f"Batch {args.batch} of 3×32×32, {args.threads} torch thread(s), {platform.machine()} CPU, "
        f"torch {torch.__version__}. Command: `python benchmarks/proxy_speed.py --threads {args.threads}`. "
        "Each proxy alone pays for its own passes; the last rows compare sharing.",
        "",
        "Architectures: " + "; ".join(f"{k} = `{v}`" for k, v in ARCHS.items()),
        "",
        "| proxy | " + " | ".join(times) + " |",
        "| --- |" + " ---: |" * len(times),
    ]
    for row in rows:
        lines.append(f"| {row} | " + " | ".join(f"{times[label][row]:.2f}" for label in times) + " |")
    report = "\n".join(lines) + "\n"
    print(report)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(report)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
