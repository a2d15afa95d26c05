"""NAS-Bench-201 ground truth: the shared 15,625-row table, accuracy columns, architecture subsets."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

from ..options import OptionError, check_count
from ..paths import nb201_table_path

ACCURACY_COLUMNS = {"cifar10": "c10_test", "cifar100": "c100_test", "ImageNet16-120": "in16_test"}
PARAMS_COLUMNS = {
    "cifar10": "params_mb_c10",
    "cifar100": "params_mb_c100",
    "ImageNet16-120": "params_mb_in16",
}
SUBSETS = "all, unique, sample:N, sample:N@unique, sample:N@all"
_SAMPLE = re.compile(r"^sample:(\d+)(?:@(all|unique))?$")


def load_nb201_table(path: str | os.PathLike | None = None) -> pd.DataFrame:
    """The NB201 table (one row per NB201 index; columns in ``shared/README.md``): ``path``, else
    ``$VKDNW_NB201_TABLE``, else ``$VKDNW_SHARED/data/nb201/nb201_accuracy.csv``."""
    text_columns = {"arch_str": str, "naslib_ops": str, "nats_iso_key": str}
    return pd.read_csv(nb201_table_path(path), dtype=text_columns)


def _column(mapping: dict[str, str], dataset: str) -> str:
    if dataset not in mapping:
        raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(mapping)}")
    return mapping[dataset]


def nb201_accuracy(table: pd.DataFrame, dataset: str) -> pd.Series:
    """Test accuracy (%, 200 epochs, seed mean) of each row for ``cifar10|cifar100|ImageNet16-120``:
    the ``c10_test|c100_test|in16_test`` column, the VKDNW paper's protocol."""
    return table[_column(ACCURACY_COLUMNS, dataset)]


def accuracy_by_arch(dataset: str = "cifar10", path: str | os.PathLike | None = None) -> pd.Series | None:
    """:func:`nb201_accuracy` of the NB201 table indexed by arch string, or ``None`` when no table is
    found (for scripts that show true accuracy only where the ground truth is present)."""
    try:
        table = load_nb201_table(path)
    except FileNotFoundError:
        return None
    return pd.Series(nb201_accuracy(table, dataset).to_numpy(), index=table["arch_str"])


def nb201_params(table: pd.DataFrame, dataset: str) -> pd.Series:
    """Parameter count (millions) of each row with the classifier head of ``dataset``."""
    return table[_column(PARAMS_COLUMNS, dataset)]


def select_archs(table: pd.DataFrame, subset: str, seed: int = 0) -> pd.DataFrame:
    """Rows of the NB201 table for ``subset``:

    * ``all`` — all 15,625 architectures; ``unique`` — the 9,445 of ``unique_9445`` (paper Table I);
    * ``sample:N`` / ``sample:N@unique`` — N distinct rows of the unique set, ``sample:N@all`` — of all
      rows, drawn by ``DataFrame.sample(n=N, random_state=seed)`` (numpy ``RandomState``, stable
      across versions) and returned in NB201 index order.
    """
    check_count("seed", seed, minimum=0)
    if subset == "all":
        return table
    if subset == "unique":
        return table[table["unique_9445"]]
    match = _SAMPLE.match(subset)
    if not match:
        raise OptionError("subset", subset, f"unknown; expected one of {SUBSETS}")
    n, population = int(match.group(1)), match.group(2) or "unique"
    pool = table if population == "all" else table[table["unique_9445"]]
    if not 1 <= n <= len(pool):
        raise OptionError("subset", subset, f"asks for {n} architectures; {population} has 1..{len(pool)}")
    return pool.sample(n=n, random_state=seed).sort_index()


def load_official_nb201(path: str | os.PathLike | None = None):
    """The official ``nas_201_api.NASBench201API`` on ``path`` or ``$VKDNW_NB201_API_FILE`` (optional;
    the shared table is enough for everything in this package)."""
    try:
        from nas_201_api import NASBench201API
    except ImportError:
        raise ImportError(
            "load_official_nb201 needs the optional NAS-Bench-201 API: pip install nas-bench-201"
        ) from None
    candidate = path or os.environ.get("VKDNW_NB201_API_FILE")
    if not candidate or not Path(candidate).is_file():
        raise FileNotFoundError(
            f"NAS-Bench-201 benchmark file not found ({candidate or 'no path given'}): download "
            "NAS-Bench-201-v1_1-096897.pth from github.com/D-X-Y/NAS-Bench-201 and pass its path "
            "or set VKDNW_NB201_API_FILE"
        )
    return NASBench201API(str(candidate), verbose=False)
