import json
import subprocess
import sys

import pytest
import torch

from vkdnw_plugin.cli import main
from vkdnw_plugin.engine import vkdnw_score
from vkdnw_plugin.scoring import init_like_reference
from vkdnw_plugin.spaces.nb201 import nb201_network


def run_cli(*args):
    return subprocess.run([sys.executable, "-m", "vkdnw_plugin.cli", *args], capture_output=True, text=True, timeout=300)


def test_score_json_matches_a_seeded_direct_computation(capsys):
    arch = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|skip_connect~2|"
    assert main(["score", "--arch", arch, "--seeds", "3", "--batch", "8", "--modes", "exact", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    # Independent replay of the documented protocol: seed, build, Kaiming init, torch.randn input.
    torch.manual_seed(3)
    model = init_like_reference(nb201_network(arch, 10))
    inputs = torch.randn(8, 3, 32, 32)
    expected = vkdnw_score(model, inputs, modes="exact")
    run = report["runs"][0]
    assert run["entropy"] == pytest.approx(expected.entropy, abs=1e-9) and run["dim"] == expected.dim
    assert report["mean"]["exact"]["score"] == pytest.approx(expected.score, abs=1e-9)


def test_score_takes_both_modes_like_evaluate(capsys):
    """`--mode reference,exact` (evaluate's syntax) scores both Fisher modes from one Jacobian."""
    assert main(["score", "--arch", "(4, 3, 3, 0, 0, 0)", "--seeds", "0", "1", "--batch", "4", "--modes", "reference,exact",
                 "--json"]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    assert [(r["seed"], r["mode"]) for r in report["runs"]] == [(0, "reference"), (0, "exact"), (1, "reference"), (1, "exact")]
    assert set(report["mean"]) == {"reference", "exact"}


@pytest.mark.parametrize(
    "args, words",
    [
        (["--arch", "|conv5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|"], "conv5x5"),
        (["--arch", "99999"], "99999"),
        (["--arch", "0", "--dataset", "mnist"], "mnist"),
        (["--arch", "0", "--device", "cuda"] if not torch.cuda.is_available() else ["--arch", "0", "--batch", "0"], "--"),
        (["--space", "nas-bench-macro", "--arch", "0123"], "0123"),
        (["--arch", "0", "--direction", "sideways"], "--direction sideways"),
        (["--arch", "0", "--compile", "yes"], "yes"),
        (["--arch", "0", "--modes", "bogus"], "--modes bogus"),
        (["--arch", "0", "--n-quantiles", "10"], "--n-quantiles 10"),
    ],
)
def test_bad_input_is_one_line_with_exit_2(args, words):
    proc = run_cli("score", *args)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in proc.stderr


def test_configs_lists_copies_and_refuses_to_overwrite(tmp_path, capsys):
    from pathlib import Path

    shipped = sorted(p for p in (Path(__file__).resolve().parents[1] / "configs").iterdir() if p.suffix in (".yml", ".yaml", ".json"))
    assert main(["configs"]) == 0
    assert capsys.readouterr().out.split() == [str(p) for p in shipped]
    assert main(["configs", "--out", str(tmp_path)]) == 0
    (tmp_path / "vkdnw_nb201.yml").write_text("edited")
    capsys.readouterr()
    assert main(["configs", "--out", str(tmp_path)]) == 2
    assert "would overwrite" in capsys.readouterr().err and (tmp_path / "vkdnw_nb201.yml").read_text() == "edited"
    assert main(["configs", "--out", str(tmp_path), "--force"]) == 0
    assert [(tmp_path / p.name).read_bytes() for p in shipped] == [p.read_bytes() for p in shipped]


def test_score_direction_flag_gives_the_same_entropy_both_ways(capsys):
    import json

    from vkdnw_plugin.cli import main

    entropies = {}
    for direction in ("reverse", "forward"):
        assert main(["score", "--arch", "(4, 3, 3, 0, 0, 0)", "--batch", "4", "--seeds", "0..1", "--modes", "exact",
                     "--direction", direction, "--json"]) == 0  # fmt: skip
        report = json.loads(capsys.readouterr().out)
        assert report["direction"] == direction and [r["seed"] for r in report["runs"]] == [0, 1]
        entropies[direction] = [r["entropy"] for r in report["runs"]]
    assert entropies["forward"] == pytest.approx(entropies["reverse"], abs=1e-6)
