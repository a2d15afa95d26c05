"""Every malformed option is refused before any scoring, by the Python API and the CLI alike: one
line naming the option, exit status 2, no traceback, no new file. Plus the CLI's console output
(version, defaults in --help, cache counts, interrupts, warnings in words) and the report's labels."""

import os
import subprocess
import sys
import warnings

import pytest

from vkdnw_plugin import __version__
from vkdnw_plugin.cache import ResultCache
from vkdnw_plugin.cli import main
from vkdnw_plugin.evaluate import EvaluateConfig, evaluate
from vkdnw_plugin.options import OptionError, OversubscriptionWarning, check_out_dir, cpu_cores, parse_seeds
from vkdnw_plugin.spaces.nb201 import parse_arch
from vkdnw_plugin.vkdnw_options import VKDNWOptions

ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    "|skip_connect~0|+|none~0|nor_conv_1x1~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|",
    "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|nor_conv_3x3~0|none~1|avg_pool_3x3~2|",
]
FAST = ["--archs", "sample:3", "--proxies", "flops", "--batch", "4", "--bootstrap", "0"]


def config(**changes) -> EvaluateConfig:
    options = {key: changes.pop(key) for key in ("batch", "threads", "modes") if key in changes}
    fields = {"dataset": "cifar10", "proxies": ["flops"], "archs": ARCHS, "seeds": [0], "options": VKDNWOptions(**{"batch": 4, **options})}
    return EvaluateConfig(**{**fields, **changes})


@pytest.fixture
def folder(tmp_path):
    """A tmp folder holding only a regular file ``afile`` (to put paths under)."""
    (tmp_path / "afile").write_text("a regular file")
    return tmp_path


def refused(capsys, argv, option: str) -> str:
    """Run the CLI in-process, expect exit 2 and one stderr line naming ``option``; return the line."""
    assert main(argv) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"vkdnw {argv[0]}: error: {option} "), lines[0]
    return lines[0]


# ----------------------------------------------------------------------------- the Python API


@pytest.mark.parametrize(
    "changes, option, words",
    [
        ({"batch": -3}, "batch", "negative"),
        ({"batch": 0}, "batch", "positive"),
        ({"seeds": []}, "seeds", "no seed"),
        ({"seeds": [-1]}, "seeds", "negative"),
        ({"seeds": [2, 2]}, "seeds", "twice"),
        ({"workers": 0}, "workers", "positive"),
        ({"threads": 0}, "threads", "positive"),
        ({"proxies": ["flops", "magic"]}, "proxies", "magic"),
        ({"modes": ["fast"]}, "modes", "fast"),
        ({"dataset": "svhn"}, "dataset", "svhn"),
        ({"archs": ARCHS[:2]}, "archs", "at least 3"),
        ({"proxies": ["vkdnw_agg"], "agg_components": ("flops", "suite0:jacov")}, "agg_components", "--import-scores"),
    ],
)
def test_config_refuses_bad_values(changes, option, words):
    with pytest.raises(OptionError, match=words) as caught:
        config(**changes)
    assert caught.value.option == option and str(caught.value).startswith(f"{option}=")


@pytest.mark.parametrize(
    "text, words",
    [("4..0", "reversed range; did you mean 0..4"), ("0..x", "A..B"), ("1,1", "twice"), ("-1..2", "negative"), ("", "A..B")],
)
def test_seed_ranges(text, words):
    with pytest.raises(OptionError, match=words):
        parse_seeds(text)
    assert parse_seeds("1..3") == [1, 2, 3] and parse_seeds("0,4") == [0, 4]


def test_threads_beyond_the_cores_warn_only_when_asked_for():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        config()  # the defaults never oversubscribe
    with pytest.warns(OversubscriptionWarning, match=f"on {cpu_cores()} CPU cores"):
        config(threads=cpu_cores() + 1)


def test_out_and_cache_paths_are_checked_without_creating_anything(folder):
    with pytest.raises(OptionError, match="under the regular file"):
        check_out_dir(folder / "afile" / "out")
    with pytest.raises(OptionError, match="is a regular file"):
        check_out_dir(folder / "afile")
    assert check_out_dir(folder / "new" / "out") == folder / "new" / "out"
    for path, words in ((folder / "missing" / "c.sqlite", "folder .* does not exist"), (folder, "is a folder"),
                        (folder / "afile" / "c.sqlite", "not a folder")):  # fmt: skip
        with pytest.raises(OptionError, match=words) as caught:
            ResultCache(path)
        assert caught.value.option == "cache"
    assert sorted(p.name for p in folder.iterdir()) == ["afile"]


def test_a_new_cache_is_removed_on_close_only_while_empty(tmp_path):
    ResultCache(tmp_path / "empty.sqlite").close()
    cache = ResultCache(tmp_path / "full.sqlite")
    cache.put("nb201", "a", "cifar10", "flops", 0, "-", 4, 1.0)
    cache.close()
    assert [p.name for p in tmp_path.iterdir()] == ["full.sqlite"]


def test_negative_nb201_index_is_named_as_such():
    with pytest.raises(ValueError, match="NB201 index -1 is negative"):
        parse_arch("-1")
    with pytest.raises(ValueError, match="NB201 index -2 is negative"):
        parse_arch(-2)


def test_evaluate_refuses_a_bad_out_before_scoring(folder, shared):
    from vkdnw_plugin.groundtruth import ground_truth

    cache = ResultCache(folder / "c.sqlite")
    try:
        for out, bootstrap, option in ((folder / "afile" / "o", 10, "out"), (folder / "o", -1, "bootstrap")):
            with pytest.raises(OptionError) as caught:
                evaluate(config(), cache, ground_truth("nb201"), out, progress=False, bootstrap=bootstrap)
            assert caught.value.option == option and cache.is_empty()
    finally:
        cache.close()
    assert sorted(p.name for p in folder.iterdir()) == ["afile"]


# ----------------------------------------------------------------------------- the CLI


@pytest.mark.parametrize(
    "args, option, words",
    [
        (["--batch", "-3"], "--batch", "negative"),
        (["--seeds", "4..0"], "--seeds", "reversed"),
        (["--seeds", "1,1"], "--seeds", "twice"),
        (["--workers", "0"], "--workers", "positive"),
        (["--threads", "0"], "--threads", "positive"),
        (["--bootstrap", "-1"], "--bootstrap", "negative"),
        (["--sample-seed", "-1"], "--sample-seed", "negative"),
        (["--archs", "sample:2"], "--archs", "at least 3"),
        (["--modes", "fast"], "--modes", "fast"),
        (["--out", "{tmp}/afile/out"], "--out", "under the regular file"),
        (["--out", "{tmp}/afile"], "--out", "is a regular file"),
        (["--cache", "{tmp}/missing/c.sqlite"], "--cache", "does not exist"),
        (["--cache", "{tmp}"], "--cache", "is a folder"),
        (["--cache", "{tmp}/afile"], "--cache", "not a vkdnw-plugin cache"),
    ],
)
def test_evaluate_refuses_one_line_exit_2_no_new_files(capsys, folder, shared, args, option, words):
    args = [a.replace("{tmp}", str(folder)) for a in args]
    argv = ["evaluate", *FAST, "--cache", str(folder / "c.sqlite"), "--out", str(folder / "o"), *args]
    assert words in refused(capsys, argv, option)
    assert sorted(p.name for p in folder.iterdir()) == ["afile"]
    assert (folder / "afile").read_text() == "a regular file"


@pytest.mark.parametrize(
    "args, option, words",
    [
        (["--arch", "-1"], "--arch", "negative"),
        (["--arch", "0", "--threads", "0"], "--threads", "positive"),
        (["--arch", "0", "--seeds", "-1"], "--seeds", "negative"),
        (["--arch", "0", "--batch", "0"], "--batch", "positive"),
        (["--arch", "0", "--dataset", "mnist"], "--dataset", "mnist"),
    ],
)
def test_score_refuses_one_line_exit_2(capsys, args, option, words):
    assert words in refused(capsys, ["score", *args], option)


def test_version_and_help(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["--version"])
    assert exit_.value.code == 0 and capsys.readouterr().out.strip() == f"vkdnw {__version__}"
    for command in ("score", "evaluate"):
        with pytest.raises(SystemExit):
            main([command, "--help"])
        text = " ".join(capsys.readouterr().out.split())
        threads_help = text.rsplit("--threads THREADS", 1)[1].split(" --", 1)[0]
        assert threads_help.endswith("(default: 1)") and "random inputs per network (default: 64)" in text
    assert "registered proxies (vkdnw list proxies)" in text and "vkdnw_single" in text
    assert "Score a set of architectures of a benchmark space" in text  # evaluate --help describes the command


def test_score_explains_dim_and_warns_once_about_oversubscription(capsys):
    assert main(["score", "--arch", "0", "--batch", "2", "--threads", str(cpu_cores() + 1)]) == 0
    out, err = capsys.readouterr()
    assert "dim: number of parameter tensors" in out and "score = dim + entropy" in out
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("vkdnw score: warning: ") and "torch threads" in lines[0], err


def test_cache_counts_report_labels_and_resume(capsys, tmp_path, shared):
    argv = ["evaluate", *FAST, "--proxies", "vkdnw_agg", "--agg-components", "flops,n_layers", "--bootstrap", "20",
            "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o")]  # fmt: skip
    assert main(argv) == 0
    assert "vkdnw evaluate: 0 of 3 networks (architecture x seed) found in the cache" in capsys.readouterr().err
    assert main(argv) == 0
    out, err = capsys.readouterr()
    assert "3 of 3 networks (architecture x seed) found in the cache" in err and "; 0 to score" in err
    assert "nDCG@3" in out and "regret@1 (pp)" in out
    report = (tmp_path / "o" / "report.md").read_text()
    assert "**networks from the cache**: 3" in report and "**networks scored this run**: 0" in report
    assert "| nDCG@3 [95% CI] |" in report and "percentage points (pp) of accuracy" in report
    assert "| flops (VKDNW_agg component) | 3 | " in report and "| vkdnw_agg | 3 | " in report
    assert {p.name for p in (tmp_path / "o").glob("*.png")} == {"rank_vs_accuracy.png", "ndcg_at_k.png", "metrics_bar.png"}


def test_interrupt_says_what_is_saved_and_how_to_resume(capsys, tmp_path, shared, monkeypatch):
    import vkdnw_plugin.evaluate as evaluate_module

    score_rows, calls = evaluate_module._score_rows, []

    def interrupted_on_the_second_network(item):
        calls.append(item)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return score_rows(item)

    monkeypatch.setattr(evaluate_module, "_score_rows", interrupted_on_the_second_network)
    cache = tmp_path / "c.sqlite"
    assert main(["evaluate", *FAST, "--cache", str(cache), "--out", str(tmp_path / "o")]) == 130
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines[-1] == (f"vkdnw evaluate: interrupted; 1 of 3 networks are saved in the cache {cache}; "
                         "rerunning the same command resumes from there")  # fmt: skip
    assert not (tmp_path / "o").exists()


def test_library_warnings_are_shown_once_in_words(capsys, tmp_path, shared, monkeypatch):
    import vkdnw_plugin.evaluate as evaluate_module

    score_rows = evaluate_module._score_rows

    def warning_twice(item):
        warnings.warn("an input array is constant", UserWarning, stacklevel=1)
        warnings.warn("an input array is constant", UserWarning, stacklevel=1)
        return score_rows(item)

    monkeypatch.setattr(evaluate_module, "_score_rows", warning_twice)
    assert main(["evaluate", *FAST, "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "o")]) == 0
    err = capsys.readouterr().err
    notes = [line for line in err.splitlines() if "an input array is constant" in line]
    assert notes == ["vkdnw evaluate: note: test_options.py warned (UserWarning, shown once): an input array is constant"]
    assert "warnings.warn(" not in err


def test_refusal_through_the_console_script_has_no_traceback(folder, shared):
    proc = subprocess.run([sys.executable, "-m", "vkdnw_plugin.cli", "evaluate", *FAST, "--cache", str(folder / "c.sqlite"),
                           "--out", str(folder / "afile" / "o")], capture_output=True, text=True, timeout=300,
                          env={**os.environ, "VKDNW_SHARED": str(shared)})  # fmt: skip
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        f"vkdnw evaluate: error: --out {folder / 'afile' / 'o'}: is under the regular file {folder / 'afile'}; expected a folder"
    ]
    assert sorted(p.name for p in folder.iterdir()) == ["afile"]


def test_a_failure_while_writing_removes_the_out_folder_it_created(tmp_path, shared, monkeypatch):
    import vkdnw_plugin.evaluate as evaluate_module

    def broken_plots(*args, **kwargs):
        raise RuntimeError("no space left on device")

    monkeypatch.setattr(evaluate_module, "plot_report", broken_plots)
    with pytest.raises(RuntimeError, match="no space left"):
        main(["evaluate", *FAST, "--cache", str(tmp_path / "c.sqlite"), "--out", str(tmp_path / "new" / "o")])
    assert [p.name for p in tmp_path.iterdir()] == ["c.sqlite"]  # the scores stay cached for the rerun


def test_configs_refuses_an_out_under_a_regular_file(capsys, folder):
    assert "under the regular file" in refused(capsys, ["configs", "--out", str(folder / "afile" / "configs")], "--out")
    assert sorted(p.name for p in folder.iterdir()) == ["afile"]
