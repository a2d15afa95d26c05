"""The seeded protocol of :mod:`vkdnw_plugin.scoring` against the authors' own runs: the arch text,
dataset and seed alone reproduce their entropy and dim."""

import pytest

from vkdnw_plugin.engine import vkdnw_scores
from vkdnw_plugin.options import OptionError
from vkdnw_plugin.proxies import compute_proxies
from vkdnw_plugin.ranking import single_value
from vkdnw_plugin.scoring import score_architecture, score_network, seeded_setup
from vkdnw_plugin.spaces import SpaceSpec, get_space, register_space
from vkdnw_plugin.spaces.nb201 import parse_arch
from vkdnw_plugin.vkdnw_options import VKDNWOptions


def test_score_architecture_reproduces_the_authors_runs(reference_runs):
    for name, _, row in reference_runs[::3]:  # CIFAR-10 and ImageNet16-120 runs, two seeds
        result = score_architecture("nb201", row["arch"], dataset=row["dataset"], seed=int(row["seed"]), batch=int(row["batch_size"]))
        assert result["reference"].dim == int(row["dim"]), name
        assert result["reference"].entropy == pytest.approx(float(row["entropy"]), abs=1e-3), name


def test_space_defaults_and_overrides():
    macro = VKDNWOptions().for_space("nas-bench-macro")
    assert (macro.n_tensors, macro.tensor_policy, macro.n_quantiles, macro.resolution) == (128, "random", 11, 32)
    nb201 = VKDNWOptions(n_quantiles=11).for_space("nasbench201", "ImageNet16-120")  # an alias of nb201
    assert (nb201.n_tensors, nb201.tensor_policy, nb201.n_quantiles, nb201.resolution) == (128, "first", 11, 16)
    with pytest.raises(OptionError, match="direction='up'"):
        VKDNWOptions(direction="up")
    with pytest.raises(OptionError, match="dataset='cifar100'"):
        seeded_setup("nas-bench-macro", "01201201", dataset="cifar100")
    with pytest.raises(OptionError, match="arch='0120'"):
        seeded_setup("nas-bench-macro", "0120")
    assert seeded_setup("nb201", "(4, 3, 3, 0, 0, 0)", dataset="ImageNet16-120").num_classes == 120


def test_score_network_gives_every_component_from_one_protocol(monkeypatch):
    """VKDNW proxies per mode from one engine call, registry proxies and architecture features,
    each equal to what the core computes on the protocol's own model and inputs."""
    arch = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    options = VKDNWOptions(modes="reference,exact", batch=4, seed=2)
    scores = score_network("nb201", arch, options, ["vkdnw", "vkdnw_single", "n_layers", "jacov", "paths_total"])
    model, inputs = seeded_setup("nb201", arch, options)[:2]
    engine = vkdnw_scores(model, inputs, options.for_space("nb201"))
    for mode in ("reference", "exact"):
        values = scores.values(mode)
        assert values["vkdnw"] == engine[mode].entropy and values["vkdnw_single"] == single_value(engine[mode])
    plain = compute_proxies(model, inputs, ["n_layers", "jacov"], seed=2)
    assert scores.values()["n_layers"] == plain["n_layers"] == engine["exact"].dim
    assert scores.values()["jacov"] == plain["jacov"]
    assert scores.values()["paths_total"] == 3.0  # 0→3, 0→2→3, 0→1→2→3
    import vkdnw_plugin.engine

    calls = []
    monkeypatch.setattr(vkdnw_plugin.engine, "vkdnw_scores", lambda *args, **kw: calls.append(args) or {})
    again = score_network("nb201", parse_arch(arch).naslib, options, ["vkdnw_single", "jacov"])  # another spelling
    assert again.values() == {name: scores.values()[name] for name in ("vkdnw_single", "jacov")} and not calls  # remembered
    with pytest.raises(OptionError, match="components='magic'"):
        score_network("nb201", arch, options, ["magic"])


def test_a_space_registered_at_runtime_is_scored_like_a_builtin():
    from torch import nn

    def build(arch: str, num_classes: int):
        width = int(arch)
        return nn.Sequential(nn.Conv2d(3, width, 3), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(width, num_classes))

    register_space(SpaceSpec("toy-runtime", build, {"tiny": (3, 8)}, vkdnw_defaults={"n_quantiles": 11}, parse=lambda a: str(int(a))))
    scores = score_network("toy-runtime", " 4", VKDNWOptions(batch=4), ["vkdnw", "params"])
    assert scores.arch == "4" and scores.options.n_quantiles == 11 and scores.options.resolution == 8
    assert len(scores.results["reference"].deciles) == 11
    with pytest.raises(ValueError, match="already registered"):
        register_space(SpaceSpec("toy-runtime", build, {"tiny": (3, 8)}))
    with pytest.raises(OptionError, match="space='nope': unknown; expected one of .*nb201"):
        get_space("nope")
