"""Config files of the ``vkdnw-naslib`` commands: NASLib zc configs plus a few keys of ours.

A config is read by NASLib's own ``utils.get_config_from_args(..., config_type="zc")`` (so the
usual ``key value`` command-line overrides and NASLib's output folders apply), then checked here:
every problem raises :class:`ConfigError` naming the key.

Keys of ours (all optional, defaults below): ``ndcg_k`` (list of k for nDCG@k), ``arch_subset``
(``unique``: the 9,445 NB201 architectures of the paper's Table I, or ``all``), ``ground_truth``
(``test`` or ``valid``), ``nb201_table`` (path of the NB201 table; default the shared one),
``data_path`` (a CIFAR folder for NASLib's own loaders; default: random inputs of the dataset's
shape), ``num_threads`` (torch CPU threads), ``vkdnw`` (:data:`VKDNW_KEYS`: fields of the core's
:class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions` plus ``init``).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from vkdnw_plugin.options import DEFAULT_THREADS, FieldError, OptionError, check_choice
from vkdnw_plugin.vkdnw_options import DEPRECATED, VKDNWOptions

DATASETS = ("cifar10", "cifar100", "ImageNet16-120")
SEARCH_SPACES = ("nasbench201",)
ARCH_SUBSETS = ("unique", "all")
GROUND_TRUTHS = ("test", "valid")
GROUND_TRUTH_COLUMNS = {("cifar10", "test"): "c10_test", ("cifar100", "test"): "c100_test", ("ImageNet16-120", "test"): "in16_test",
                        ("cifar10", "valid"): "c10_valid", ("cifar100", "valid"): "c100_valid_derived",
                        ("ImageNet16-120", "valid"): "in16_valid_derived"}  # fmt: skip
DEFAULTS = {"ndcg_k": [10, 100, 1000], "arch_subset": "unique", "ground_truth": "test", "nb201_table": None, "data_path": None,
            "num_threads": DEFAULT_THREADS, "vkdnw": {}}  # fmt: skip
# init: protocol (an NB201 graph is scored as the core scores its architecture), reference
# (NASLib's copy re-initialised like the authors' code) or keep (the copy's own weights).
INITS = ("protocol", "reference", "keep")
# The vkdnw: section: VKDNWOptions fields (batch and threads come from batch_size and num_threads) plus init.
VKDNW_KEYS = ("modes", "n_tensors", "tensor_policy", "n_quantiles", "direction", "compile", "seed", "init")
VKDNW_OLD_KEYS = {old: new for old, new in DEPRECATED.items() if new in VKDNW_KEYS}


class ConfigError(FieldError):
    """A bad config value or adapter argument; the message names the key."""


def vkdnw_options(values, base: VKDNWOptions | None = None, init: str = "protocol") -> tuple[VKDNWOptions, str]:
    """``(VKDNWOptions, init)`` of a ``{key: value}`` mapping (VKDNWOptions fields, old spellings with a
    deprecation warning, and ``init``) on top of ``base``; :class:`ConfigError` naming ``vkdnw.<key>``."""
    values = dict(values or {})
    init = values.pop("init", init)
    try:
        check_choice("init", init, INITS)
        return VKDNWOptions.from_mapping(values, base=base), init
    except OptionError as exc:
        raise ConfigError(f"vkdnw.{exc}") from None


# Every key a vkdnw-naslib config may hold: NASLib's zc keys, ours, and the sections' keys.
NASLIB_KEYS = ("config_type", "out_dir", "search_space", "dataset", "predictor", "test_size", "batch_size", "seed",
               "cutout", "cutout_length", "cutout_prob", "train_portion")
OUR_KEYS = (*DEFAULTS, "predictors", "search")
SECTION_KEYS = {"search": ("optimizer", "fitness", "epochs", "population_size", "sample_size", "fidelity"),
                "vkdnw": (*VKDNW_KEYS, *VKDNW_OLD_KEYS)}
LIST_KEYS = ("ndcg_k", "predictors")  # a scalar given here is a one-element list


def _check_key(key: str, where: str) -> None:
    """``ConfigError`` naming ``key`` unless it is a known top-level or ``vkdnw.``/``search.`` key."""
    section, _, sub = key.partition(".")
    if not sub:
        if key not in (*NASLIB_KEYS, *OUR_KEYS):
            raise ConfigError(f"{key}: unknown key {where}; expected one of {', '.join((*NASLIB_KEYS, *OUR_KEYS))}")
    elif sub not in SECTION_KEYS.get(section, ()):
        known = ", ".join(f"{section}.{k}" for k in SECTION_KEYS[section]) if section in SECTION_KEYS else \
            "vkdnw.* and search.* keys"
        raise ConfigError(f"{key}: unknown key {where}; expected one of {known}")


def apply_overrides(raw: dict, overrides) -> dict:
    """``raw`` (a config mapping) with NASLib-style ``["key", "value", ...]`` overrides applied: values
    are read as YAML (``10``, ``null``, ``[10, 100]``), dotted keys set a ``vkdnw.`` or ``search.``
    entry, a scalar given for a list key becomes a one-element list; an unknown key or an odd list
    raises :class:`ConfigError` naming it."""
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
        value = [value] if key in LIST_KEYS and not isinstance(value, list) else value
        section, _, sub = key.partition(".")
        if sub and not isinstance(merged.get(section) or {}, dict):
            raise ConfigError(f"{section}: expected a mapping, got {merged[section]!r}")
        merged.update({section: {**(merged.get(section) or {}), sub: value}} if sub else {key: value})
    return merged


def load_config(path, overrides=(), threads: int | None = None):
    """NASLib ``CfgNode`` of the YAML file ``path`` with ``overrides`` (:func:`apply_overrides`) applied,
    our defaults filled in and ``num_threads`` set to ``threads`` when given, built by NASLib's
    ``get_config_from_args`` (zc type) and checked (:func:`check`)."""
    import yaml
    from naslib import utils

    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"--config-file: no such file {path}")
    raw = yaml.safe_load(path.read_text()) or {}
    if not isinstance(raw, dict):
        raise ConfigError(f"{path}: expected a mapping of config keys, got {type(raw).__name__}")
    for key, value in raw.items():
        for checked in [key, *(f"{key}.{sub}" for sub in value)] if key in SECTION_KEYS and isinstance(value, dict) else [key]:
            _check_key(checked, f"in {path}")
    for key in ("config_type", "out_dir", "search_space", "dataset", "predictor", "seed"):
        if key not in raw:
            raise ConfigError(f"{key}: missing from {path} (NASLib zc configs need it)")
    with tempfile.TemporaryDirectory() as folder:
        merged_path = Path(folder) / path.name
        merged_path.write_text(yaml.safe_dump(apply_overrides(raw, overrides), sort_keys=False))
        config = utils.get_config_from_args(args=utils.parse_args(args=["--config-file", str(merged_path)]), config_type="zc")
    config.set_new_allowed(True)
    for key, value in DEFAULTS.items():
        config.setdefault(key, value)
    if threads is not None:
        config["num_threads"] = threads
    check(config)
    return config


def _int(config, key, minimum):
    value = config[key]
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{key}: expected an integer >= {minimum}, got {value!r}")
    return value


def check(config) -> None:
    """Raise :class:`ConfigError` naming the first bad key; the ``vkdnw`` section's old spellings are
    renamed (with a deprecation warning)."""
    for key, allowed in (("search_space", SEARCH_SPACES), ("dataset", DATASETS), ("arch_subset", ARCH_SUBSETS),
                         ("ground_truth", GROUND_TRUTHS)):
        if config[key] not in allowed:
            raise ConfigError(f"{key}: {config[key]!r} is not one of {', '.join(allowed)}")
    _int(config, "seed", 0)
    _int(config, "num_threads", 1)
    for key, minimum in (("test_size", 2), ("batch_size", 1)):
        if key in config:
            _int(config, key, minimum)
    ks = config["ndcg_k"]
    if isinstance(ks, int) and not isinstance(ks, bool):
        config["ndcg_k"] = ks = [ks]
    if not isinstance(ks, (list, tuple)) or not ks or not all(isinstance(k, int) and k >= 1 for k in ks):
        raise ConfigError(f"ndcg_k: expected a positive integer or a list of them, got {ks!r}")
    if config["data_path"] is not None and not Path(str(config["data_path"])).is_dir():
        raise ConfigError(f"data_path: {config['data_path']!r} is not a folder")
    if config["nb201_table"] is not None and not Path(str(config["nb201_table"])).is_file():
        raise ConfigError(f"nb201_table: {config['nb201_table']!r} is not a file")
    section = config["vkdnw"]
    if not isinstance(section, dict):
        raise ConfigError(f"vkdnw: expected a mapping of VKDNW options, got {section!r}")
    vkdnw_options(section)
    config["vkdnw"] = type(config)({VKDNW_OLD_KEYS.get(key, key): value for key, value in section.items()})


def ground_truth_column(config) -> str:
    return GROUND_TRUTH_COLUMNS[(config.dataset, config.ground_truth)]
