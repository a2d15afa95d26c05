"""NAS-Bench-Macro (Su et al., 2021): 6,561 MobileNetV2-block CIFAR-10 networks, one 8-digit code each."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..paths import shared_dir

_SOURCE = "github.com/xiusu/NAS-Bench-Macro"


def _file(path, name: str) -> Path:
    file = Path(path) if path else shared_dir() / "data/nas_bench_macro" / name
    if not file.is_file():
        raise FileNotFoundError(
            f"NAS-Bench-Macro file not found at {file}: get {name} from {_SOURCE} and pass its path, "
            "or set VKDNW_SHARED"
        )
    return file


def load_nas_bench_macro(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """Trained results (default the shared ``nas_bench_macro_cifar10.json``), sorted by code:
    ``code`` (str, leading zeros kept), ``mean_acc`` and ``std`` (CIFAR-10 test %, 3 seeds),
    ``params``, ``flops`` (int)."""
    with open(_file(path, "nas_bench_macro_cifar10.json")) as handle:
        data = json.load(handle)
    frame = pd.DataFrame(
        [(code, e["mean_acc"], e["std"], e["params"], e["flops"]) for code, e in sorted(data.items())],
        columns=["code", "mean_acc", "std", "params", "flops"],
    )
    return frame.astype({"code": str, "mean_acc": float, "std": float, "params": "int64", "flops": "int64"})


def load_nas_bench_macro_archs(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The benchmark's exact ``params`` and ``flops`` per ``code`` (default the shared
    ``nas_bench_macro_archs.csv``), sorted by code — what a model builder must reproduce."""
    frame = pd.read_csv(_file(path, "nas_bench_macro_archs.csv"), dtype={"arch": str})
    frame = frame.rename(columns={"arch": "code"}).sort_values("code", ignore_index=True)
    return frame.astype({"params": "int64", "flops": "int64"})
