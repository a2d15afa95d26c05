"""Third-party search spaces and proxies through entry points: a toy package (its module and a
``*.dist-info`` with ``entry_points.txt``, what ``pip install`` leaves in site-packages) is put on the
path of fresh processes, and the CLI and the Python API use its space and proxy with no edit to this
project. The toy proxy is lower-is-better, so the same runs check that every metric honours the
registry's direction."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest

TOY = '''
"""A toy search space: a conv of WIDTH channels and a linear head."""
from torch import nn

from vkdnw_plugin.spaces import SpaceSpec, register_space

WIDTHS = [str(w) for w in range(2, 12)]


def build(arch, num_classes):
    width = int(arch)
    return nn.Sequential(nn.Conv2d(3, width, 3), nn.BatchNorm2d(width), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                         nn.Flatten(), nn.Linear(width, num_classes))


def ground_truth(dataset):
    return {arch: 50.0 + int(arch) ** 0.5 for arch in WIDTHS}  # wider is better


def register():
    register_space(SpaceSpec("toy", build, {"tiny": (3, 8)}, ground_truth=ground_truth, aliases=("toy-space",),
                             vkdnw_defaults={"n_quantiles": 11}, arch_features=lambda a: {"width": float(a)},
                             parse=lambda a: str(int(a))))
'''
TOY_PROXIES = '''
"""Negated parameter count, registered as lower-is-better: it must rank as params does."""
from vkdnw_plugin.proxies import register_proxy


@register_proxy("toy_neg_params", higher_is_better=False)
def toy_neg_params(model, inputs, targets=None, *, context=None):
    return -float(sum(p.numel() for p in model.parameters()))
'''
ENTRY_POINTS = """
[vkdnw_plugin.spaces]
toy = toy_vkdnw:register
broken = toy_vkdnw:does_not_exist

[vkdnw_plugin.proxies]
toy_neg_params = toy_vkdnw.proxies
"""


@pytest.fixture(scope="module")
def plugin_env(tmp_path_factory):
    """An environment whose ``PYTHONPATH`` holds the installed toy plugin."""
    root = tmp_path_factory.mktemp("site")
    (root / "toy_vkdnw").mkdir()
    (root / "toy_vkdnw" / "__init__.py").write_text(textwrap.dedent(TOY))
    (root / "toy_vkdnw" / "proxies.py").write_text(textwrap.dedent(TOY_PROXIES))
    info = root / "toy_vkdnw-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: toy-vkdnw\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")])}


def run(env, *code_or_args, cli=True):
    command = [sys.executable, "-m", "vkdnw_plugin.cli", *code_or_args] if cli else [sys.executable, "-c", code_or_args[0]]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)


def test_the_cli_scores_and_lists_a_plugins_space(plugin_env):
    done = run(plugin_env, "score", "--space", "toy-space", "--arch", "4", "--batch", "4", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["space"] == "toy" and report["dataset"] == "tiny" and report["n_quantiles"] == 11
    assert report["runs"][0]["valid"] and report["runs"][0]["dim"] == 6
    listing = run(plugin_env, "list", "spaces")
    assert "toy (aliases: toy-space): tiny (3 classes, 8 px)" in listing.stdout
    assert "plugin broken = toy_vkdnw:does_not_exist" in listing.stderr  # a broken entry point warns, the rest loads
    assert "toy_neg_params: lower is better" in run(plugin_env, "list", "proxies").stdout


def test_the_python_api_uses_a_plugins_space_and_proxy(plugin_env):
    code = """
import json, torch
from vkdnw_plugin import compute_proxies, score_architecture, score_network
result = score_architecture("toy", 5, batch=4)["reference"]
scores = score_network("toy", "5", components=["vkdnw", "toy_neg_params", "width"])
model = torch.nn.Sequential(torch.nn.Conv2d(3, 2, 3), torch.nn.Flatten(), torch.nn.Linear(72, 2))
print(json.dumps({"entropy": result.entropy, "quantiles": len(result.deciles), "values": scores.values(),
                  "proxy": compute_proxies(model, torch.randn(2, 3, 8, 8), ["toy_neg_params"])["toy_neg_params"]}))
"""
    done = run(plugin_env, code, cli=False)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["quantiles"] == 11 and 0 <= out["entropy"] <= 2.4
    assert out["values"]["width"] == 5.0 and out["values"]["toy_neg_params"] == -(3 * 5 * 9 + 5 + 10 + 5 * 3 + 3)
    assert out["proxy"] == -(3 * 2 * 9 + 2 + 72 * 2 + 2)


def test_evaluate_ranks_a_lower_is_better_proxy_as_its_negation(plugin_env, tmp_path):
    done = run(plugin_env, "evaluate", "--space", "toy", "--archs", "all", "--proxies", "params,toy_neg_params,vkdnw_agg",
               "--agg-components", "toy_neg_params", "--batch", "4", "--bootstrap", "0", "--out", str(tmp_path / "out"),
               "--cache", str(tmp_path / "c.sqlite"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv", index_col="proxy")
    columns = ["n", "kt", "spr", "ndcg", "regret@1", "regret@10"]
    assert metrics.loc["params", "kt"] == pytest.approx(1.0)  # wider toy networks have more parameters
    for proxy in ("toy_neg_params", "vkdnw_agg"):  # VKDNW_agg of the one lower-is-better component ranks as params
        assert metrics.loc[proxy, columns].tolist() == pytest.approx(metrics.loc["params", columns].tolist()), proxy


def test_an_unknown_space_names_the_plugins_that_failed(plugin_env):
    done = run(plugin_env, "score", "--space", "toyy", "--arch", "4")
    assert done.returncode == 2
    line = done.stderr.strip().splitlines()[-1]
    assert line.startswith("vkdnw score: error: --space toyy: unknown; expected one of") and "toy" in line
    assert "broken = toy_vkdnw:does_not_exist: AttributeError" in line


def test_the_readme_plugin_example_works_as_written(tmp_path):
    """README's plugin: its code block as a module, its entry points in a dist-info; then the space and
    the proxy are scored and evaluated through the CLI."""
    readme = (Path(__file__).parents[1] / "README.md").read_text()
    section = readme[readme.index("## Adding a search space or proxy") :]
    code = section[section.index("```python") + len("```python") : section.index("```", section.index("```python") + 9)]
    (tmp_path / "my_space").mkdir()
    (tmp_path / "my_space" / "__init__.py").write_text(code)
    info = tmp_path / "my_space-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: my-space\nVersion: 0.1\n")
    spaces, proxies = (line.split("] ", 1)[1] for line in section.split("`") if line.startswith("[project.entry-points"))
    (info / "entry_points.txt").write_text(f'[vkdnw_plugin.spaces]\n{spaces}\n[vkdnw_plugin.proxies]\n{proxies}\n'.replace('"', ""))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = run(env, "score", "--space", "widths", "--arch", "16-32", "--batch", "4", "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["n_quantiles"] == 11 and json.loads(done.stdout)["runs"][0]["valid"]
    done = run(env, "evaluate", "--space", "widths", "--archs", "all", "--proxies", "vkdnw_single,depth_penalty", "--batch", "4",
               "--bootstrap", "0", "--out", str(tmp_path / "out"), "--cache", str(tmp_path / "c.sqlite"))  # fmt: skip
    assert done.returncode == 0, done.stderr
    metrics = pd.read_csv(tmp_path / "out" / "metrics.csv", index_col="proxy")
    assert set(metrics.index) == {"vkdnw_single", "depth_penalty"} and (metrics.n == 3).all()
