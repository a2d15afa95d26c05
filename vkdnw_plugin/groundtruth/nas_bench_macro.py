"""NAS-Bench-Macro (Su et al., 2021): 6,561 MobileNetV2-block CIFAR-10 networks, one 8-digit code each."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd

from ..options import OptionError, check_count
from ..paths import shared_dir

_SOURCE = "github.com/xiusu/NAS-Bench-Macro"
SUBSETS = "all, sample:N"
_SAMPLE = re.compile(r"^sample:(\d+)$")


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


def select_codes(frame: pd.DataFrame, subset: str, seed: int = 0) -> pd.DataFrame:
    """Rows of a NAS-Bench-Macro ``frame`` (e.g. :func:`load_nas_bench_macro`) for ``subset``: ``all``,
    or ``sample:N`` — N distinct rows drawn by ``DataFrame.sample(n=N, random_state=seed)`` and
    returned in code order."""
    check_count("seed", seed, minimum=0)
    if subset == "all":
        return frame
    match = _SAMPLE.match(subset)
    if not match:
        raise OptionError("subset", subset, f"unknown for NAS-Bench-Macro; expected one of {SUBSETS}")
    n = int(match.group(1))
    if not 1 <= n <= len(frame):
        raise OptionError("subset", subset, f"asks for {n} architectures; NAS-Bench-Macro has 1..{len(frame)}")
    return frame.sample(n=n, random_state=seed).sort_index()
