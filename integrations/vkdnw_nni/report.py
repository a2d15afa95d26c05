"""``vkdnw-nni report EXPERIMENT_ID``: the top architectures of a finished VKDNW experiment.

Reads the experiment's ``db/nni.sqlite`` (found through NNI's registry or ``--experiment-dir``) without
a web server; batched trials become one row per architecture, VKDNW_agg is aggregated over all of
them, and NB201 rows get their true test accuracy from the shared table (``--dataset``).
"""

from __future__ import annotations

import json
import math
import os
import sqlite3
import sys
from pathlib import Path

from vkdnw_plugin.options import OneLineParser
from vkdnw_plugin.ranking import AGG_COMPONENTS


def find_database(experiment_id: str, experiment_dir: str | None = None, home: str | None = None) -> Path:
    """Path of the experiment's ``nni.sqlite``; ``FileNotFoundError`` saying where it looked."""
    nni_home = Path(home or os.path.expanduser("~")) / "nni-experiments"
    registry = nni_home / ".experiment"
    entry = json.loads(registry.read_text()).get(experiment_id) if registry.is_file() else None
    roots = [Path(experiment_dir).expanduser() / experiment_id, Path(experiment_dir).expanduser()] if experiment_dir else []
    if entry and entry.get("logDir"):
        roots.append(Path(entry["logDir"]) / experiment_id)
    candidates = [root / "db" / "nni.sqlite" for root in [*roots, nni_home / experiment_id]]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise FileNotFoundError(f"no database for experiment {experiment_id!r}; looked at {', '.join(map(str, candidates))} "
                            "(pass --experiment-dir, the experimentWorkingDirectory of the run)")


def _decode(data: str):
    value = json.loads(data)
    while isinstance(value, str):
        value = json.loads(value)
    return value


def load_results(database: str | os.PathLike) -> tuple[list[dict], dict]:
    """``(rows, summary)``: one row per scored architecture (``trial``, ``arch``, metrics...), and
    counts of trials by final status plus failed architectures."""
    con = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        params = {}
        statuses = {}
        for trial, event, data in con.execute("SELECT trialJobId, event, data FROM TrialJobEvent ORDER BY timestamp"):
            if event in ("WAITING", "RUNNING") and data:
                payload = _decode(data)
                if isinstance(payload, dict) and "parameters" in payload:
                    params[trial] = payload["parameters"]
            if event not in ("WAITING", "RUNNING"):
                statuses[trial] = event
        rows, failed_archs = [], 0
        for trial, data in con.execute("SELECT trialJobId, data FROM MetricData WHERE type = 'FINAL' ORDER BY timestamp"):
            value = _decode(data)
            if isinstance(value, dict) and "archs" in value:
                for entry in value["archs"]:
                    if entry.get("error"):
                        failed_archs += 1
                        continue
                    rows.append({"trial": trial, **entry})
            else:
                metrics = value if isinstance(value, dict) else {"default": value}
                rows.append({"trial": trial, "arch": params.get(trial), **metrics})
    finally:
        con.close()
    summary = {"trials": len(statuses), "failed_trials": sum(s == "FAILED" for s in statuses.values()),
               "succeeded_trials": sum(s == "SUCCEEDED" for s in statuses.values()), "failed_archs": failed_archs,
               "scored_archs": len(rows)}
    return rows, summary


def rank_rows(rows: list[dict], components=AGG_COMPONENTS, dataset: str | None = None) -> list[dict]:
    """Rows with ``vkdnw_agg`` (over all rows) and, for NB201 rows, ``arch_str`` and ``true_acc``;
    sorted best first."""
    from .tuner import population_fitness

    if not rows:
        return []
    agg = population_fitness(rows, components)
    out = [{**row, "vkdnw_agg": float(a)} for row, a in zip(rows, agg)]
    nb201 = [r for r in out if isinstance(r.get("arch"), dict) and any(str(k).startswith("cell/") for k in r["arch"])]
    if nb201:
        from vkdnw_plugin.spaces.nb201 import parse_arch

        for row in nb201:
            row["arch_str"] = parse_arch(row["arch"]).arch_str
        try:
            from vkdnw_plugin.groundtruth import load_nb201_table, nb201_accuracy

            table = load_nb201_table()
            accuracy = dict(zip(table["arch_str"], nb201_accuracy(table, dataset or "cifar10")))
            for row in nb201:
                row["true_acc"] = float(accuracy[row["arch_str"]])
        except FileNotFoundError as exc:
            print(f"note: no true accuracies ({exc})", file=sys.stderr)
    return sorted(out, key=lambda r: -r["vkdnw_agg"])


def format_table(rows: list[dict], top: int = 10) -> str:
    def fmt(value, spec):
        return "-" if value is None or (isinstance(value, float) and math.isnan(value)) else format(value, spec)

    lines = ["| rank | VKDNW_agg | VKDNW_single | MFLOPs | Mparams | true acc | architecture |",
             "| ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for i, row in enumerate(rows[:top], 1):
        arch = row.get("arch_str") or json.dumps(row.get("arch"), sort_keys=True)
        lines.append(f"| {i} | {fmt(row['vkdnw_agg'], '.3f')} | {fmt(row.get('vkdnw_single'), '.4f')} | "
                     f"{fmt(row.get('flops'), '.1f')} | {fmt(row.get('params'), '.3f')} | "
                     f"{fmt(row.get('true_acc'), '.2f')} | `{arch}` |")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = OneLineParser(prog="vkdnw-nni report", description=__doc__.split("\n\n")[0])
    parser.add_argument("experiment_id")
    parser.add_argument("--experiment-dir", default=None, help="experimentWorkingDirectory of the run")
    parser.add_argument("--dataset", default="cifar10", help="NB201 dataset for true accuracy")
    parser.add_argument("--top", type=int, default=10)
    parser.add_argument("--json", default=None, help="also write all ranked rows to this JSON file")
    args = parser.parse_args(argv)
    try:
        database = find_database(args.experiment_id, args.experiment_dir)
    except FileNotFoundError as exc:
        print(f"vkdnw-nni report: error: {exc}", file=sys.stderr)
        return 2
    rows, summary = load_results(database)
    ranked = rank_rows(rows, dataset=args.dataset)
    print(f"experiment {args.experiment_id}: {summary['scored_archs']} architectures scored in {summary['trials']} "
          f"trials ({summary['failed_trials']} failed trials, {summary['failed_archs']} failed architectures)")
    print(format_table(ranked, args.top))
    if args.json:
        Path(args.json).write_text(json.dumps({"summary": summary, "rows": ranked}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
