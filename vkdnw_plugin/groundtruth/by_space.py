"""Ground truth of any registered search space: test accuracy per architecture, for ``vkdnw evaluate``."""

from __future__ import annotations

import os

import pandas as pd

from ..spaces import get_space


def ground_truth(space: str, dataset: str | None = None, subset: str = "all", seed: int = 0,
                 path: str | os.PathLike | None = None) -> pd.Series:  # fmt: skip
    """Test accuracy (%) of the ``subset`` of ``space`` (its :meth:`~vkdnw_plugin.spaces.SpaceSpec.select`:
    ``all``, ``sample:N`` and the space's own subsets), indexed by canonical architecture text in
    benchmark order. ``dataset`` defaults to the space's first; ``path``: the space's table (default:
    the shared copy)."""
    spec = get_space(space)
    truth = spec.load_ground_truth(dataset, path)
    archs = spec.select(list(truth), subset, seed)
    return pd.Series([truth[arch] for arch in archs], index=pd.Index(archs, name="arch"), name="accuracy", dtype=float)
