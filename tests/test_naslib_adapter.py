"""NASLib adapter: registration, ZeroCost = core engine, vkdnw_agg, runner, compare, search, errors.

Skipped as a whole when NASLib cannot be imported (it is not on PyPI; see
integrations/vkdnw_naslib/README.md). Runner/search tests also need the shared NB201 table.
All CIFAR-free: random-input batches; small batches and budgets keep the module within minutes.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

try:
    import vkdnw_naslib
except ImportError as exc:  # NASLib absent (CI cannot reach GitHub)
    pytest.skip(f"NASLib is not importable, NASLib adapter tests skipped: {str(exc).splitlines()[0]}",
                allow_module_level=True)

from naslib.predictors import ZeroCost  # noqa: E402
from naslib.predictors.utils.pruners import measures as naslib_measures  # noqa: E402
from naslib.search_spaces import NasBench201SearchSpace  # noqa: E402
from vkdnw_naslib import measures  # noqa: E402
from vkdnw_naslib.config import ConfigError, load_config  # noqa: E402
from vkdnw_naslib.predictor import VKDNWAggPredictor, make_predictor, predictor_names  # noqa: E402

from vkdnw_plugin.cache import ResultCache  # noqa: E402
from vkdnw_plugin.engine import vkdnw_score  # noqa: E402
from vkdnw_plugin.proxies import list_aliases, list_proxies  # noqa: E402
from vkdnw_plugin.ranking import single_key, single_value  # noqa: E402
from vkdnw_plugin.scoring import init_like_reference, score_architecture, score_network  # noqa: E402
from vkdnw_plugin.vkdnw_options import OptionDeprecationWarning, VKDNWOptions  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"
SHARED = Path(os.environ.get("VKDNW_SHARED", ROOT.parent / "shared"))
needs_table = pytest.mark.skipif(
    not (SHARED / "data/nb201/nb201_accuracy.csv").is_file() and not os.environ.get("VKDNW_NB201_TABLE"),
    reason=f"NB201 ground-truth table not found under {SHARED} (set VKDNW_SHARED)",
)
SPEC = (4, 3, 3, 3, 2, 3)


@pytest.fixture(autouse=True)
def _defaults():
    torch.set_num_threads(1)
    measures.configure()
    yield
    measures.configure()


def graph(spec=SPEC, n_classes=10):
    g = NasBench201SearchSpace(n_classes=n_classes)
    g.set_spec(spec)
    g.parse()
    return g


def batch(n=8, classes=10, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(n, 3, 32, 32, generator=gen), torch.randint(0, classes, (n,), generator=gen)


def test_registration_and_idempotent_import():
    for name in measures.OUR_MEASURES:
        assert name in naslib_measures._measure_impls
    assert measures.register_measures() == []
    importlib.reload(vkdnw_naslib)  # importing again must not raise (NASLib raises on duplicates)
    assert naslib_measures.available_measures.count("vkdnw") == 1
    names = predictor_names()
    assert "vkdnw_agg" in names["ours"] and "synflow" in names["naslib"]


def test_every_registry_proxy_and_alias_is_a_naslib_measure():
    """Every name of the core registry (proxies and aliases) is accepted by NASLib's ZeroCost: NASLib's
    own for its built-ins (flops and params are computed by find_measures itself), ours for the rest."""
    names = [*list_proxies(), *list_aliases()]
    assert {"vkdnw", "vkdnw_single", "vkdnw_entropy", "n_layers", "vkdnw_dim", "zico", "az_progressivity"} <= set(names)
    predictors = predictor_names()
    for name in names:
        assert name in naslib_measures._measure_impls or name in ("flops", "params"), name
        assert name in predictors["ours"] or name in predictors["naslib"], name
        assert make_predictor(name).method_type == name
    assert set(measures.OUR_MEASURES) == set(names) - set(predictors["naslib"])
    loader = [batch(8, classes=10)]
    for name in ("n_weight_layers", "zico", "az_progressivity"):
        value = ZeroCost(method_type=name).query(graph(), dataloader=loader)
        assert math.isfinite(value) and value != -1e8, name


def test_vkdnw_measures_on_nb201_graphs_equal_score_network():
    """vkdnw, vkdnw_single, vkdnw_entropy, n_layers and its alias vkdnw_dim on a NASLib NB201 graph are
    exactly score_network("nb201", op tuple, options, [name]) with the batch's size, and the dim
    measures equal the VKDNW result's dim."""
    measures.configure(seed=2, n_tensors=64)
    options = VKDNWOptions(seed=2, n_tensors=64, batch=8)
    loader = [batch(8, classes=10, seed=5)]
    for spec in (SPEC, (0, 1, 2, 3, 4, 0)):
        core = score_network("nb201", spec, options, ["vkdnw", "vkdnw_single", "vkdnw_entropy", "n_layers", "vkdnw_dim"],
                             dataset="cifar10")
        values = core.values()
        assert values["n_layers"] == values["vkdnw_dim"] == core.results["reference"].dim
        for name, value in values.items():
            assert ZeroCost(method_type=name).query(graph(spec, 10), dataloader=loader) == value, name
            assert score_network("nb201", spec, options, [name], dataset="cifar10").values()[name] == value, name


def test_zerocost_vkdnw_equals_core_engine_on_same_weights():
    g = graph()
    x, y = batch()
    measures.configure(init="keep")
    naslib_entropy = ZeroCost(method_type="vkdnw").query(g, dataloader=[(x, y)])
    core = vkdnw_score(copy.deepcopy(g).eval(), x)
    assert core.valid
    assert naslib_entropy == pytest.approx(core.entropy, abs=1e-9)

    # Reference initialisation with a fixed seed: the same as the core on that initialisation.
    measures.configure(init="reference", seed=3)
    core = vkdnw_score(init_like_reference(copy.deepcopy(g), seed=3), x)
    for name in ("vkdnw", "vkdnw_entropy"):  # vkdnw_entropy is the registry's alias of vkdnw
        assert ZeroCost(method_type=name).query(g, dataloader=[(x, y)]) == pytest.approx(core.entropy, abs=1e-9)
    single = ZeroCost(method_type="vkdnw_single").query(g, dataloader=[(x, y)])
    assert single == pytest.approx(single_key(core.dim, core.entropy), abs=1e-9)


def test_nb201_graphs_get_the_core_numbers_from_every_naslib_door(tmp_path):
    """ZeroCost("vkdnw"/"vkdnw_single") on NASLib NB201 graphs (the default init="protocol") equals
    the core's score_architecture for the same arch, seed and batch size, whatever NASLib's batch
    holds and whatever torch's global RNG state is."""
    from test_doors import ARCHS, BATCH, SEED

    from vkdnw_plugin.spaces.nb201 import parse_arch

    measures.configure(seed=SEED)
    for arch in ARCHS:
        spec = parse_arch(arch).naslib
        core = score_architecture("nb201", arch, dataset="cifar100", seed=SEED, batch=BATCH)["reference"]
        torch.manual_seed(123)
        loader = [batch(BATCH, classes=100, seed=7)]
        assert ZeroCost(method_type="vkdnw").query(graph(spec, 100), dataloader=loader) == core.entropy
        assert ZeroCost(method_type="vkdnw_single").query(graph(spec, 100), dataloader=loader) == single_value(core)


def test_aznas_measures_on_naslib_graph_are_finite():
    g = graph()
    x, y = batch()
    expr = ZeroCost(method_type="az_expressivity").query(g, dataloader=[(x, y)])
    train = ZeroCost(method_type="az_trainability").query(g, dataloader=[(x, y)])
    assert math.isfinite(expr) and expr > 0 and expr != -1e8
    assert math.isfinite(train) and train != -1e8


def test_vkdnw_agg_predictor_ranks_a_set():
    graphs = [graph(s) for s in [(2, 2, 2, 2, 2, 2), (0, 1, 1, 1, 1, 1), SPEC]]
    x, y = batch()
    predictor = make_predictor("vkdnw_agg")
    assert isinstance(predictor, VKDNWAggPredictor)
    values = predictor.query(graphs, dataloader=[(x, y)])
    assert values.shape == (3,) and np.all(values <= 0)
    assert set(predictor.last_components) == set(predictor.components)
    # The cell whose output node gets only 'none' edges is input-independent and ranks last.
    assert values[1] == values.min() and values[1] < values[0]
    with pytest.raises(TypeError, match="collection"):
        predictor.query(graphs[0], dataloader=[(x, y)])


def test_unknown_predictor_lists_ours_and_naslibs():
    with pytest.raises(ValueError) as info:
        make_predictor("vkdwn")
    message = str(info.value)
    assert "vkdwn" in message and "vkdnw_agg" in message and "synflow" in message and "jacov" in message


@needs_table
def test_config_errors_name_the_key(tmp_path):
    cfg = CONFIGS / "naslib_zc_vkdnw.yaml"
    cases = [
        (["dataset", "cifar11"], "dataset"),
        (["test_size", "1"], "test_size"),
        (["ndcg_k", "[0]"], "ndcg_k"),
        (["arch_subset", "'some'"], "arch_subset"),
        (["vkdnw.compile", "yes please"], "vkdnw.compile='yes please': expected True or False"),
    ]
    for overrides, key in cases:
        with pytest.raises(ConfigError, match=f"^{key}"):
            load_config(cfg, overrides + ["out_dir", str(tmp_path)])
    bad = tmp_path / "bad.yaml"
    bad.write_text(cfg.read_text().replace("  modes: reference", "  mdoes: reference"))
    with pytest.raises(ConfigError, match="^vkdnw"):
        load_config(bad, ["out_dir", str(tmp_path)])
    missing = tmp_path / "missing.yaml"
    missing.write_text(cfg.read_text().replace("dataset: cifar10", ""))
    with pytest.raises(ConfigError, match="^dataset"):
        load_config(missing, ["out_dir", str(tmp_path)])
    from vkdnw_naslib.cli import main

    assert main(["zc", "--config-file", str(cfg), "predictor", "nope", "out_dir", str(tmp_path)]) == 2


@needs_table
def test_overrides_of_null_and_list_keys_and_unknown_keys(tmp_path, capsys):
    from vkdnw_naslib.cli import main

    from vkdnw_plugin.paths import nb201_table_path

    cfg = CONFIGS / "naslib_compare.yaml"
    config = load_config(cfg, ["nb201_table", str(nb201_table_path()), "ndcg_k", "10", "predictors", "vkdnw",
                               "vkdnw.modes", "exact", "out_dir", str(tmp_path)])  # nb201_table ships as null
    assert (config.nb201_table, config.ndcg_k, config.predictors) == (str(nb201_table_path()), [10], ["vkdnw"])
    assert config.vkdnw.modes == "exact" and config.vkdnw.init == "protocol"  # the file's other vkdnw keys stay
    with pytest.warns(OptionDeprecationWarning, match="mode is deprecated"):  # the old spelling, renamed
        config = load_config(cfg, ["vkdnw.mode", "exact", "out_dir", str(tmp_path)])
    assert dict(config.vkdnw) == {"modes": "exact", "init": "protocol"}
    for key in ("bogus_key", "vkdnw.bogus", "search.epochz"):
        with pytest.raises(ConfigError, match=f"^{key}: unknown key"):
            load_config(cfg, [key, "3", "out_dir", str(tmp_path)])
    bad_file = tmp_path / "bad.yaml"
    bad_file.write_text(cfg.read_text() + "tset_size: 5\n")
    with pytest.raises(ConfigError, match="^tset_size: unknown key in"):
        load_config(bad_file)
    assert main(["zc", "--config-file", str(CONFIGS / "naslib_zc_vkdnw.yaml"), "bogus_key", "3"]) == 2
    error = capsys.readouterr().err.strip()
    assert error.startswith("vkdnw-naslib zc: error: bogus_key: unknown key") and "\n" not in error


@needs_table
def test_zc_runner_end_to_end(tmp_path, capsys):
    from vkdnw_naslib.cli import main

    cfg = CONFIGS / "naslib_zc_vkdnw.yaml"
    args = ["zc", "--config-file", str(cfg), "--quiet", "test_size", "20", "batch_size", "8", "out_dir", str(tmp_path)]
    assert main(args) == 0
    scores = tmp_path / "zc_example/nasbench201/cifar10/vkdnw_single/0/scores.json"
    results = json.loads(scores.read_text())
    metrics = results[-1]
    assert results[0]["predictor"] == "vkdnw_single"  # NASLib's config entry first
    assert len(metrics["full_ytest"]) == 20 and len(set(map(tuple, metrics["archs"]))) == 20
    for key in ("kendalltau", "spearman", "ndcg@10", "ndcg@100", "ndcg@1000", "pearson"):
        assert math.isfinite(metrics[key]), key
    assert metrics["kendalltau"] == pytest.approx(metrics["kendalltau_check"], abs=1e-12)
    assert 0 < metrics["ndcg@10"] <= 1


@needs_table
def test_compare_table_small(tmp_path):
    from vkdnw_naslib.runner import run_compare

    config = load_config(
        CONFIGS / "naslib_compare.yaml",
        ["test_size", "4", "batch_size", "8", "out_dir", str(tmp_path), "predictors", "['vkdnw','vkdnw_agg','synflow']"],
    )
    out = run_compare(config, progress=False)
    names = [row["predictor"] for row in out["rows"]]
    assert sorted(names) == ["synflow", "vkdnw", "vkdnw_agg"]
    for row in out["rows"]:
        assert row["kt"] == pytest.approx(row["naslib_kendalltau"], abs=1e-12)
        assert row["seconds_per_arch"] > 0 and row["n"] == 4 and {"ndcg@10", "regret@1", "kt_lo"} <= set(row)
    save = Path(config.save)
    for name in ("compare_table.md", "compare_table.csv", "report.md", "rank_vs_accuracy.png", "ndcg_at_k.png"):
        assert (save / name).is_file(), name
    assert "| vkdnw_agg |" in (save / "report.md").read_text()
    assert json.loads((save / "compare_table.json").read_text())["n_archs"] == 4
    # VKDNW_agg is the core's aggregation of the cached component scores, and costs their sum.
    rows = {(row["arch"], row["proxy"]): row for row in cached_rows(config)}
    archs = sorted({arch for arch, _ in rows})
    assert len(rows) == 4 * 7  # vkdnw, synflow and the five components
    from vkdnw_plugin.metrics import kendall_tau
    from vkdnw_plugin.ranking import AGG_COMPONENTS, aggregate_ranks
    from vkdnw_plugin.spaces.nb201 import parse_arch

    agg = aggregate_ranks({c: [rows[(a, c)]["value"] for a in archs] for c in AGG_COMPONENTS})
    table = load_nb201_table_for(config)
    agg_row = next(row for row in out["rows"] if row["predictor"] == "vkdnw_agg")
    assert agg_row["kt"] == pytest.approx(kendall_tau([table[parse_arch(a).naslib] for a in archs], agg), abs=1e-12)
    assert agg_row["seconds_per_arch"] == pytest.approx(
        np.mean([sum(rows[(a, c)]["fields"]["seconds"] for c in AGG_COMPONENTS) for a in archs]))


def load_nb201_table_for(config):
    """{NASLib op tuple: accuracy} of the config's ground truth."""
    from vkdnw_naslib.config import ground_truth_column
    from vkdnw_naslib.evaluator import nb201_ground_truth

    from vkdnw_plugin.groundtruth import load_nb201_table

    return nb201_ground_truth(load_nb201_table(config.nb201_table), ground_truth_column(config), "all")


def cached_rows(config):
    """The rows `compare` stored for ``config`` in its result cache."""
    from vkdnw_naslib.runner import compare_key

    cache = ResultCache(Path(config.save) / "compare_cache.sqlite")
    try:
        return [row for row in cache.rows(*compare_key(config)) if row["seed"] == config.seed]
    finally:
        cache.close()


@needs_table
def test_compare_rescores_when_an_option_changes(tmp_path):
    """compare_cache.sqlite rows are keyed by their scoring options: a rerun in the same out_dir with
    another vkdnw.modes scores again (never returns the other mode's rows), a rerun with the same
    options scores nothing, and another n_tensors is another key."""
    from vkdnw_naslib.runner import run_compare

    def run(mode, *more):
        config = load_config(CONFIGS / "naslib_compare.yaml", ["test_size", "3", "batch_size", "4", "out_dir", str(tmp_path),
                                                                "predictors", "vkdnw", "vkdnw.modes", mode, *more])
        out = run_compare(config, progress=False)
        return config, cached_rows(config), out

    _, reference, _ = run("reference")
    _, both, _ = run("exact")
    config, again, out = run("exact")
    assert len(reference) == 3 and len(both) == 6 and len(again) == 6 and again == both
    assert out["wall_s"] < 5  # nothing scored again
    exact = [row for row in both if row["mode"] == "exact"]
    assert len(exact) == 3 and {row["arch"] for row in exact} == {row["arch"] for row in reference}
    for row in exact:
        core = score_architecture("nb201", row["arch"], seed=0, batch=4, modes="exact")["exact"]
        assert row["value"] == core.entropy and row["fields"]["seconds"] > 0
    config, fewer, _ = run("exact", "vkdnw.n_tensors", "32")
    assert len(fewer) == 3 and all(row["mode"] == "exact" for row in fewer)


@needs_table
def test_compare_cli_prints_its_table_once(tmp_path, capfd):
    from vkdnw_naslib.cli import main

    args = ["compare", "--config-file", str(CONFIGS / "naslib_compare.yaml"), "--quiet", "test_size", "3",
            "batch_size", "4", "predictors", "flops", "out_dir", str(tmp_path)]
    assert main(args) == 0
    out, err = capfd.readouterr()
    assert (out + err).count("| predictor | KT |") == 1


@needs_table
def test_zc_compare_and_search_give_the_core_numbers(tmp_path):
    """`vkdnw-naslib zc`, `compare` and `search` with one seed and batch size give every architecture
    the core's VKDNW_single (score_architecture under that seed and batch), exactly."""
    from vkdnw_naslib.cli import main
    from vkdnw_naslib.runner import run_compare
    from vkdnw_naslib.search import run_search

    def core(arch):
        return single_value(score_architecture("nb201", arch if isinstance(arch, str) else str(tuple(arch)), seed=0,
                                               batch=8)["reference"])

    fast = ["batch_size", "8", "seed", "0"]
    assert main(["zc", "--config-file", str(CONFIGS / "naslib_zc_vkdnw.yaml"), "--quiet", "test_size", "3", *fast,
                 "out_dir", str(tmp_path / "zc")]) == 0
    metrics = json.loads(next((tmp_path / "zc").rglob("scores.json")).read_text())[-1]
    assert metrics["predictions"] == [core(spec) for spec in metrics["archs"]]
    config = load_config(CONFIGS / "naslib_compare.yaml",
                         ["test_size", "3", *fast, "out_dir", str(tmp_path / "compare"), "predictors", "['vkdnw_single']"])
    run_compare(config, progress=False)
    rows = cached_rows(config)
    assert len(rows) == 3 and [row["value"] for row in rows] == [core(row["arch"]) for row in rows]
    shared = {}
    config = load_config(CONFIGS / "naslib_re_vkdnw.yaml", [*fast, "out_dir", str(tmp_path / "search"),
                                                              "search.epochs", "3", "search.population_size", "3"])
    run_search(config, fitness="vkdnw_single", shared_scores=shared)
    assert shared and all(value == core(spec) for (spec, _), (value, _) in shared.items())


@needs_table
def test_search_end_to_end(tmp_path):
    from vkdnw_naslib.search import run_search

    config = load_config(
        CONFIGS / "naslib_re_vkdnw.yaml",
        ["batch_size", "8", "out_dir", str(tmp_path), "search.epochs", "6", "search.population_size", "3"],
    )
    result = run_search(config, fitness="vkdnw")
    assert result["n_queries"] == 6 and 1 <= result["n_scored"] <= 6
    assert all(type(op) is int for op in result["picked"])
    assert 0 < result["test_accuracy"] <= 100 and result["wall_seconds"] > 0
    assert result["test_accuracy"] <= result["best_test_accuracy_among_scored"]
    with pytest.raises(ConfigError, match="^search.fitness"):
        run_search(config, fitness="nope")
