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


# Every key a vkdnw-naslib config may hold: NASLib's zc keys, ours, and the sections' keys.
NASLIB_KEYS = ("config_type", "out_dir", "search_space", "dataset", "predictor", "test_size", "batch_size", "seed",
               "cutout", "cutout_length", "cutout_prob", "train_portion")
OUR_KEYS = (*DEFAULTS, "predictors", "search")
SEARCH_KEYS = ("optimizer", "fitness", "epochs", "population_size", "sample_size", "fidelity")
LIST_KEYS = ("ndcg_k", "predictors")  # a scalar given here is a one-element list


def _section_keys(section: str) -> tuple[str, ...]:
    if section == "search":
        return SEARCH_KEYS
    from .measures import VKDNWOptions

    return tuple(VKDNWOptions.__dataclass_fields__)


def _check_key(key: str, where: str) -> None:
    """``ConfigError`` naming ``key`` unless it is a known top-level or ``vkdnw.``/``search.`` key."""
    section, _, sub = key.partition(".")
    if not sub:
        if key not in (*NASLIB_KEYS, *OUR_KEYS):
            raise ConfigError(f"{key}: unknown key {where}; expected one of {', '.join((*NASLIB_KEYS, *OUR_KEYS))}")
    elif section not in ("vkdnw", "search") or sub not in _section_keys(section):
        known = ", ".join(f"{section}.{k}" for k in _section_keys(section)) if section in ("vkdnw", "search") else \
            "vkdnw.* and search.* keys"
        raise ConfigError(f"{key}: unknown key {where}; expected one of {known}")


def apply_overrides(raw: dict, overrides) -> dict:
    """``raw`` (a config mapping) with NASLib-style ``["key", "value", ...]`` overrides applied: values
    are read as YAML (``10``, ``null``, ``[10, 100]``, ``vkdnw``), dotted keys set a ``vkdnw.`` or
    ``search.`` entry, a scalar given for a list key becomes a one-element list, and an unknown key or
    an odd list raises :class:`ConfigError` naming it."""
    import yaml

    overrides = list(overrides)
    if len(overrides) % 2:
        raise ConfigError(f"overrides must be 'key value' pairs, got an odd list: {' '.join(map(str, overrides))}")
    merged = {key: dict(value) if isinstance(value, dict) else value for key, value in raw.items()}
    for key, text in zip(overrides[::2], overrides[1::2]):
        _check_key(key, "in the command-line overrides")
        try:
            value = yaml.safe_load(str(text))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}: cannot read the value {text!r} ({' '.join(str(exc).split())})") from None
        if key in LIST_KEYS and not isinstance(value, list):
            value = [value]
        section, _, sub = key.partition(".")
        if sub:
            if not isinstance(merged.get(section) or {}, dict):
                raise ConfigError(f"{section}: expected a mapping, got {merged[section]!r}")
            merged[section] = {**(merged.get(section) or {}), sub: value}
        else:
            merged[key] = value
    return merged


def load_config(path, overrides=(), predictor: str | None = None, threads: int | None = None):
    """NASLib ``CfgNode`` of the YAML file ``path`` with ``overrides`` (``["key", "value", ...]``, see
    :func:`apply_overrides`) applied, our defaults filled in, ``num_threads`` set to ``threads`` when
    given, built by NASLib's ``get_config_from_args`` (zc type) and checked. Unknown keys, in the file
    or the overrides, raise :class:`ConfigError` naming them."""
    import yaml
    from naslib import utils

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config-file: no such file {path}")
    with open(path) as f:
        raw = yaml.safe_load(f) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(raw).__name__}")
    for key, value in raw.items():
        _check_key(key, f"in {path}")
        if key in ("vkdnw", "search") and isinstance(value, dict):
            for sub in value:
                _check_key(f"{key}.{sub}", f"in {path}")
    for key in ("config_type", "out_dir", "search_space", "dataset", "predictor", "seed"):
        if key not in raw:
            raise ConfigError(f"{key}: missing from {path} (NASLib zc configs need it)")
    merged = apply_overrides(raw, overrides)
    if predictor is not None:
        merged["predictor"] = predictor
    with tempfile.TemporaryDirectory() as folder:
        merged_path = Path(folder) / path.name
        merged_path.write_text(yaml.safe_dump(merged, sort_keys=False))
        config = utils.get_config_from_args(args=utils.parse_args(args=["--config-file", str(merged_path)]),
                                            config_type="zc")
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
