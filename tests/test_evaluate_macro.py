"""``vkdnw evaluate --space nas-bench-macro``: ground truth, baselines and VKDNW checked against the
benchmark's own files and against the one scoring protocol."""

import json
import logging

import numpy as np
import pandas as pd
import pytest

from vkdnw_plugin import __version__
from vkdnw_plugin.cache import ResultCache
from vkdnw_plugin.cli import main
from vkdnw_plugin.evaluate import EvaluateConfig, run_scoring
from vkdnw_plugin.groundtruth import ground_truth, load_nas_bench_macro, select_codes
from vkdnw_plugin.options import OptionError
from vkdnw_plugin.ranking import single_key
from vkdnw_plugin.scoring import score_architecture
from vkdnw_plugin.spaces.nas_bench_macro import layer_features, non_identity_blocks
from vkdnw_plugin.vkdnw_options import VKDNWOptions

BATCH = 4
ARGS = ["--space", "nas-bench-macro", "--archs", "sample:5", "--sample-seed", "3", "--batch", str(BATCH),
        "--proxies", "vkdnw_single,vkdnw,blocks,params,flops,jacov", "--bootstrap", "10"]  # fmt: skip


def test_blocks_and_layer_features_count_the_code():
    assert non_identity_blocks("00000000") == 0 and non_identity_blocks("12021002") == 5
    features = layer_features("20000001")
    assert features["layer0_choice2"] == 1 and features["layer0_choice0"] == 0 and features["layer7_choice1"] == 1
    assert sum(features.values()) == 8 + 2


def test_select_codes_is_seeded_and_names_bad_subsets(shared):
    frame = load_nas_bench_macro()
    a, b = select_codes(frame, "sample:7", seed=1), select_codes(frame, "sample:7", seed=1)
    assert list(a.code) == list(b.code) == sorted(a.code) and len(set(a.code)) == 7
    assert list(select_codes(frame, "sample:7", seed=2).code) != list(a.code)
    assert len(select_codes(frame, "all")) == 6561
    for subset in ("unique", "sample:0", "sample:7000"):
        with pytest.raises(OptionError, match="subset="):
            select_codes(frame, subset)


def test_ground_truth_is_the_benchmark_mean_accuracy(shared):
    with open(shared / "data/nas_bench_macro/nas_bench_macro_cifar10.json") as handle:
        raw = json.load(handle)
    truth = ground_truth("nas-bench-macro", subset="sample:20", seed=5)
    assert len(truth) == 20
    for code, accuracy in truth.items():
        assert accuracy == pytest.approx(np.mean(raw[code]["test_acc"]), abs=1e-6)
    with pytest.raises(ValueError, match="not a dataset of space nas-bench-macro; expected one of cifar10"):
        ground_truth("nas-bench-macro", "cifar100")


def test_macro_evaluate_report_and_baselines(tmp_path, shared, capsys):
    out = tmp_path / "out"
    assert main(["evaluate", *ARGS, "--cache", str(tmp_path / "c.sqlite"), "--out", str(out)]) == 0
    scores = pd.read_csv(out / "scores.csv", index_col="arch", dtype={"arch": str})
    archs = pd.read_csv(shared / "data/nas_bench_macro/nas_bench_macro_archs.csv", dtype={"arch": str}).set_index("arch")
    truth = load_nas_bench_macro().set_index("code")
    assert len(scores) == 5 and all(len(code) == 8 for code in scores.index)
    for code, row in scores.iterrows():
        assert row.blocks == sum(c != "0" for c in code)  # read off the code independently
        assert row.params * 1e6 == pytest.approx(archs.loc[code, "params"], abs=0.5)  # the benchmark's own counts
        assert row.flops * 1e6 == pytest.approx(archs.loc[code, "flops"], rel=1e-9)
        assert row.accuracy == pytest.approx(truth.loc[code, "mean_acc"])
        core = score_architecture("nas-bench-macro", code, seed=0, batch=BATCH)["reference"]  # the one protocol
        assert row.vkdnw == core.entropy and row.vkdnw_single == single_key(core.dim, core.entropy, n_quantiles=11)
    report = (out / "report.md").read_text()
    assert "**space**: nas-bench-macro" in report and "NAS-Bench-Macro CIFAR-10 test accuracy" in report
    assert '"tensor_policy": "random"' in report and '"n_quantiles": 11' in report
    assert "| blocks | 5 |" in report and "| jacov | 5 |" in report
    assert "blocks" in capsys.readouterr().out


def test_macro_model_driven_uses_layer_features(tmp_path, shared):
    out = tmp_path / "out"
    args = ["--space", "nas-bench-macro", "--archs", "sample:10", "--batch", "2", "--proxies", "model_driven",
            "--bootstrap", "0", "--cache", str(tmp_path / "c.sqlite"), "--out", str(out)]  # fmt: skip
    assert main(["evaluate", *args]) == 0
    scores = pd.read_csv(out / "scores.csv", index_col="arch", dtype={"arch": str})
    assert scores.model_driven.notna().all()


def test_macro_rejects_what_it_has_no_data_for(tmp_path, shared, capsys):
    base = ["evaluate", "--space", "nas-bench-macro", "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o")]
    for extra, message in (
        (["--dataset", "cifar100"], "--dataset cifar100: not a dataset of space nas-bench-macro; expected one of cifar10"),
        (["--archs", "unique"], "--archs unique: unknown; expected one of all, sample:N, sample:N@all"),
        (["--import-scores", "cifar10"], "--import-scores cifar10: names none of the nas-bench-macro architectures"),
    ):
        assert main([*base, *extra]) == 2
        assert message in capsys.readouterr().err
    with pytest.raises(OptionError, match="proxies"):
        EvaluateConfig(dataset="cifar10", proxies=["blocks"], archs=["0", "1", "2"], seeds=[0])
    assert not (tmp_path / "c.sqlite").exists()


def test_changed_option_is_rescored_and_said(tmp_path, shared, caplog):
    """A cached row is only used under the options it was computed with; rows under other options are
    announced in one line (issue: a changed option returned stale cached scores)."""
    codes = ["00000000", "12121212", "22000011"]
    cache = ResultCache(tmp_path / "c.sqlite")
    try:
        values = {}
        for direction in ("reverse", "forward"):
            config = EvaluateConfig(dataset="cifar10", proxies=["vkdnw"], archs=codes, seeds=[0], space="nas-bench-macro",
                                    options=VKDNWOptions(modes="exact", batch=2, direction=direction))  # fmt: skip
            with caplog.at_level(logging.WARNING, logger="vkdnw_plugin.evaluate"):
                assert run_scoring(config, cache, progress=False) == 3  # nothing reused across directions
            rows = cache.rows("nas-bench-macro", "cifar10", 2, config.options.cache_options())
            values[direction] = {r["arch"]: r["value"] for r in rows}
        assert [r.message for r in caplog.records if "other scoring options" in r.message] == [
            f"3 results of nas-bench-macro/cifar10/batch 2 in the cache {cache.path} were computed under other scoring "
            f'options or by another vkdnw-plugin version; they are not used (this run: {{"compile": false, "device": "cpu", '
            f'"direction": "forward", "n_quantiles": 11, "n_tensors": 128, "resolution": 32, "tensor_policy": "random"}}, version {__version__})'
        ]
        for code in codes:  # both directions compute the same Fisher matrix
            assert values["forward"][code] == pytest.approx(values["reverse"][code], abs=1e-5)
        assert run_scoring(config, cache, progress=False) == 0  # same options again: all from the cache
    finally:
        cache.close()
