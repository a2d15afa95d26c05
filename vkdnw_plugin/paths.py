"""Where ground-truth files live: ``VKDNW_SHARED`` (default ``../shared`` beside the repository)."""

from __future__ import annotations

import os
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
