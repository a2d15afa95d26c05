"""Networks per minute of the same ``vkdnw evaluate`` job with local worker processes vs a Dask
``LocalCluster`` (``--scheduler local:N``), each run end to end in a fresh process with a fresh cache.

Both arms score the same NB201 sample (one seed, VKDNW only, one torch thread per worker) and must give
identical scores.csv. Per run: networks per minute end to end (the command's whole wall time, start-up
and report included), the progress bar's final networks/minute (the Dask arm's bar starts once its
cluster is up), and the CPU seconds of the command and all its worker processes (user + system), which
a machine shared with other jobs disturbs much less than wall time. With ``--rounds R`` the arms
alternate A B, B A, ... so that a drifting machine load does not favour one arm. Overhead of the Dask
path = local rate / Dask rate - 1 (mean rates), and Dask CPU / local CPU - 1.

    python benchmarks/dask_overhead.py --n 200 --workers 2 --out benchmarks/results/dask_overhead.md
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children and their reaped descendants."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_arm(label: str, extra: list[str], args, folder: Path) -> dict:
    """One fresh ``vkdnw evaluate`` run: wall and CPU seconds, both rates (networks/minute), load averages."""
    command = ["vkdnw", "evaluate", "--dataset", args.dataset, "--archs", f"sample:{args.n}", "--proxies", "vkdnw_single",
               "--batch", str(args.batch), "--threads", "1", "--bootstrap", "0", *extra]  # fmt: skip
    paths = ["--cache", str(folder / "cache.sqlite"), "--out", str(folder / "out")]
    load_before, cpu_before = os.getloadavg()[0], children_cpu()
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "vkdnw_plugin.cli", *command[1:], *paths], env={**os.environ, "OMP_NUM_THREADS": "1"},
                          capture_output=True, text=True)  # fmt: skip
    wall = time.perf_counter() - started
    if done.returncode:
        sys.exit(f"{label} failed:\n{done.stderr}")
    return {"arm": label, "command": " ".join(command), "wall": wall, "end_to_end": 60 * args.n / wall,
            "bar": float(re.findall(r"([\d.]+) net/min", done.stderr)[-1]), "cpu": children_cpu() - cpu_before,
            "load": (load_before, os.getloadavg()[0]), "scores": (folder / "out/scores.csv").read_text()}  # fmt: skip


def report(runs: list[dict], arms: list[str], args, benchmark_command: str) -> str:
    """Markdown: the setting, one row per run, per-arm means and the two overheads."""
    mean = {arm: {key: statistics.fmean(r[key] for r in runs if r["arm"] == arm) for key in ("end_to_end", "bar", "cpu")} for arm in arms}
    local, dask = (mean[arm] for arm in arms)
    identical = all(r["scores"] == runs[0]["scores"] for r in runs)
    lines = [f"# Dask overhead: {args.n} NB201 networks, local workers vs `--scheduler local:{args.workers}`", "",
             "```", benchmark_command, "```", "",
             f"{args.dataset}, `sample:{args.n}` (seeded), VKDNW only (reference mode), batch {args.batch}, seed 0, 1 torch thread "
             f"per worker, {args.workers} workers in both arms, fresh process and fresh cache per run, `--bootstrap 0`, "
             f"{args.rounds} round(s) alternating the arms. Machine: {os.cpu_count()} CPU cores.", "",
             "| run | arm | command (plus --cache/--out) | wall s | networks/min end to end | networks/min (progress bar) | CPU s | "
             "load avg before → after |", "| ---: | --- | --- | ---: | ---: | ---: | ---: | --- |"]  # fmt: skip
    for i, r in enumerate(runs, 1):
        lines.append(f"| {i} | {r['arm']} | `{r['command']}` | {r['wall']:.0f} | {r['end_to_end']:.1f} | {r['bar']:.1f} | {r['cpu']:.0f} | "
                     f"{r['load'][0]:.1f} → {r['load'][1]:.1f} |")  # fmt: skip
    lines += [
        "",
        "| arm | mean networks/min end to end | mean networks/min (progress bar) | mean CPU s per network |",
        "| --- | ---: | ---: | ---: |",
    ]
    lines += [f"| {arm} | {m['end_to_end']:.1f} | {m['bar']:.1f} | {m['cpu'] / args.n:.2f} |" for arm, m in mean.items()]
    lines += ["", f"**Overhead of the Dask path: {100 * (local['end_to_end'] / dask['end_to_end'] - 1):+.1f} % in networks/min end to end, "
              f"{100 * (dask['cpu'] / local['cpu'] - 1):+.1f} % in CPU seconds** (target ≤ 10 %).",
              f"Scores identical in all runs: {'yes' if identical else 'NO'} (scores.csv compared byte for byte)."]  # fmt: skip
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=200, help="networks (sample:N of NB201)")
    parser.add_argument("--workers", type=int, default=2, help="local worker processes, and Dask workers of local:N")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of both arms, alternating their order (A B, B A, ...)")
    parser.add_argument("--out", help="markdown file to write")
    args = parser.parse_args()
    arms = [("local workers", ["--workers", str(args.workers)]), (f"Dask local:{args.workers}", ["--scheduler", f"local:{args.workers}"])]
    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for label, extra in arms if round_ % 2 == 0 else arms[::-1]:
                folder = Path(tmp) / str(len(runs))
                folder.mkdir()
                runs.append(run_arm(label, extra, args, folder))
                print(f"{label}: {runs[-1]['wall']:.0f} s, {runs[-1]['end_to_end']:.1f} networks/min, {runs[-1]['cpu']:.0f} CPU s", flush=True)
    text = report(runs, [label for label, _ in arms], args, "python " + " ".join(["benchmarks/dask_overhead.py", *sys.argv[1:]]))
    print(text)
    if args.out:
        Path(args.out).write_text(text)


if __name__ == "__main__":
    main()
