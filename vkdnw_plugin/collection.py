"""Collection-level scores of ``vkdnw evaluate``: the wide table of per-network results (mean over
seeds), VKDNW_agg inside the collection, and the model-driven prediction."""

from __future__ import annotations

import numpy as np
import pandas as pd

from .evaluate_config import EvaluateConfig, column_name, computed_proxies, is_imported, vkdnw_proxies
from .ranking import ModelDrivenRanker, aggregate_ranks, model_features
from .scoring import NO_MODE
from .spaces import get_space


def collect_scores(config: EvaluateConfig, rows: pd.DataFrame) -> pd.DataFrame:
    """Wide table indexed by arch string: one column per proxy (and mode), mean over seeds, plus
    ``vkdnw_q*`` spectrum features per mode, derived rankings, and imported scores."""
    rows = rows[rows.arch.isin(config.archs) & rows.seed.isin(config.seeds)]
    wide = pd.DataFrame(index=pd.Index(config.archs, name="arch"))
    for (proxy, mode), group in rows.groupby(["proxy", "mode"]):
        if mode != NO_MODE and mode not in config.options.modes:
            continue
        wide[column_name(proxy, mode, config.options.modes)] = group.groupby("arch").value.mean()
        if proxy in vkdnw_proxies() and column_name("vkdnw_q1", mode, config.options.modes) not in wide:
            spectrum = pd.DataFrame(list(group.fields), index=group.arch)
            spectrum = spectrum[[c for c in spectrum.columns if c.startswith("vkdnw_q")]].groupby(level=0).mean()
            for column in spectrum.columns:
                wide[column_name(column, mode, config.options.modes)] = spectrum[column]
    for name, series in config.imported.items():
        wide[name] = series.reindex(wide.index)
    for mode in config.options.modes:
        if "vkdnw_agg" in config.proxies:
            components = {
                c: wide[c if is_imported(c) else column_name(c, mode, config.options.modes)].to_numpy() for c in config.agg_components
            }  # fmt: skip
            wide[column_name("vkdnw_agg", mode, config.options.modes)] = aggregate_ranks(components, config.agg_components)
    return wide


def model_driven_scores(wide: pd.DataFrame, accuracy: pd.Series, config: EvaluateConfig, mode: str, seed: int = 0):
    """Predicted accuracy of every arch with feature set (c) built from the mode's VKDNW spectrum and
    the other proxies. Protocol: train on ``md_train`` random archs and predict the rest when the
    collection has at least twice that many; otherwise 5-fold cross-prediction (each arch predicted by
    a forest trained on the other 80 %)."""
    from sklearn.model_selection import KFold

    spectrum = {column_name(f"vkdnw_q{i}", mode, config.options.modes): f"vkdnw_q{i}" for i in range(1, 12)}
    plain = [p for p in computed_proxies(config.proxies, config.agg_components) if p not in vkdnw_proxies()]
    frame = wide[[c for c in spectrum if c in wide] + plain].rename(columns=spectrum)
    features = model_features(frame, "c", arch_features=get_space(config.space).features)
    predicted = pd.Series(np.nan, index=wide.index)
    rng = np.random.RandomState(seed)
    if len(wide) >= 2 * config.md_train:
        train = rng.permutation(len(wide))[: config.md_train]
        test = np.setdiff1d(np.arange(len(wide)), train)
        splits = [(train, test)]
    else:
        splits = KFold(5, shuffle=True, random_state=seed).split(features)
    for train, test in splits:
        ranker = ModelDrivenRanker(random_state=seed).fit(features.iloc[train], accuracy.iloc[train])
        predicted.iloc[test] = ranker.predict(features.iloc[test])
    return predicted


def scored_table(config: EvaluateConfig, rows: pd.DataFrame, accuracy: pd.Series) -> pd.DataFrame:
    """``collect_scores`` of the cached ``rows`` plus the model-driven prediction when it was asked for."""
    wide = collect_scores(config, rows)
    if "model_driven" in config.proxies:
        for mode in config.options.modes:
            wide[column_name("model_driven", mode, config.options.modes)] = model_driven_scores(wide, accuracy.reindex(wide.index), config, mode)
    return wide

