import os
import signal
import sqlite3
import subprocess
import sys
import time

import pandas as pd
import pytest

from vkdnw_plugin.cache import CacheError, ResultCache

ARGS = ["--dataset", "ImageNet16-120", "--archs", "sample:6", "--proxies", "vkdnw_single,flops,n_layers",
        "--batch", "4", "--bootstrap", "10", "--threads", "1"]  # fmt: skip


def test_foreign_or_corrupt_cache_is_refused_and_left_alone(tmp_path):
    text = tmp_path / "notes.sqlite"
    text.write_text("not a database at all")
    with pytest.raises(CacheError, match="not a vkdnw-plugin cache"):
        ResultCache(text)
    assert text.read_text() == "not a database at all"
    other = tmp_path / "other.sqlite"
    db = sqlite3.connect(other)
    db.execute("CREATE TABLE meta (key TEXT, value TEXT)")
    db.execute("INSERT INTO meta VALUES ('schema', 'someone-else/3')")
    db.commit()
    db.close()
    before = other.read_bytes()
    with pytest.raises(CacheError, match="someone-else/3"):
        ResultCache(other)
    assert other.read_bytes() == before


def test_cache_round_trip(tmp_path):
    cache = ResultCache(tmp_path / "c.sqlite")
    cache.put("nb201", "a", "cifar10", "flops", 0, "-", 64, 1.5, {"seconds": 0.1})
    cache.put("nb201", "a", "cifar10", "jacov", 0, "-", 64, float("nan"))
    cache.close()
    again = ResultCache(tmp_path / "c.sqlite")
    rows = {r["proxy"]: r for r in again.rows("nb201", "cifar10", 64)}
    assert rows["flops"]["value"] == 1.5 and rows["flops"]["fields"] == {"seconds": 0.1}
    assert pd.isna(rows["jacov"]["value"])
    assert again.done("nb201", "cifar10", 64) == {("a", "flops", 0, "-"), ("a", "jacov", 0, "-")}


def stored(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT arch, proxy, seed, mode FROM results").fetchall()
    except sqlite3.DatabaseError:
        return []
    finally:
        db.close()


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGINT])
def test_killed_run_resumes_without_loss_duplicates_or_recomputation(tmp_path, shared, sig):
    cache, out = tmp_path / "cache.sqlite", tmp_path / "out"
    # batch 16 and three seeds: long enough (18 networks) that the signal lands while scoring
    command = [sys.executable, "-m", "vkdnw_plugin.cli", "evaluate", *ARGS, "--batch", "16", "--seeds", "0..2", "--cache", str(cache),
               "--out", str(out)]  # fmt: skip
    env = {**os.environ, "VKDNW_SHARED": str(shared)}
    # default SIGINT handling even when this test runs under a shell that ignores it (a background job)
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    deadline = time.time() + 240
    while time.time() < deadline and len(stored(cache)) < 3 and proc.poll() is None:
        time.sleep(0.2)
    assert proc.poll() is None, "run finished before it could be interrupted; make the test workload larger"
    proc.send_signal(sig)
    proc.wait(timeout=60)
    before = stored(cache)
    total_networks, per_network = 6 * 3, 3  # vkdnw_single[reference], flops, n_layers
    complete = {(a, s) for a, p, s, m in before}
    complete = {key for key in complete if sum(1 for a, p, s, m in before if (a, s) == key) == per_network}
    assert 0 < len(before) < total_networks * per_network
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    after = stored(cache)
    assert set(before) <= set(after) and len(after) == len(set(after)) == total_networks * per_network
    report = (out / "report.md").read_text()
    assert f"**networks scored this run**: {total_networks - len(complete)}" in report
    scores = pd.read_csv(out / "scores.csv", index_col=0)
    assert len(scores) == 6 and scores["vkdnw_single"].notna().all()


def test_bad_evaluate_input_is_one_line(tmp_path, shared):
    for args, word in ((["--proxies", "vkdnw,magic"], "magic"), (["--archs", "some"], "some"), (["--dataset", "svhn"], "svhn")):
        proc = subprocess.run([sys.executable, "-m", "vkdnw_plugin.cli", "evaluate", *args, "--cache", str(tmp_path / "c.sqlite"),
                               "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120,
                              env={**os.environ, "VKDNW_SHARED": str(shared)})  # fmt: skip
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and word in lines[0], proc.stderr


def test_agg_components_may_be_imported_columns(tmp_path, shared):
    """VKDNW_agg over a computed proxy, an imported Suite-Zero column and FLOPs equals Σ log(rank/N)
    computed here with scipy from the written per-component scores."""
    import numpy as np
    from scipy.stats import rankdata

    components = ["vkdnw_single", "suite0:jacov", "flops"]
    args = ["--dataset", "ImageNet16-120", "--archs", "sample:8", "--proxies", "vkdnw_agg", "--batch", "4", "--bootstrap", "10",
            "--threads", "1", "--import-scores", "ImageNet16-120", "--agg-components", ",".join(components)]  # fmt: skip
    env = {**os.environ, "VKDNW_SHARED": str(shared)}
    proc = subprocess.run([sys.executable, "-m", "vkdnw_plugin.cli", "evaluate", *args, "--cache", str(tmp_path / "c.sqlite"),
                           "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    scores = pd.read_csv(tmp_path / "o" / "scores.csv", index_col=0)
    assert "jacov" not in scores and "az_expressivity" not in scores  # the default components were not computed
    expected = sum(np.log(rankdata(scores[c]) / len(scores)) for c in components)
    np.testing.assert_allclose(scores["vkdnw_agg"], expected, rtol=1e-12)
    assert "**VKDNW_agg components**: vkdnw_single, suite0:jacov, flops" in (tmp_path / "o" / "report.md").read_text()

    for bad, word in (("vkdnw_single,suite0:jacov", "--import-scores"), ("vkdnw_single,magic", "magic")):
        extra = ["--agg-components", bad, "--proxies", "vkdnw_agg", "--archs", "sample:3"]
        proc = subprocess.run([sys.executable, "-m", "vkdnw_plugin.cli", "evaluate", *extra, "--cache", str(tmp_path / "c2.sqlite"),
                               "--out", str(tmp_path / "o2")], capture_output=True, text=True, timeout=120, env=env)  # fmt: skip
        lines = proc.stderr.strip().splitlines()
        assert proc.returncode == 2 and len(lines) == 1 and word in lines[0], proc.stderr


def test_per_seed_metrics_rank_each_seed_on_its_own(tmp_path, shared):
    """per_seed_metrics.csv: each seed's KT/SPR equal scipy's on that seed's cached values alone."""
    from scipy.stats import kendalltau, spearmanr

    cache, out = tmp_path / "c.sqlite", tmp_path / "o"
    proc = subprocess.run([sys.executable, "-m", "vkdnw_plugin.cli", "evaluate", *ARGS, "--seeds", "0..1", "--cache", str(cache),
                           "--out", str(out)], capture_output=True, text=True, timeout=600,
                          env={**os.environ, "VKDNW_SHARED": str(shared)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    per_seed = pd.read_csv(out / "per_seed_metrics.csv").set_index(["seed", "proxy"])
    db = sqlite3.connect(cache)
    stored_rows = pd.DataFrame(db.execute("SELECT arch, proxy, seed, value FROM results").fetchall(), columns=["arch", "proxy", "seed", "value"])
    db.close()
    accuracy = pd.read_csv(shared / "data" / "nb201" / "nb201_accuracy.csv").set_index("arch_str")["in16_test"]
    for seed in (0, 1):
        values = stored_rows[(stored_rows.proxy == "vkdnw_single") & (stored_rows.seed == seed)].set_index("arch").value
        acc = accuracy.reindex(values.index).to_numpy()
        assert per_seed.loc[(seed, "vkdnw_single"), "kt"] == pytest.approx(kendalltau(values, acc)[0], abs=1e-12)
        assert per_seed.loc[(seed, "vkdnw_single"), "spr"] == pytest.approx(spearmanr(values, acc)[0], abs=1e-12)
    assert "## Per seed" in (out / "report.md").read_text()
