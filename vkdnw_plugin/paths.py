"""Where files live: ground truth under ``VKDNW_SHARED`` (default ``../shared`` beside the repository),
the shipped configs in the checkout or, for a wheel install, under ``<prefix>/share/vkdnw-plugin``."""

from __future__ import annotations

import os
import sysconfig
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_dir() -> Path:
    """The shared data folder: ``$VKDNW_SHARED`` or ``<repo>/../shared``."""
    return Path(os.environ.get("VKDNW_SHARED", REPO_ROOT.parent / "shared"))


def nb201_table_path(path: str | os.PathLike | None = None) -> Path:
    """The NB201 ground-truth table: ``path``, ``$VKDNW_NB201_TABLE`` or the shared copy.

    Raises ``FileNotFoundError`` saying where such a table comes from when it is missing."""
    candidate = Path(path or os.environ.get("VKDNW_NB201_TABLE") or shared_dir() / "data/nb201/nb201_accuracy.csv")
    if not candidate.is_file():
        raise FileNotFoundError(
            f"NB201 table not found at {candidate}: pass its path, set VKDNW_NB201_TABLE, or set VKDNW_SHARED to the "
            "folder holding data/nb201/nb201_accuracy.csv (one row per NAS-Bench-201 index with arch_str and accuracies)"
        )
    return candidate


def configs_dir() -> Path:
    """The shipped ``configs/`` folder: the checkout's, else the wheel's data files
    (``<prefix>/share/vkdnw-plugin/configs``). Raises ``FileNotFoundError`` when neither exists."""
    for candidate in (REPO_ROOT / "configs", Path(sysconfig.get_path("data")) / "share/vkdnw-plugin/configs"):
        if (candidate / "vkdnw_nb201.yml").is_file():
            return candidate
    raise FileNotFoundError("shipped configs not found: reinstall vkdnw-plugin or copy configs/ from its source tree")
