"""Nets scored per minute: nnictl (1 or k architectures per trial) vs NNI's in-process NAS API vs the
core library in one plain process, on the same NB201 sample and scoring settings.

Overhead = (wall time − Σ per-network scoring time) / Σ scoring time, where a network's scoring time
is what ``score_model`` measures (FLOPs count + VKDNW + jacov + AZ-NAS proxies). Every mode runs in a
fresh process, so its wall time includes interpreter/torch/NNI start-up.

    python benchmarks/nni_overhead.py --n 16 --batch-size 32 --ks 1 4 16 --out benchmarks/results/nni_overhead.md
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
PY = sys.executable


def run_core(archs, batch, workdir) -> dict:
    script = f"""
import json, time, torch
torch.set_num_threads(1)
from vkdnw_plugin.spaces.nb201 import nb201_network
from vkdnw_nni.evaluator import score_model
archs = json.load(open({str(workdir / 'archs_str.json')!r}))
secs = [score_model(nb201_network(a, 10), batch_size={batch}, resolution=32)["seconds"] for a in archs]
print(json.dumps(secs))
"""
    t0 = time.time()
    out = subprocess.run([PY, "-c", script], capture_output=True, text=True, check=True)
    wall = time.time() - t0
    return {"mode": "core library, one plain process (no NNI)", "wall": wall, "scoring": sum(json.loads(out.stdout.strip().splitlines()[-1]))}


def run_inprocess(archs, batch, workdir) -> dict:
    script = f"""
import json, time, logging, torch
torch.set_num_threads(1)
logging.getLogger('nni').setLevel(logging.ERROR)
from nni.nas.evaluator import FunctionalEvaluator
from nni.nas.experiment import NasExperiment, NasExperimentConfig
from nni.nas.hub.pytorch import NasBench201
from nni.nas.strategy.base import Strategy
from vkdnw_nni.evaluator import evaluate_model
archs = json.load(open({str(workdir / 'archs.json')!r}))
SECS = []
def fn(model, **options):
    SECS.append(evaluate_model(model, **options)["seconds"])
class FixedList(Strategy):
    def _run(self):
        for a in archs:
            self.wait_for_resource()
            self.engine.submit_models(self.model_space.freeze(a))
        self.engine.wait_models()
cfg = NasExperimentConfig('sequential', 'simplified', 'local')
cfg.max_trial_number = len(archs)
opts = dict(batch={batch}, resolution=32)
exp = NasExperiment(NasBench201(), FunctionalEvaluator(fn, **opts), FixedList(), cfg)
exp.run()
exp.stop()
print(json.dumps(SECS))
"""
    t0 = time.time()
    out = subprocess.run(check=False, args=[PY, "-c", script], capture_output=True, text=True, cwd=workdir,
                         env=dict(os.environ, HOME=str(workdir)))
    wall = time.time() - t0
    if out.returncode:
        raise RuntimeError(out.stderr[-3000:])
    secs = json.loads(out.stdout.strip().splitlines()[-1])
    assert len(secs) == len(archs), secs
    return {"mode": "NNI NAS API in-process (NasExperiment, sequential engine)", "wall": wall, "scoring": sum(secs)}


def run_nnictl(archs, batch, k, workdir, port) -> dict:
    from vkdnw_nni.loopback import loopback_env

    exp_dir = workdir / f"exps_k{k}"
    home = workdir / f"home_k{k}"
    home.mkdir(exist_ok=True)
    config = workdir / f"overhead_k{k}.yml"
    config.write_text(f"""
searchSpaceFile: {workdir / 'space.json'}
trialCommand: {PY} -m vkdnw_nni.trial --space nb201 --dataset cifar10 --batch-size {batch} --threads 1
trialCodeDirectory: {workdir}
trialConcurrency: 1
maxTrialNumber: {math.ceil(len(archs) / k)}
experimentWorkingDirectory: {exp_dir}
tuner:
  className: nni_fixed_tuner.FixedListTuner
  codeDirectory: {HERE}
  classArgs: {{archs_file: {workdir / 'archs.json'}, archs_per_trial: {k}}}
trainingService:
  platform: local
""")
    env = loopback_env(dict(os.environ, HOME=str(home), PATH=f"{Path(PY).parent}:{os.environ['PATH']}"))
    nnictl = str(Path(PY).parent / "nnictl")
    t0 = time.time()
    exp_id = None
    try:
        subprocess.run(check=False, args=[nnictl, "create", "--config", str(config), "--port", str(port)], capture_output=True,
                             text=True, env=env, timeout=120)
        registry = json.loads((home / "nni-experiments" / ".experiment").read_text())
        exp_id = next(iter(registry))
        db = exp_dir / exp_id / "db" / "nni.sqlite"
        expected = math.ceil(len(archs) / k)
        while time.time() - t0 < 1800:
            time.sleep(0.5)
            if db.is_file():
                con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
                try:
                    done = con.execute("SELECT COUNT(*) FROM TrialJobEvent WHERE event IN ('SUCCEEDED','FAILED')").fetchone()[0]
                except sqlite3.OperationalError:
                    done = 0
                con.close()
                if done >= expected:
                    break
        wall = time.time() - t0
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
        values = [json.loads(json.loads(d)) for (d,) in con.execute("SELECT data FROM MetricData WHERE type='FINAL'")]
        con.close()
    finally:
        if exp_id:
            subprocess.run(check=False, args=[nnictl, "stop", exp_id], capture_output=True, env=env, timeout=120)
    scoring = sum(e["seconds"] for v in values for e in v["archs"])
    startup = sum(v["startup_seconds"] for v in values) / len(values)
    return {"mode": f"nnictl, {k} architecture(s) per trial", "wall": wall, "scoring": scoring,
            "startup": startup, "trials": len(values)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--ks", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--port", type=int, default=18311)
    parser.add_argument("--out", default="benchmarks/results/nni_overhead.md")
    args = parser.parse_args(argv)
    from vkdnw_nni.spaces import search_space_json

    from vkdnw_plugin.groundtruth import load_nb201_table, select_archs
    from vkdnw_plugin.spaces.nb201 import parse_arch

    table = select_archs(load_nb201_table(), f"sample:{args.n}", seed=0)
    arch_strs = list(table["arch_str"])
    workdir = Path(tempfile.mkdtemp(prefix="vkdnw_overhead_"))
    (workdir / "archs_str.json").write_text(json.dumps(arch_strs))
    (workdir / "archs.json").write_text(json.dumps([parse_arch(a).nni("cell/") for a in arch_strs]))
    (workdir / "space.json").write_text(json.dumps(search_space_json("nb201", num_labels=10)))
    started = time.time()
    rows = [run_core(arch_strs, args.batch_size, workdir), run_inprocess(arch_strs, args.batch_size, workdir)]
    print(rows, flush=True)
    for i, k in enumerate(args.ks):
        rows.append(run_nnictl(arch_strs, args.batch_size, k, workdir, args.port + i))
        print(rows[-1], flush=True)
    total = time.time() - started
    lines = [
        "# Per-trial overhead: nets scored per minute, nnictl vs in-process NNI API vs core",
        "",
        "```",
        f"python benchmarks/nni_overhead.py {' '.join(sys.argv[1:])}",
        "```",
        "",
        f"Same {args.n} NB201 architectures (`select_archs(table, 'sample:{args.n}', seed=0)`), CIFAR-10 head, "
        f"batch {args.batch_size} of randn at 32×32, reference mode, VKDNW + jacov + AZ-NAS expressivity/trainability + FLOPs, "
        "1 torch thread, trial concurrency 1, NNI 3.0, local training service (web server on 127.0.0.1). "
        "Every mode runs in a fresh process; wall time includes start-up (Python, torch, NNI imports; for nnictl also "
        "the experiment's web server). Machine load is whatever it was during the run: compare rows, not runs.",
        f"Total wall time of this benchmark: {total:.0f} s.",
        "",
        "| mode | wall s | Σ scoring s | nets / min | overhead (wall − scoring) / scoring | trial start-up s (mean) |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['mode']} | {r['wall']:.1f} | {r['scoring']:.1f} | {args.n / r['wall'] * 60:.1f} | "
                     f"{(r['wall'] - r['scoring']) / r['scoring'] * 100:.0f} % | {r.get('startup', float('nan')):.1f} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(Path(args.out).read_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
