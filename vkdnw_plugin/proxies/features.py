"""Layer features for feature-based proxies (AZ-NAS): which modules, and their outputs.

:func:`default_feature_modules` picks the modules whose outputs are a network's "layer features":

1. ``model.feature_modules()`` when the model defines that method (a list of its submodules);
2. a NAS-Bench-201 ``TinyNetwork``-like model (attributes ``stem`` and ``cells``):
   ``[stem, *cells]`` — the stem output followed by every cell / reduction block output, exactly the
   tensors of ``extract_cell_features`` in the AZ-NAS and VKDNW NB201 code;
3. any other model: its children in registration order, with ``nn.Sequential`` / ``nn.ModuleList`` /
   ``nn.ModuleDict`` containers expanded recursively into their elements, keeping the modules that
   own parameters (so activations, pooling, flatten and dropout are skipped). For a torchvision
   ResNet that is conv1, bn1 and every residual block (and fc, dropped below).

:func:`extract_features` runs the model once with forward hooks on those modules and returns the
outputs in call order, keeping only 4-D ``(B, C, H, W)`` tensors (so a classifier's 2-D output is
ignored). The returned tensors are live autograd nodes: the gradient of a later feature with respect
to an earlier one is well defined.
"""

from __future__ import annotations

import torch
from torch import nn

_CONTAINERS = (nn.Sequential, nn.ModuleList, nn.ModuleDict)


def _expand(module: nn.Module) -> list[nn.Module]:
    out = []
    for child in module.children():
        if isinstance(child, _CONTAINERS):
            out.extend(_expand(child))
        else:
            out.append(child)
    return out


def default_feature_modules(model: nn.Module) -> list[nn.Module]:
    """The modules whose outputs are ``model``'s layer features (rule in the module docstring)."""
    custom = getattr(model, "feature_modules", None)
    if callable(custom):
        return list(custom())
    stem, cells = getattr(model, "stem", None), getattr(model, "cells", None)
    if isinstance(stem, nn.Module) and isinstance(cells, (nn.ModuleList, nn.Sequential)):
        return [stem, *cells]
    return [m for m in _expand(model) if any(True for _ in m.parameters())]


def map_modules(source: nn.Module, target: nn.Module, modules) -> list[nn.Module]:
    """The submodules of ``target`` (a deep copy of ``source``) that correspond to ``modules``
    (submodules of ``source``, or their qualified names)."""
    names = {id(m): name for name, m in source.named_modules()}
    mapped = []
    for module in modules:
        if isinstance(module, str):
            name = module
        elif id(module) in names:
            name = names[id(module)]
        else:
            raise ValueError(f"feature module {type(module).__name__} is not a submodule of the model")
        mapped.append(target.get_submodule(name))
    return mapped


def extract_features(model: nn.Module, inputs: torch.Tensor, modules=None) -> tuple[list[torch.Tensor], object]:
    """``(features, output)``: the 4-D outputs of ``modules`` (default
    :func:`default_feature_modules`) in call order, and the model's own output."""
    if modules is None:
        modules = default_feature_modules(model)
    features: list[torch.Tensor] = []

    def keep(module, args, output):
        if isinstance(output, torch.Tensor) and output.dim() == 4:
            features.append(output)

    handles = [m.register_forward_hook(keep) for m in modules]
    try:
        output = model(inputs)
    finally:
        for handle in handles:
            handle.remove()
    return features, output
