"""Config files of the ``vkdnw-naslib`` commands: NASLib zc configs plus a few keys of ours.

A config is read by NASLib's own ``utils.get_config_from_args(..., config_type="zc")`` (so the
usual ``key value`` command-line overrides and NASLib's output folders apply), then checked here:
every problem raises :class:`ConfigError` naming the key.

Keys of ours (all optional, defaults below): ``ndcg_k`` (list of k for nDCG@k), ``arch_subset``
(``unique``: the 9,445 NB201 architectures of the paper's Table I, or ``all``), ``ground_truth``
(``test``: the paper's protocol, or ``valid``), ``nb201_table`` (path of the NB201 table;
default the shared one), ``data_path`` (a CIFAR folder for NASLib's own loaders; default: random
inputs of the dataset's shape), ``num_threads`` (torch CPU threads; default 1, much faster than
oversubscribed cores for one small network at a time), ``vkdnw`` (options of the ``vkdnw*``
measures, see :class:`vkdnw_naslib.measures.VKDNWOptions`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from vkdnw_plugin.options import DEFAULT_THREADS

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
SEARCH_SPACES = ("nasbench201",)
ARCH_SUBSETS = ("unique", "all")
GROUND_TRUTHS = ("test", "valid")
GROUND_TRUTH_COLUMNS = {
    ("cifar10", "test"): "c10_test",
    ("cifar100", "test"): "c100_test",
    ("ImageNet16-120", "test"): "in16_test",
    ("cifar10", "valid"): "c10_valid",
    ("cifar100", "valid"): "c100_valid_derived",
    ("ImageNet16-120", "valid"): "in16_valid_derived",
}
DEFAULTS = {
    "ndcg_k": [10, 100, 1000],
    "arch_subset": "unique",
    "ground_truth": "test",
    "nb201_table": None,
    "data_path": None,
    "num_threads": DEFAULT_THREADS,
    "vkdnw": {},
}


class ConfigError(ValueError):
    """A bad config value; the message names the key."""


def load_config(path, overrides=(), predictor: str | None = None, threads: int | None = None):
    """NASLib ``CfgNode`` from ``path`` through NASLib's ``get_config_from_args`` (zc type), with
    ``overrides`` (``["key", "value", ...]``) applied, our defaults filled in, ``num_threads`` set to
    ``threads`` when given, and checked."""
    from naslib import utils

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config-file: no such file {path}")
    overrides = list(overrides)
    if len(overrides) % 2:
        raise ConfigError(f"overrides must be 'key value' pairs, got an odd list: {overrides}")
    import yaml

    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(raw).__name__}")
    for key in ("config_type", "out_dir", "search_space", "dataset", "predictor", "seed"):
        if key not in raw:
            raise ConfigError(f"{key}: missing from {path} (NASLib zc configs need it)")
    args = ["--config-file", str(path), *overrides]
    if predictor is not None:
        args += ["predictor", predictor]
    try:
        config = utils.get_config_from_args(args=utils.parse_args(args=args), config_type="zc")
    except KeyError as exc:
        raise ConfigError(f"{exc.args[0]}: unknown key in the command-line overrides") from None
    except (ValueError, TypeError, SyntaxError, NameError) as exc:
        raise ConfigError(f"overrides {overrides}: {exc}") from None
    config.set_new_allowed(True)
    for key, value in DEFAULTS.items():
        if key not in config:
            config[key] = value
    if threads is not None:
        config["num_threads"] = threads
    check(config)
    return config


def _int(config, key, minimum=None):
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{key}: expected an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {value}")
    return value


def _choice(config, key, allowed):
    if config[key] not in allowed:
        raise ConfigError(f"{key}: {config[key]!r} is not one of {', '.join(allowed)}")


def check(config) -> None:
    """Raise :class:`ConfigError` naming the first bad key."""
    _choice(config, "search_space", SEARCH_SPACES)
    _choice(config, "dataset", DATASETS)
    _choice(config, "arch_subset", ARCH_SUBSETS)
    _choice(config, "ground_truth", GROUND_TRUTHS)
    _int(config, "seed", 0)
    _int(config, "num_threads", 1)
    if "test_size" in config:
        _int(config, "test_size", 2)
    if "batch_size" in config:
        _int(config, "batch_size", 1)
    ks = config["ndcg_k"]
    if isinstance(ks, int) and not isinstance(ks, bool):
        config["ndcg_k"] = ks = [ks]
    if not isinstance(ks, (list, tuple)) or not ks or not all(isinstance(k, int) and k >= 1 for k in ks):
        raise ConfigError(f"ndcg_k: expected a positive integer or a list of them, got {ks!r}")
    if config["data_path"] is not None and not Path(str(config["data_path"])).is_dir():
        raise ConfigError(f"data_path: {config['data_path']!r} is not a folder")
    if config["nb201_table"] is not None and not Path(str(config["nb201_table"])).is_file():
        raise ConfigError(f"nb201_table: {config['nb201_table']!r} is not a file")
    vkdnw = config["vkdnw"]
    if not isinstance(vkdnw, dict):
        raise ConfigError(f"vkdnw: expected a mapping of VKDNW options, got {vkdnw!r}")
    from .measures import VKDNWOptions

    try:
        VKDNWOptions(**dict(vkdnw)).validated()
    except TypeError:
        known = ", ".join(VKDNWOptions.__dataclass_fields__)
        raise ConfigError(f"vkdnw: unknown option among {sorted(vkdnw)}; expected {known}") from None
    except ValueError as exc:
        raise ConfigError(str(exc)) from None


def ground_truth_column(config) -> str:
    return GROUND_TRUTH_COLUMNS[(config.dataset, config.ground_truth)]


def default_out_dir() -> str:
    return os.path.join(tempfile.gettempdir(), "vkdnw_naslib_run")
