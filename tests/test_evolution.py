"""Evolution primitives (vkdnw_plugin.evolution): one key per network, mutations that change the
network, tournament and replacement, FLOPs budget checks."""

import numpy as np
import pytest

from vkdnw_plugin.evolution import (
    architecture_key,
    canonical_sample,
    check_budget,
    mutate_one_choice,
    tournament,
    weakest,
    within_budget,
)

# ProxylessNAS-style labels: a stage's depth decides how many of its layer choices are used.
CHOICES = {"s2_depth": [1, 2, 3], "s2_i0": ["a", "b"], "s2_i1": ["a", "b"], "s2_i2": ["a", "b"], "head": ["x", "y"]}


def test_unused_layer_choices_do_not_change_the_key():
    shallow = {"s2_depth": 1, "s2_i0": "a", "s2_i1": "a", "s2_i2": "b", "head": "x"}
    assert canonical_sample(shallow) == {**shallow, "s2_i1": None, "s2_i2": None}
    assert architecture_key(shallow) == architecture_key({**shallow, "s2_i1": "b", "s2_i2": "a"})
    assert architecture_key(shallow) != architecture_key({**shallow, "s2_i0": "b"})
    deep = {**shallow, "s2_depth": 3}
    assert canonical_sample(deep) == deep  # every layer used
    assert architecture_key(deep) != architecture_key({**deep, "s2_i2": "a"})
    nb201 = {"cell/0_1": "none", "cell/0_2": "conv_3x3"}  # no depth labels: the sample is its own key
    assert canonical_sample(nb201) == nb201


def test_mutation_changes_exactly_one_choice_and_the_network():
    rng = np.random.RandomState(0)
    parent = {"s2_depth": 1, "s2_i0": "a", "s2_i1": "a", "s2_i2": "a", "head": "x"}
    for _ in range(300):
        child = mutate_one_choice(rng, parent, CHOICES)
        assert sum(child[k] != parent[k] for k in parent) == 1
        assert architecture_key(child) != architecture_key(parent)
        assert child["s2_i1"] == child["s2_i2"] == "a"  # unused at depth 1: never the mutated label
    with pytest.raises(ValueError, match="no choice with two or more values"):
        mutate_one_choice(rng, {"a": 1}, {"a": [1]})


def test_tournament_and_replacement():
    rng = np.random.RandomState(1)
    fitness = [0.5, 2.0, -1.0, 2.0]
    assert tournament(rng, fitness, sample_size=4) in (1, 3)  # the whole population: one of the fittest
    picks = [tournament(rng, fitness, sample_size=1) for _ in range(400)]
    assert set(picks) == {0, 1, 2, 3}  # size 1: uniform over members
    assert weakest([1.0, -3.0, -3.0, 0.0]) == 1  # lowest, the oldest among ties


@pytest.mark.parametrize("low, high, field", [(-1, None, "min_mflops"), (None, 0, "max_mflops"),
                                              (None, True, "max_mflops"), (50, 10, "min_mflops")])
def test_budget_errors_name_the_bound(low, high, field):
    with pytest.raises(ValueError, match=field):
        check_budget(low, high)


def test_within_budget():
    assert within_budget(10, None, None) and within_budget(10, 10, 10)
    assert not within_budget(10.5, None, 10) and not within_budget(9, 10, None)
