"""NNI's own search spaces (``NasBench201``, ``ProxylessNAS``) as the adapter uses them.

A *sample* is NNI's ``{label: value}`` dict (``{'cell/0_1': 'conv_3x3', ...}`` for NAS-Bench-201,
``{'s2_depth': 3, 's2_i0': 'k5e6', ...}`` for ProxylessNAS). :func:`build_model` turns it into a
concrete ``nn.Module`` without sampling the whole space; :func:`search_space_json` writes the same
space in NNI's HPO search-space format for ``nnictl`` tuners.
"""

from __future__ import annotations

import functools

from torch import nn

from vkdnw_plugin.proxies.flops import count_macs
from vkdnw_plugin.scoring import AUTHORS_SETTINGS
from vkdnw_plugin.spaces.nb201 import DATASETS as NB201_DATASETS

from ._compat import NasBench201, ProxylessNAS, fixed_arch, quiet_nni_logs
from ._constants import SPACES

# The authors' VKDNW settings of each space (ProxylessNAS is a MobileNetV2 space).
SPACE_VKDNW_DEFAULTS = {"nb201": AUTHORS_SETTINGS["nb201"], "proxylessnas": AUTHORS_SETTINGS["mobilenetv2"]}
NB201_OPS = {  # NNI op name -> NAS-Bench-201 op name
    "none": "none",
    "skip_connect": "skip_connect",
    "conv_1x1": "nor_conv_1x1",
    "conv_3x3": "nor_conv_3x3",
    "avg_pool_3x3": "avg_pool_3x3",
}
NB201_EDGES = ("0_1", "0_2", "1_2", "0_3", "1_3", "2_3")  # arch-string order


def _check_space(space: str) -> str:
    if space not in SPACES:
        raise ValueError(f"unknown space {space!r}; expected one of {', '.join(SPACES)}")
    return space


def space_kwargs(space: str, dataset: str | None = None, num_classes: int | None = None, **extra) -> dict:
    """Constructor kwargs of the NNI space class: ``num_labels`` from ``dataset`` (NB201) or
    ``num_classes`` (ProxylessNAS default 1000), plus ``extra`` (e.g. ``width_mult``)."""
    _check_space(space)
    if space == "nb201":
        if dataset is not None and dataset not in NB201_DATASETS:
            raise ValueError(f"unknown dataset {dataset!r}; expected one of {', '.join(NB201_DATASETS)}")
        labels = num_classes or NB201_DATASETS[dataset or "cifar10"][0]
    else:
        labels = num_classes or 1000
    if labels < 1:
        raise ValueError(f"num_classes must be positive, got {labels}")
    return {"num_labels": int(labels), **extra}


def default_resolution(space: str, dataset: str | None = None) -> int:
    _check_space(space)
    return NB201_DATASETS[dataset or "cifar10"][1] if space == "nb201" else 224


def _space_class(space: str):
    return NasBench201 if _check_space(space) == "nb201" else ProxylessNAS


def build_space(space: str, **kwargs) -> nn.Module:
    """The NNI model space ``NasBench201(**kwargs)`` or ``ProxylessNAS(**kwargs)``."""
    with quiet_nni_logs():
        return _space_class(space)(**kwargs)


def build_model(space: str, sample: dict, **kwargs) -> nn.Module:
    """The concrete network of ``sample`` (NNI's ``model_context`` / ``fixed_arch``)."""
    cls = _space_class(space)
    with quiet_nni_logs(), fixed_arch(sample):
        return cls(**kwargs)


@functools.lru_cache(maxsize=8)
def _choices(space: str, frozen_kwargs: tuple) -> dict:
    model_space = build_space(space, **dict(frozen_kwargs))
    if hasattr(model_space, "simplify"):  # NNI 3.0
        return {label: list(mutable.values) for label, mutable in model_space.simplify().items()}
    return _retiarii_choices(model_space)


def _retiarii_choices(model_space) -> dict:
    """NNI 2.10 (``nni.retiarii``) spaces have no ``simplify()``: collect LayerChoice / Repeat-depth /
    InputChoice labels from the module tree (enough for NasBench201 and ProxylessNAS)."""
    from nni.retiarii.nn.pytorch import InputChoice, LayerChoice, Repeat

    choices: dict = {}
    for module in model_space.modules():
        if isinstance(module, LayerChoice):
            choices[module.label] = list(module.names)
        elif isinstance(module, Repeat) and getattr(module, "depth_choice", None) is not None:
            depth = module.depth_choice
            if hasattr(depth, "candidates"):
                choices[depth.label] = list(depth.candidates)
        elif isinstance(module, InputChoice):
            choices[module.label] = list(range(module.n_candidates))
    return choices


def space_choices(space: str, **kwargs) -> dict[str, list]:
    """``{label: [values...]}`` of every choice of the space (from NNI's ``simplify()``)."""
    return _choices(space, tuple(sorted(kwargs.items())))


def search_space_json(space: str, **kwargs) -> dict:
    """NNI HPO search space ``{label: {"_type": "choice", "_value": [...]}}`` of the NAS space."""
    return {label: {"_type": "choice", "_value": values} for label, values in space_choices(space, **kwargs).items()}


def validate_sample(space: str, sample: dict, **kwargs) -> dict:
    """``sample`` if every label of the space has an allowed value; ``ValueError`` naming the label."""
    choices = space_choices(space, **kwargs)
    if not isinstance(sample, dict):
        raise ValueError(f"an architecture sample must be a dict of {{label: value}}, got {type(sample).__name__}")
    for label, values in choices.items():
        if label not in sample:
            raise ValueError(f"architecture sample misses label {label!r} of space {space!r}")
        if sample[label] not in values:
            raise ValueError(f"architecture sample has {label}={sample[label]!r}; expected one of {values}")
    unknown = sorted(set(sample) - set(choices))
    if unknown:
        raise ValueError(f"architecture sample has unknown labels {unknown} for space {space!r}")
    return sample


def count_mflops(model: nn.Module, resolution: int) -> float:
    """Millions of multiply-accumulates for one RGB image of ``resolution`` × ``resolution``
    (:func:`vkdnw_plugin.proxies.flops.count_macs`, the package's one FLOPs counter)."""
    return count_macs(model, (1, 3, resolution, resolution)) / 1e6


def nb201_arch_str(sample: dict) -> str:
    """NAS-Bench-201 arch string of an NNI ``NasBench201`` sample (``conv_3x3`` → ``nor_conv_3x3``)."""
    try:
        ops = [NB201_OPS[sample[f"cell/{edge}"]] for edge in NB201_EDGES]
    except KeyError as exc:
        raise ValueError(f"not a NasBench201 sample (missing or unknown {exc}): {sample}") from None
    return f"|{ops[0]}~0|+|{ops[1]}~0|{ops[2]}~1|+|{ops[3]}~0|{ops[4]}~1|{ops[5]}~2|"


def nb201_sample(arch) -> dict:
    """The NNI ``NasBench201`` sample of an NB201 arch (string, index or NASLib tuple)."""
    from vkdnw_plugin.spaces.nb201 import parse_arch

    reverse = {v: k for k, v in NB201_OPS.items()}
    ops = parse_arch(arch).ops
    return {f"cell/{edge}": reverse[op] for edge, op in zip(NB201_EDGES, ops)}
