from pathlib import Path

import pytest
import torch

from vkdnw_plugin.options import DEFAULT_THREADS
from vkdnw_plugin.paths import shared_dir

# The package default (one thread): on a shared 2-core machine two threads ran the engine 3-8x slower.
torch.set_num_threads(DEFAULT_THREADS)


@pytest.fixture(scope="session")
def shared() -> Path:
    """The shared ground-truth folder, or skip when this machine does not have it."""
    path = shared_dir()
    if not (path / "data").is_dir():
        pytest.skip(f"shared data folder not found at {path} (set VKDNW_SHARED)")
    return path


@pytest.fixture(scope="session")
def reference_runs(shared):
    """(file name, loaded dict, scores.csv row) for every authors' reference run."""
    import csv

    folder = shared / "reference" / "vkdnw_authors_nb201"
    if not folder.is_dir():
        pytest.skip(f"authors' reference outputs not found in {folder}")
    with open(folder / "scores.csv", newline="") as handle:
        rows = {row["file"]: row for row in csv.DictReader(handle)}
    return [(name, torch.load(folder / name, weights_only=False), row) for name, row in sorted(rows.items())]
