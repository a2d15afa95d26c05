"""NNI's ``NasBench201`` and ``ProxylessNAS`` spaces as the adapter uses them.

A *sample* is NNI's ``{label: value}`` dict; :func:`build_model` builds its network without sampling the
whole space and :func:`search_space_json` writes the space in NNI's HPO format for ``nnictl`` tuners.
"""

from __future__ import annotations

import functools

from torch import nn

from vkdnw_plugin.options import FieldError
from vkdnw_plugin.proxies.flops import count_macs
from vkdnw_plugin.spaces import get_space

from ._compat import NasBench201, ProxylessNAS, fixed_arch, quiet_nni_logs
from .tuner import NNI_SPACES

NNI_CLASSES = {"nb201": NasBench201, "proxylessnas": ProxylessNAS}  # core space -> NNI hub class


def space_kwargs(space: str, dataset: str | None = None, num_classes: int | None = None, **extra) -> dict:
    """Constructor kwargs of the NNI space class: ``num_labels`` (``num_classes``, else the ``dataset``'s)
    plus ``extra`` (e.g. ``width_mult``)."""
    _check_space(space)
    labels = num_classes if num_classes is not None else get_space(space).shape(dataset)[0]
    if isinstance(labels, bool) or not isinstance(labels, int) or labels < 1:
        raise FieldError(f"num_classes: expected a positive integer, got {labels!r}")
    return {"num_labels": labels, **extra}


def _check_space(space: str) -> str:
    if space not in NNI_SPACES:
        raise ValueError(f"unknown space {space!r}; expected one of {', '.join(NNI_SPACES)}")
    return space


def build_space(space: str, **kwargs) -> nn.Module:
    """The NNI model space ``NasBench201(**kwargs)`` or ``ProxylessNAS(**kwargs)``."""
    with quiet_nni_logs():
        return NNI_CLASSES[_check_space(space)](**kwargs)


def build_model(space: str, sample: dict, **kwargs) -> nn.Module:
    """The concrete network of ``sample`` (NNI's ``model_context`` / ``fixed_arch``)."""
    cls = NNI_CLASSES[_check_space(space)]
    with quiet_nni_logs(), fixed_arch(sample):
        return cls(**kwargs)


@functools.lru_cache(maxsize=8)
def _choices(space: str, frozen_kwargs: tuple) -> dict:
    model_space = build_space(space, **dict(frozen_kwargs))
    if hasattr(model_space, "simplify"):  # NNI 3.0
        return {label: list(mutable.values) for label, mutable in model_space.simplify().items()}
    return _retiarii_choices(model_space)


def _retiarii_choices(model_space) -> dict:
    """NNI 2.10 spaces have no ``simplify()``: LayerChoice / Repeat-depth / InputChoice labels."""
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
    """Millions of multiply-accumulates (the core's ``count_macs``) for one RGB image at ``resolution``."""
    return count_macs(model, (1, 3, resolution, resolution)) / 1e6
