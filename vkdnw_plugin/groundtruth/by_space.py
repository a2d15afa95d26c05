"""Ground truth of every benchmark space ``vkdnw evaluate`` ranks: test accuracy per architecture."""

from __future__ import annotations

import os

import pandas as pd

from .nas_bench_macro import load_nas_bench_macro, select_codes
from .nb201 import load_nb201_table, nb201_accuracy, select_archs

ACCURACY_TEXT = {
    "nb201": "NB201 200-epoch test accuracy (c10_test / c100_test / in16_test)",
    "nas-bench-macro": "NAS-Bench-Macro CIFAR-10 test accuracy, mean of its 3 training runs",
}


def ground_truth(space: str, dataset: str = "cifar10", subset: str = "all", seed: int = 0,
                 path: str | os.PathLike | None = None) -> pd.Series:  # fmt: skip
    """Test accuracy (%) of the ``subset`` of ``space`` (NB201: :func:`select_archs`; NAS-Bench-Macro:
    :func:`select_codes`), indexed by the canonical architecture text (arch string, 8-digit code) in
    benchmark order. ``path``: the space's table (default: the shared copy)."""
    if space == "nb201":
        table = select_archs(load_nb201_table(path), subset, seed=seed)
        return pd.Series(nb201_accuracy(table, dataset).to_numpy(), index=pd.Index(table.arch_str, name="arch"), name="accuracy")
    if dataset != "cifar10":
        raise ValueError(f"NAS-Bench-Macro has CIFAR-10 accuracies only, not {dataset!r}")
    frame = select_codes(load_nas_bench_macro(path), subset, seed=seed)
    return pd.Series(frame.mean_acc.to_numpy(), index=pd.Index(frame.code, name="arch"), name="accuracy")
