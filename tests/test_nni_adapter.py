"""Tests of the NNI adapter (``vkdnw_nni``). Skipped when NNI is not installed.

Small budgets, batch 4-8 at 16-32 px, so the whole file runs in about two minutes on a laptop CPU;
the nnictl test starts NNI's web server on a loopback port with HOME isolated and always stops it.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

nni = pytest.importorskip("nni", reason="NNI is not installed (pip install vkdnw-plugin[nni]); NNI adapter tests skipped")
torch = pytest.importorskip("torch")

from vkdnw_nni._compat import NNI3
from vkdnw_nni.evaluator import score_model, vkdnw_evaluator
from vkdnw_nni.spaces import build_model, space_choices
from vkdnw_nni.tuner import VKDNWEvolutionTuner, validate_tuner_args

from vkdnw_plugin.options import OptionError
from vkdnw_plugin.ranking import single_key
from vkdnw_plugin.spaces.nb201 import parse_arch
from vkdnw_plugin.vkdnw_options import VKDNWOptions

needs_nni3 = pytest.mark.skipif(not NNI3, reason="the NAS strategy path needs NNI >= 3.0")
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
FAST = {"batch": 4, "resolution": 16}


def nb201_sample(arch) -> dict:
    return parse_arch(arch).nni("cell/")


def _shared_table() -> Path | None:
    from vkdnw_plugin.paths import nb201_table_path

    try:
        return nb201_table_path()
    except FileNotFoundError:
        return None


# ----------------------------------------------------------------------------- evaluator


def test_evaluator_nb201_matches_core_builder():
    from vkdnw_plugin.spaces.nb201 import nb201_network

    sample = nb201_sample(ARCH)
    assert parse_arch(sample).arch_str == ARCH
    nni_model = build_model("nb201", sample, num_labels=10)
    core_model = nb201_network(ARCH, 10)
    a = score_model(nni_model, **FAST)
    b = score_model(core_model, **FAST)
    assert set(a) >= {"default", "vkdnw", "vkdnw_single", "vkdnw_dim", "jacov", "az_expressivity",
                      "az_trainability", "flops", "params"}
    assert a["valid"] and a["default"] == a["vkdnw_single"] == single_key(a["vkdnw_dim"], a["vkdnw"])
    # NNI's NasBench201 and the core TinyNetwork are the same network: same size, FLOPs, VKDNW dim.
    assert (a["params"], a["flops"], a["vkdnw_dim"]) == (b["params"], b["flops"], b["vkdnw_dim"])
    json.dumps(a)  # valid JSON for nni.report_final_result


def test_evaluator_proxylessnas_small():
    choices = space_choices("proxylessnas", num_labels=10, width_mult=0.25)
    sample = {label: values[0] for label, values in choices.items()}
    model = build_model("proxylessnas", sample, num_labels=10, width_mult=0.25)
    result = score_model(model, batch=4, resolution=32, flops_resolution=224, tensor_policy="random", n_quantiles=11)
    assert result["valid"] and result["flops"] > 10 and result["params"] > 0
    assert result["az_expressivity"] is not None


def test_samples_with_one_architecture_key_build_one_network():
    """The core's architecture key ignores the layer choices a ProxylessNAS stage's depth leaves
    unused; NNI builds the same network for such samples (same modules, same parameter shapes)."""
    from vkdnw_plugin.evolution import architecture_key

    kwargs = {"num_labels": 10, "width_mult": 0.25}
    choices = space_choices("proxylessnas", **kwargs)
    first = {label: values[0] for label, values in choices.items()}
    first["s2_depth"] = 1
    unused = {**first, "s2_i1": choices["s2_i1"][-1], "s2_i3": choices["s2_i3"][-1]}
    used = {**first, "s2_i0": choices["s2_i0"][-1]}
    assert architecture_key(unused) == architecture_key(first) != architecture_key(used)

    def shapes(sample):
        return [(name, tuple(p.shape)) for name, p in build_model("proxylessnas", sample, **kwargs).named_parameters()]

    assert shapes(unused) == shapes(first) and shapes(used) != shapes(first)


def test_evaluator_reports_through_functional_evaluator():
    evaluator = vkdnw_evaluator(**FAST)
    assert evaluator.arguments["batch"] == 4
    with pytest.raises(OptionError, match="batch=0"), pytest.warns(FutureWarning, match="batch_size is deprecated"):
        vkdnw_evaluator(batch_size=0)  # the old spelling still works, with a warning
    with pytest.raises(OptionError, match="tensor_policy"):
        vkdnw_evaluator(tensor_policy="all")
    with pytest.raises(OptionError, match="direction='sideways'"):
        vkdnw_evaluator(direction="sideways")
    with pytest.raises(OptionError, match="compile='yes': expected True or False"):
        vkdnw_evaluator(compile="yes")
    with pytest.raises(OptionError, match="components"):
        vkdnw_evaluator(components=("vkdnw", "no_such_proxy"))


def test_nni_trial_and_strategy_doors_give_the_core_numbers(monkeypatch):
    """The nnictl trial and the NasExperiment evaluator (what VKDNWAggEvolution runs) score an NB201
    sample on the core's network under the core's protocol: the core's entropy and VKDNW_single."""
    from test_doors import ARCHS, BATCH, SEED
    from vkdnw_nni import trial
    from vkdnw_nni._compat import NNI3
    from vkdnw_nni.evaluator import vkdnw_evaluator

    from vkdnw_plugin.ranking import single_value
    from vkdnw_plugin.scoring import score_architecture

    core = {a: score_architecture("nb201", a, dataset="cifar100", seed=SEED, batch=BATCH)["reference"] for a in ARCHS}
    reported = []
    monkeypatch.setattr(nni, "get_next_parameter", lambda: {"archs": [nb201_sample(a) for a in ARCHS]})
    monkeypatch.setattr(nni, "report_final_result", reported.append)
    argv = ["--space", "nb201", "--dataset", "cifar100", "--batch", str(BATCH), "--seed", str(SEED),
            "--components", "vkdnw_single"]
    assert trial.main(argv) == 0
    for entry, arch in zip(reported[0]["archs"], ARCHS):
        assert (entry["vkdnw"], entry["vkdnw_single"]) == (core[arch].entropy, single_value(core[arch]))
    if not NNI3:
        return
    from nni.nas.hub.pytorch import NasBench201
    from nni.nas.space import RawFormatModelSpace

    evaluator = vkdnw_evaluator(batch=BATCH, resolution=32, seed=SEED, components=["vkdnw_single"])
    space = RawFormatModelSpace.from_model(NasBench201(num_labels=100), evaluator)
    for arch in ARCHS:
        metrics = evaluator._execute(space.freeze(nb201_sample(arch)))
        assert (metrics["vkdnw"], metrics["vkdnw_single"]) == (core[arch].entropy, single_value(core[arch]))


@needs_nni3
def test_proxylessnas_evaluator_and_trial_give_the_same_number_with_default_options(monkeypatch):
    """One ProxylessNAS network through the NasExperiment evaluator and the nnictl trial, VKDNW options
    left at their defaults: both take the space's (the authors' 128 random tensors, 11 quantiles) and
    give the core's number."""
    from nni.nas.hub.pytorch import ProxylessNAS
    from nni.nas.space import RawFormatModelSpace, SimplifiedModelSpace
    from vkdnw_nni import trial

    from vkdnw_plugin.scoring import score_network

    kwargs = {"num_labels": 10, "width_mult": 0.25}
    sample = {label: values[-1] for label, values in space_choices("proxylessnas", **kwargs).items()}
    reported = []
    monkeypatch.setattr(nni, "get_next_parameter", lambda: {"archs": [sample]})
    monkeypatch.setattr(nni, "report_final_result", reported.append)
    assert trial.main(["--space", "proxylessnas", "--num-classes", "10", "--width-mult", "0.25", "--batch", "4",
                       "--resolution", "32", "--components", "vkdnw_single"]) == 0  # fmt: skip
    by_trial = reported[0]["archs"][0]
    core = score_network("proxylessnas", lambda: build_model("proxylessnas", sample, **kwargs), VKDNWOptions(batch=4, resolution=32))
    assert len(core.results["reference"].deciles) == 11 and core.options.tensor_policy == "random"
    assert (by_trial["vkdnw"], by_trial["vkdnw_single"]) == (core.values()["vkdnw"], core.values()["vkdnw_single"])
    evaluator = vkdnw_evaluator(batch=4, resolution=32, components=["vkdnw_single"])
    for fmt in (RawFormatModelSpace, SimplifiedModelSpace):
        metrics = evaluator._execute(fmt.from_model(ProxylessNAS(**kwargs), evaluator).freeze(sample))
        assert (metrics["vkdnw"], metrics["vkdnw_single"]) == (by_trial["vkdnw"], by_trial["vkdnw_single"]), fmt.__name__


# ----------------------------------------------------------------------------- NAS strategy


def _run_nas(strategy, budget, evaluator, tmp_path):
    from nni.nas.hub.pytorch import NasBench201
    from vkdnw_nni import run_local_search

    home = os.environ.get("HOME")
    run_local_search(NasBench201(), evaluator, strategy, budget, workdir=tmp_path / "exps")
    assert os.environ.get("HOME") == home and any((tmp_path / "exps").iterdir())  # NNI's files went to workdir


@needs_nni3
def test_strategy_end_to_end_budget_and_seed(tmp_path):
    from vkdnw_nni import VKDNWAggEvolution

    runs = []
    for _ in range(2):
        strategy = VKDNWAggEvolution(population_size=3, max_mflops=60, flops_resolution=32, seed=3)
        _run_nas(strategy, 6, vkdnw_evaluator(**FAST), tmp_path)
        runs.append(strategy)
    first, second = runs
    assert len(first.history) == 6 and first.failed == 0
    assert all(metrics["flops"] <= 60 for _, metrics in first.history)  # never dispatched over budget
    assert first.rejected_over_budget > 0
    assert len(first._population) == 3
    assert [s for s, _ in first.history] == [s for s, _ in second.history]  # seeded
    # one-choice mutation: every child after the initial population differs from some member in one label
    samples = [s for s, _ in first.history]
    for child in samples[3:]:
        assert min(sum(child[k] != other[k] for k in child) for other in samples if other is not child) == 1
    top = first.top_architectures(2)
    assert len(top) == 2 and top[0]["vkdnw_agg"] >= top[1]["vkdnw_agg"]


def _crashing(model, **options):
    from vkdnw_nni.evaluator import evaluate_model

    _crashing.calls = getattr(_crashing, "calls", 0) + 1
    if _crashing.calls % 2 == 0:
        raise RuntimeError("simulated crash")
    evaluate_model(model, **options)


@needs_nni3
def test_strategy_survives_crashing_trials(tmp_path):
    from nni.nas.evaluator import FunctionalEvaluator
    from vkdnw_nni import VKDNWAggEvolution

    strategy = VKDNWAggEvolution(population_size=2, seed=0)
    _run_nas(strategy, 6, FunctionalEvaluator(_crashing, **FAST), tmp_path)
    assert strategy.failed == 3 and len(strategy.history) == 3


# ----------------------------------------------------------------------------- HPO tuner (no nnictl)


def test_tuner_budget_batches_and_failures():
    from vkdnw_nni.spaces import search_space_json

    tuner = VKDNWEvolutionTuner(space="nb201", dataset="cifar10", population_size=2, archs_per_trial=3,
                                max_mflops=40, seed=1)
    tuner.update_search_space(search_space_json("nb201", num_labels=10))
    params = tuner.generate_parameters(0)
    assert len(params["archs"]) == 3
    assert all(tuner.sample_mflops(a) <= 40 for a in params["archs"])
    assert tuner.rejected_over_budget > 0
    entries = []
    for i, arch in enumerate(params["archs"]):
        if i == 1:
            entries.append({"arch": arch, "error": "RuntimeError: boom"})
        else:
            entries.append({"arch": arch, **score_model(build_model("nb201", arch, num_labels=10), **FAST)})
    tuner.receive_trial_result(0, params, {"default": 1.0, "archs": entries})
    tuner.trial_end(0, True)
    assert tuner.failed_archs == 1 and len(tuner.population) == 2
    child = tuner.generate_parameters(1)["archs"][0]  # mutation phase: one choice away from a parent
    assert min(sum(child[k] != e["arch"][k] for k in child) for e in tuner.population) == 1
    tuner.trial_end(1, False)
    assert tuner.failed_trials == 1


@pytest.mark.parametrize("args, field", [
    ({"max_mflops": -1}, "classArgs.max_mflops"),
    ({"space": "darts"}, "classArgs.space"),
    ({"population_size": 1}, "classArgs.population_size"),
    ({"archs_per_trial": 0}, "classArgs.archs_per_trial"),
    ({"bogus": 1}, "classArgs.bogus"),
    ({"optimize_mode": "minimize"}, "classArgs.optimize_mode"),
])
def test_invalid_tuner_args_name_the_field(args, field):
    with pytest.raises(ValueError, match=field.replace(".", r"\.")):
        validate_tuner_args(args)


def test_check_config_names_the_field(tmp_path):
    from vkdnw_nni.cli import ConfigError, check_config

    configs = Path(__file__).resolve().parents[1] / "configs"
    for name in ("vkdnw_nb201.yml", "vkdnw_mbv2.yml", "vkdnw_mbv2_small.yml"):
        check_config(configs / name)
    shutil.copy(configs / "vkdnw_nb201_space.json", tmp_path)
    text = (configs / "vkdnw_nb201.yml").read_text()
    for old, new, field in [("max_mflops: 120", "max_mflops: -3", "tuner.classArgs.max_mflops"),
                            ("--batch 64", "--batch 0", "trialCommand: --batch"),
                            ("trialConcurrency: 2", "trialConcurrency: 0", "trialConcurrency"),
                            ("--dataset cifar10", "--dataset svhn", "trialCommand: --dataset")]:
        bad = tmp_path / "bad.yml"
        bad.write_text(text.replace(old, new))
        with pytest.raises(ConfigError, match=field):
            check_config(bad)


def test_threads_default_to_one_and_local_oversubscription_warns(tmp_path):
    from vkdnw_nni.cli import check_config
    from vkdnw_nni.trial import build_parser, options_from_args

    from vkdnw_plugin.options import OversubscriptionWarning

    assert options_from_args(build_parser().parse_args(["--dataset", "cifar10"])).options.threads == 1
    with pytest.raises(ValueError, match="^--threads 0: expected a positive integer$"):
        options_from_args(build_parser().parse_args(["--dataset", "cifar10", "--threads", "0"]))
    configs = Path(__file__).resolve().parents[1] / "configs"
    shutil.copy(configs / "vkdnw_nb201_space.json", tmp_path)
    crowded = tmp_path / "crowded.yml"
    crowded.write_text((configs / "vkdnw_nb201.yml").read_text().replace("trialConcurrency: 2", f"trialConcurrency: {os.cpu_count() + 1}"))
    with pytest.warns(OversubscriptionWarning, match=f"{os.cpu_count() + 1} torch threads"):
        check_config(crowded)


# ----------------------------------------------------------------------------- offline NB201 DB


def test_offline_nb201_db(tmp_path):
    table = _shared_table()
    if table is None:
        pytest.skip("shared NB201 table not found (set VKDNW_SHARED); offline DB test skipped")
    pytest.importorskip("peewee")
    import pandas as pd

    try:
        from nni.nas.benchmark.nasbench201 import query_nb201_trial_stats
    except ImportError:  # NNI 2.10
        from nni.nas.benchmarks.nasbench201 import query_nb201_trial_stats

    from vkdnw_nni.nb201_db import build_nb201_db, use_nb201_db

    small = tmp_path / "nb201_small.csv"
    pd.read_csv(table).head(5).to_csv(small, index=False)
    path = build_nb201_db(tmp_path / "nb201.db", small, progress=False)
    use_nb201_db(path)
    arch = {"0_1": "conv_3x3", "0_2": "conv_3x3", "0_3": "skip_connect", "1_2": "avg_pool_3x3",
            "1_3": "conv_3x3", "2_3": "skip_connect"}  # NB201 index 1
    row = next(query_nb201_trial_stats(arch, 200, "cifar10"))
    assert row["ori_test_acc"] == pytest.approx(93.66) and row["flops"] == pytest.approx(113.95136)
    assert len(list(query_nb201_trial_stats(None, 200, "imagenet16-120"))) == 5


# ----------------------------------------------------------------------------- real nnictl run


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class _Nnictl:
    """A tiny NB201 experiment for nnictl in ``tmp_path`` (HOME isolated, web server on 127.0.0.1):
    ``run(*args)`` calls nnictl and requires success; ``stop()`` ends every manager it started."""

    def __init__(self, tmp_path: Path, trial: str, max_trials: int):
        self.nnictl = Path(sys.executable).parent / "nnictl"
        if not self.nnictl.exists():
            pytest.skip(f"nnictl not found beside {sys.executable}")
        from vkdnw_nni.loopback import loopback_env
        from vkdnw_nni.spaces import search_space_json

        self.tmp, self.home, self.exps = tmp_path, tmp_path / "home", tmp_path / "exps"
        self.home.mkdir()
        (tmp_path / "space.json").write_text(json.dumps(search_space_json("nb201", num_labels=10)))
        self.config = tmp_path / "tiny.yml"
        self.config.write_text(f"""
searchSpaceFile: space.json
trialCommand: {sys.executable} {trial} --space nb201 --dataset cifar10 --batch 4 --resolution 16 --threads 1
trialCodeDirectory: .
trialConcurrency: 1
maxTrialNumber: {max_trials}
experimentWorkingDirectory: {self.exps}
tuner:
  className: vkdnw_nni.tuner.VKDNWEvolutionTuner
  codeDirectory: .
  classArgs: {{space: nb201, dataset: cifar10, population_size: 3, archs_per_trial: 2, max_mflops: 60, seed: 0}}
trainingService:
  platform: local
""")
        bindir = str(self.nnictl.parent)
        self.env = loopback_env(dict(os.environ, HOME=str(self.home), PATH=f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"))
        self.exp_id = None

    def run(self, *args) -> None:
        out = subprocess.run([str(self.nnictl), *args], check=False, capture_output=True, text=True, env=self.env,
                             cwd=self.tmp, timeout=120)
        assert out.returncode == 0, f"nnictl {' '.join(args)}: {out.stdout}{out.stderr}"

    def create(self) -> Path:
        """Start the experiment; returns its database."""
        self.run("create", "--config", str(self.config), "--port", str(_free_port()))
        self.exp_id = next(iter(json.loads((self.home / "nni-experiments" / ".experiment").read_text())))
        return self.exps / self.exp_id / "db" / "nni.sqlite"

    def stop(self) -> None:
        args = [str(self.nnictl), "stop", self.exp_id] if self.exp_id else [str(self.nnictl), "stop", "--all"]
        subprocess.run(check=False, args=args, capture_output=True, env=self.env, timeout=120)
        _kill_leftover_manager(self.home)


def _finished_trials(db: Path) -> int:
    if not db.is_file():
        return 0
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return con.execute("SELECT COUNT(*) FROM TrialJobEvent WHERE event IN ('SUCCEEDED', 'FAILED')").fetchone()[0]
    except sqlite3.OperationalError:
        return 0
    finally:
        con.close()


def _wait_for_trials(db: Path, n: int, seconds: float = 200) -> int:
    deadline = time.time() + seconds
    while time.time() < deadline and _finished_trials(db) < n:
        time.sleep(1)
    return _finished_trials(db)


def test_nnictl_create_tiny_nb201(tmp_path):
    from vkdnw_nni.report import find_database, load_results, rank_rows
    from vkdnw_nni.report import main as report_main

    # Trial #1 (sequence id 1) crashes; the search must record it as failed and go on.
    (tmp_path / "crashy_trial.py").write_text(
        "import os, sys\n"
        "if os.environ.get('NNI_TRIAL_SEQ_ID') == '1':\n"
        "    raise SystemExit('simulated crash')\n"
        "from vkdnw_nni.trial import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    experiment = _Nnictl(tmp_path, "crashy_trial.py", max_trials=3)
    try:
        db = experiment.create()
        assert _wait_for_trials(db, 3) == 3, f"see {experiment.exps}"
        rows, summary = load_results(find_database(experiment.exp_id, str(experiment.exps)))
        assert summary["failed_trials"] == 1 and summary["succeeded_trials"] == 2
        assert len(rows) == 4 and all(r["flops"] <= 60 for r in rows)
        ranked = rank_rows(rows)
        assert ranked[0]["vkdnw_agg"] >= ranked[-1]["vkdnw_agg"]
        assert report_main([experiment.exp_id, "--experiment-dir", str(experiment.exps)]) == 0
    finally:
        experiment.stop()


def test_nnictl_stop_then_resume_continues_the_search_without_rescoring(tmp_path):
    """`nnictl stop` then `nnictl resume`: NNI hands the finished trials back to the tuner
    (import_data), which rebuilds its population and its set of scored networks, so the resumed
    search mutates the old population and scores no network twice."""
    from vkdnw_nni.report import find_database, load_results

    from vkdnw_plugin.evolution import architecture_key

    experiment = _Nnictl(tmp_path, "-m vkdnw_nni.trial", max_trials=2)
    try:
        db = experiment.create()
        assert _wait_for_trials(db, 2) == 2
        experiment.run("stop", experiment.exp_id)
        experiment.run("resume", experiment.exp_id, "--port", str(_free_port()))
        experiment.run("update", "trialnum", experiment.exp_id, "--value", "4")
        assert _wait_for_trials(db, 4) == 4, f"see {experiment.exps}"
        rows, summary = load_results(find_database(experiment.exp_id, str(experiment.exps)))
        assert summary["succeeded_trials"] == 4 and len(rows) == 8
        keys = [architecture_key(row["arch"]) for row in rows]
        assert len(set(keys)) == 8, "a network was scored twice"
        for i in range(4, 8):  # after the resume: each a one-choice mutation of an earlier network
            arch = rows[i]["arch"]
            assert min(sum(arch[k] != row["arch"][k] for k in arch) for row in rows[:i]) == 1
    finally:
        experiment.stop()


def _kill_leftover_manager(home: Path) -> None:
    """nnictl does not stop a manager whose experiment is in ERROR state: end the Node process this
    test started (its pid is in the isolated registry), so no server outlives the test."""
    import signal

    registry = home / "nni-experiments" / ".experiment"
    if not registry.is_file():
        return
    for entry in json.loads(registry.read_text()).values():
        pid = entry.get("pid")
        if not pid:
            continue
        try:
            if "nni_node" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace"):
                continue  # already gone (the pid may belong to someone else now)
        except OSError:
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
