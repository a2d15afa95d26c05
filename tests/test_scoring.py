"""The seeded protocol of :mod:`vkdnw_plugin.scoring` against the authors' own runs: the arch text,
dataset and seed alone reproduce their entropy and dim."""

import pytest

from vkdnw_plugin.options import OptionError
from vkdnw_plugin.scoring import network, score_architecture, space_options


def test_score_architecture_reproduces_the_authors_runs(reference_runs):
    for name, _, row in reference_runs[::3]:  # CIFAR-10 and ImageNet16-120 runs, two seeds
        result = score_architecture("nb201", row["arch"], dataset=row["dataset"], seed=int(row["seed"]), batch=int(row["batch_size"]))
        assert result["reference"].dim == int(row["dim"]), name
        assert result["reference"].entropy == pytest.approx(float(row["entropy"]), abs=1e-3), name


def test_space_defaults_and_overrides():
    assert space_options("nas-bench-macro") == {"n_tensors": 128, "tensor_policy": "random", "n_quantiles": 11}
    assert space_options("nb201", n_quantiles=11, direction=None) == {"n_tensors": 128, "tensor_policy": "first", "n_quantiles": 11}
    with pytest.raises(OptionError, match="direction='up'"):
        space_options("nb201", direction="up")
    with pytest.raises(OptionError, match="dataset='cifar100'"):
        network("nas-bench-macro", "01201201", "cifar100")
    with pytest.raises(OptionError, match="arch='0120'"):
        network("nas-bench-macro", "0120")
    assert network("nb201", "(4, 3, 3, 0, 0, 0)", "ImageNet16-120").num_classes == 120
