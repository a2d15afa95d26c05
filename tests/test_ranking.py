import math

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LinearRegression

from vkdnw_plugin.ranking import (
    AGG_COMPONENTS,
    ModelDrivenRanker,
    aggregate_ranks,
    log_ranks,
    model_features,
    single_key,
)


def brute_rank(values, i):
    """1 + number of worse entries + half the ties (NaN worst)."""
    v = [-math.inf if math.isnan(x) else x for x in values]
    return 1 + sum(x < v[i] for x in v) + 0.5 * (sum(x == v[i] for x in v) - 1)


def test_aggregate_ranks_matches_a_brute_force_sum_of_log_ranks():
    rng = np.random.default_rng(0)
    scores = {name: rng.integers(0, 5, 9).astype(float) for name in AGG_COMPONENTS}  # many ties
    scores["jacov"][3] = np.nan
    n = 9
    expected = [sum(math.log(brute_rank(list(scores[c]), i) / n) for c in AGG_COMPONENTS) for i in range(n)]
    np.testing.assert_allclose(aggregate_ranks(scores), expected)
    np.testing.assert_allclose(aggregate_ranks(scores, ["flops"]), np.log([brute_rank(list(scores["flops"]), i) / n for i in range(n)]))


def test_aggregate_ranks_errors_and_nan_last():
    with pytest.raises(ValueError, match="missing component"):
        aggregate_ranks({"flops": [1, 2]})
    with pytest.raises(ValueError, match="different lengths"):
        aggregate_ranks({"a": [1, 2], "b": [1]}, ["a", "b"])
    assert np.argmin(log_ranks([3.0, np.nan, -100.0])) == 1


def test_single_key_is_lexicographic():
    pairs = [(10, 2.19), (11, 0.0), (11, 0.5), (10, 0.0)]
    keys = [single_key(d, e) for d, e in pairs]
    assert sorted(range(4), key=lambda i: keys[i]) == sorted(range(4), key=lambda i: pairs[i])


def test_model_driven_ranker_learns_a_linear_target():
    rng = np.random.default_rng(1)
    features = pd.DataFrame(rng.normal(size=(200, 3)), columns=["vkdnw_q1", "n_layers", "flops"])
    accuracy = 50 + 3 * features.vkdnw_q1 - 2 * features.flops
    features.iloc[5, 0] = np.inf  # cleaned to the median, not an error
    ranker = ModelDrivenRanker(LinearRegression()).fit(features[:150], accuracy[:150])
    assert np.corrcoef(ranker.predict(features[150:]), accuracy[150:])[0, 1] > 0.99
    forest = ModelDrivenRanker(random_state=0).fit(features[:150], accuracy[:150])
    assert np.corrcoef(forest.predict(features[150:]), accuracy[150:])[0, 1] > 0.8
    with pytest.raises(ValueError, match="before fit"):
        ModelDrivenRanker().predict(features)
    with pytest.raises(ValueError, match="fit\\(\\) and predict\\(\\)"):
        ModelDrivenRanker(regressor=object())


def test_model_features_sets():
    archs = ["|nor_conv_3x3~0|+|none~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_1x1~2|"]
    frame = pd.DataFrame({"vkdnw_q1": [1.0], "n_layers": [3], "flops": [2.0], "jacov": [0.5]}, index=archs)
    assert list(model_features(frame, "a").columns) == ["vkdnw_q1", "n_layers", "flops"]
    assert "jacov" in model_features(frame, "b") and "paths_total" in model_features(frame, "c")
    with pytest.raises(ValueError, match="a, b, c"):
        model_features(frame, "d")
    with pytest.raises(ValueError, match="flops"):
        model_features(frame.drop(columns="flops"), "a")


def test_a_lower_is_better_proxy_ranks_as_its_negation():
    from vkdnw_plugin.proxies import register_proxy
    from vkdnw_plugin.ranking import oriented

    register_proxy("_test_lower", higher_is_better=False)(lambda model, inputs, targets=None, *, context=None: 0.0)
    values = np.array([3.0, 1.0, 2.0, np.nan, 5.0])
    assert np.array_equal(oriented("_test_lower", values), -values, equal_nan=True)
    assert np.array_equal(oriented("_test_lower[exact]", values), -values, equal_nan=True)
    assert np.array_equal(oriented("suite0:jacov", values), values, equal_nan=True)  # imported columns: as published
    assert np.array_equal(aggregate_ranks({"_test_lower": values}, ["_test_lower"]), aggregate_ranks({"flops": -values}, ["flops"]))
