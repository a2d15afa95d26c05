"""Checks of user options, shared by the Python API and the command-line tools.

Every check raises :class:`OptionError` (a ``ValueError``) whose one-line message names the option
and the bad value; the CLIs print it with the option's command-line spelling and exit with status 2.
Nothing here creates a file or a folder.
"""

from __future__ import annotations

import argparse
import os
import warnings
from pathlib import Path

# Torch threads per scoring process: one, so that workers x threads can match the cores; oversubscribed
# OpenMP threads make scoring several times slower (benchmarks/results/throughput.md).
DEFAULT_THREADS = 1


class OptionError(ValueError):
    """A bad option value. ``option`` is the Python name (``batch``, ``agg_components``)."""

    def __init__(self, option: str, value, problem: str):
        self.option, self.value, self.problem = option, value, problem
        super().__init__(f"{option}={_python_text(value)}: {problem}")

    def cli_message(self, flag: str | None = None) -> str:
        """The message as a CLI prints it: ``--batch -3: expected a positive integer``."""
        flag = flag or "--" + self.option.replace("_", "-")
        return f"{flag} {_cli_text(self.value)}: {self.problem}"


class FieldError(OptionError):
    """A bad entry of a config file or section, already worded as ``field: problem`` (the NNI
    experiment and NASLib config checks); an :class:`OptionError` like every other bad input."""

    def __init__(self, message: str):
        field, _, problem = message.partition(": ")
        ValueError.__init__(self, message)
        self.option, self.value, self.problem = field, None, problem

    def cli_message(self, flag: str | None = None) -> str:
        return str(self)


class OneLineParser(argparse.ArgumentParser):
    """Usage errors in the one-line format of every other bad input: ``vkdnw score: error: ...``, exit 2
    (the parser of every command-line tool of the plugin and its adapters)."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class OversubscriptionWarning(UserWarning):
    """More torch threads in all than CPU cores (scoring slows down several-fold)."""


def _python_text(value) -> str:
    return repr(str(value)) if isinstance(value, Path) else repr(value)


def _cli_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return ",".join(str(v) for v in value) or "''"
    return str(value) if str(value) else "''"


def check_count(option: str, value, minimum: int = 1) -> int:
    """``value`` if it is an integer ≥ ``minimum`` (``batch``, ``workers``, ``bootstrap``)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise OptionError(option, value, "expected an integer")
    if value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise OptionError(option, value, f"{'negative; ' if value < 0 else ''}expected {kind}")
    return value


def check_choice(option: str, value, choices) -> str:
    """``value`` if it is one of ``choices``."""
    if value not in choices:
        raise OptionError(option, value, f"unknown; expected one of {', '.join(map(str, choices))}")
    return value


def check_names(option: str, names, known) -> list[str]:
    """``names`` (a non-empty list) if every name is in ``known``."""
    names = list(names)
    if not names:
        raise OptionError(option, names, "nothing given")
    unknown = [n for n in names if n not in known]
    if unknown:
        raise OptionError(option, names, f"unknown {', '.join(unknown)}; expected any of {', '.join(known)}")
    return names


def check_seeds(seeds) -> list[int]:
    """``seeds`` if it is a non-empty list of distinct integers ≥ 0."""
    seeds = list(seeds)
    if not seeds:
        raise OptionError("seeds", seeds, "no seed given")
    for seed in seeds:
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise OptionError("seeds", seeds, f"{seed!r} is not an integer")
        if seed < 0:
            raise OptionError("seeds", seeds, f"negative seed {seed}; seeds are 0 or more")
    repeated = sorted({s for s in seeds if seeds.count(s) > 1})
    if repeated:
        raise OptionError("seeds", seeds, f"seed {repeated[0]} given twice")
    return seeds


def parse_seeds(text: str) -> list[int]:
    """``1..5`` → [1, 2, 3, 4, 5]; ``0,3`` → [0, 3]; checked by :func:`check_seeds`."""
    low, dots, high = text.partition("..")
    try:
        seeds = list(range(int(low), int(high) + 1)) if dots else [int(s) for s in text.split(",")]
    except ValueError:
        raise OptionError("seeds", text, "expected A..B or comma-separated integers") from None
    if dots and int(high) < int(low):
        raise OptionError("seeds", text, f"reversed range; did you mean {high.strip()}..{low.strip()}?")
    try:
        return check_seeds(seeds)
    except OptionError as error:
        raise OptionError("seeds", text, error.problem) from None


def check_device(name: str) -> str:
    """``name`` if torch can score there: ``cpu``, ``cuda`` or ``cuda:N`` with a visible GPU."""
    import torch

    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise OptionError("device", name, "expected cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise OptionError("device", name, "expected cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise OptionError("device", name, f"CUDA is not available in this torch build ({torch.__version__}) or no GPU is visible")
    return name


def cpu_cores() -> int:
    """CPU cores of this machine (``os.cpu_count()``)."""
    return os.cpu_count() or 1


def check_workers_threads(workers, threads) -> tuple[int, int]:
    """``(workers, threads)`` if both are positive integers; warns (:class:`OversubscriptionWarning`)
    when ``workers × threads`` exceeds the CPU cores."""
    check_count("workers", workers)
    check_count("threads", threads)
    if workers * threads > cpu_cores():
        warnings.warn(
            f"{workers * threads} torch threads ({workers} process(es) x {threads}) on {cpu_cores()} CPU cores; "
            "scoring may be several times slower than with at most one thread per core",
            OversubscriptionWarning,
            stacklevel=2,
        )
    return workers, threads


def use_threads(threads, workers: int = 1) -> int:
    """Check ``workers`` × ``threads`` (:func:`check_workers_threads`) and set this process's torch
    threads to ``threads``."""
    import torch

    check_workers_threads(workers, threads)
    torch.set_num_threads(threads)
    return threads


def _first_existing(path: Path) -> Path:
    """``path`` or its nearest existing ancestor."""
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_out_dir(path, option: str = "out") -> Path:
    """``path`` as a ``Path`` if it is a writable folder or can be created as one (nothing is created)."""
    path = Path(path)
    existing = _first_existing(path.absolute())
    if not existing.is_dir():
        where = "is a regular file" if existing == path.absolute() else f"is under the regular file {existing}"
        raise OptionError(option, path, f"{where}; expected a folder")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OptionError(option, path, f"folder {existing} is not writable")
    return path


def new_folder_root(path) -> Path | None:
    """The outermost folder that creating ``path`` would add (``None`` when ``path`` exists)."""
    path = Path(path).absolute()
    if path.exists():
        return None
    while not path.parent.exists():
        path = path.parent
    return path


def check_cache_path(path) -> Path:
    """``path`` as a ``Path`` if it is a cache file, or a new file in an existing writable folder."""
    path = Path(path)
    if path.is_dir():
        raise OptionError("cache", path, "is a folder; expected a cache file such as vkdnw_cache.sqlite")
    folder = path.absolute().parent
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            raise OptionError("cache", path, "cache file is not readable and writable")
    elif not folder.exists():
        existing = _first_existing(folder)
        problem = f"folder {folder} does not exist" if existing.is_dir() else f"is under the regular file {existing}"
        raise OptionError("cache", path, problem)
    elif not folder.is_dir():
        raise OptionError("cache", path, f"{folder} is not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OptionError("cache", path, f"folder {folder} is not writable")
    return path

