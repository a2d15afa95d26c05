"""One name, one quantity: registry aliases resolve to the proxy they name, and VKDNW_single's value
is the core's single_key of the result's own dim, entropy and number of quantiles."""

import math

import pytest
import torch

from vkdnw_plugin.engine import vkdnw_score
from vkdnw_plugin.proxies import compute_proxies, get_proxy, list_aliases, list_proxies, register_proxy
from vkdnw_plugin.ranking import single_key, single_value
from vkdnw_plugin.scoring import score_architecture, seeded_setup
from vkdnw_plugin.vkdnw_options import VKDNWOptions

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"


def test_aliases_give_the_values_of_the_proxies_they_name():
    assert list_aliases() == {"vkdnw_dim": "n_layers", "vkdnw_entropy": "vkdnw"}
    assert not set(list_aliases()) & set(list_proxies())
    assert get_proxy("vkdnw_entropy") is get_proxy("vkdnw")
    model, inputs = seeded_setup("nb201", ARCH, VKDNWOptions(seed=1, batch=4))[:2]
    values = compute_proxies(model, inputs, ["vkdnw", "vkdnw_entropy", "n_layers", "vkdnw_dim", "vkdnw_single"])
    assert list(values) == ["vkdnw", "vkdnw_entropy", "n_layers", "vkdnw_dim", "vkdnw_single"]
    assert values["vkdnw_entropy"] == values["vkdnw"] and values["vkdnw_dim"] == values["n_layers"]
    core = score_architecture("nb201", ARCH, seed=1, batch=4)["reference"]
    assert (values["vkdnw"], values["n_layers"]) == (core.entropy, core.dim)  # the parameter tensors are dim
    assert values["vkdnw_single"] == single_key(core.dim, core.entropy, 9)


def test_an_alias_cannot_be_registered_twice():
    with pytest.raises(ValueError, match="'vkdnw_entropy' is already registered"):
        register_proxy("my_proxy", aliases=("vkdnw_entropy",))(lambda model, inputs, targets=None, *, context=None: 0.0)
    with pytest.raises(ValueError, match="unknown proxy 'vkdnw_entropyy'"):
        get_proxy("vkdnw_entropyy")


def test_single_value_uses_the_results_own_quantiles_and_is_nan_when_invalid():
    macro = score_architecture("nas-bench-macro", "01201020", batch=4)["reference"]  # 11 quantiles
    assert len(macro.deciles) == 11
    assert single_value(macro) == single_key(macro.dim, macro.entropy, 11)
    assert macro.dim <= single_value(macro) < macro.dim + 0.5
    model = torch.nn.Sequential(torch.nn.Linear(3, 2, bias=False))
    invalid = vkdnw_score(model, torch.zeros(4, 3), modes="exact")  # zero inputs: a zero Fisher matrix
    assert not invalid.valid and math.isnan(single_value(invalid))


def test_n_layers_and_dim_count_the_same_tensors_frozen_ones_too():
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 4, 3), torch.nn.BatchNorm2d(4), torch.nn.Flatten(), torch.nn.Linear(4 * 36, 3))
    model[1].weight.requires_grad_(False)  # a frozen tensor still is a parameter tensor
    inputs = torch.randn(4, 3, 8, 8)
    result = vkdnw_score(model.eval(), inputs)
    assert result.dim == compute_proxies(model, inputs, ["n_layers"])["n_layers"] == len(list(model.parameters())) == 6
