"""Params: number of parameters in millions (NASLib's ``params`` measure, "MB" in NAS-Bench-201).

Counts every element of ``model.parameters()`` (trainable or not, shared tensors once); NASLib
reads the same number from tensorwatch's ``ModelStats(...).parameters / 1e6``.
"""

from __future__ import annotations

from torch import nn

from ._registry import register_proxy


@register_proxy("params", higher_is_better=True)
def params(model: nn.Module, inputs=None, targets=None, *, context=None) -> float:
    """Millions of parameters."""
    return sum(p.numel() for p in model.parameters()) / 1e6
