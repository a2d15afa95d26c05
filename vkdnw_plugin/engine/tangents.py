"""Closed-form tangents ∂out/∂θ of one weight element θ, read straight off a layer's input.

Each rule ``(module, local_name, element, x, out) -> (channels, part) | None`` gives the output
channels (1-d index tensor) that θ = ``getattr(module, local_name).view(-1)[element]`` touches and the
tangent restricted to them (B, len(channels), …), or ``None`` when it has no closed form there (the
caller then falls back to ``torch.func.jvp``). :data:`TANGENT_RULES` maps a layer type to its rule;
:func:`unit_tangent` looks the rule up along ``type(module).__mro__``.
"""

from __future__ import annotations

import torch
from torch import nn


def _position(module: nn.Module, local: str, element: int):
    """``(weight, index, channel)``: the tensor, the unravelled ``element`` and its output channel."""
    weight = getattr(module, local)
    index = torch.unravel_index(torch.tensor(element), weight.shape)
    return weight, index, int(index[0])


def _bias_tangent(channel: int, out: torch.Tensor):
    """A bias element adds 1 to every position of its output channel."""
    return torch.tensor([channel], device=out.device), torch.ones_like(out.narrow(1, channel, 1))


def linear_tangent(module: nn.Linear, local: str, element: int, x: torch.Tensor, out: torch.Tensor):
    """``nn.Linear`` with 2-d output: W[c, i] → input column i on output c; bias[c] → 1 on c."""
    _, index, channel = _position(module, local, element)
    if local == "bias":
        return _bias_tangent(channel, out)
    if local != "weight" or out.dim() != 2:
        return None
    return torch.tensor([channel], device=out.device), x[:, int(index[1]) : int(index[1]) + 1]


def batchnorm_tangent(module: nn.modules.batchnorm._BatchNorm, local: str, element: int, x: torch.Tensor,
                      out: torch.Tensor):  # fmt: skip
    """Eval-mode BatchNorm with running statistics: γ_c → the normalised input channel c; β_c → 1."""
    _, _, channel = _position(module, local, element)
    if local == "bias":
        return None if module.training else _bias_tangent(channel, out)
    if local != "weight" or module.training or module.running_mean is None:
        return None
    shape = (1, 1) + (1,) * (x.dim() - 2)
    mean = module.running_mean[channel].view(shape)
    std = torch.sqrt(module.running_var[channel] + module.eps).view(shape)
    return torch.tensor([channel], device=out.device), (x.narrow(1, channel, 1) - mean) / std


def conv2d_tangent(module: nn.Conv2d, local: str, element: int, x: torch.Tensor, out: torch.Tensor):
    """``nn.Conv2d`` with numeric zero padding: W[c, i, r, s] → the padded input channel it reads,
    strided and dilated to the output grid, on output c; bias[c] → 1 on c."""
    weight, index, channel = _position(module, local, element)
    if local == "bias":
        return _bias_tangent(channel, out)
    if local != "weight" or module.padding_mode != "zeros" or isinstance(module.padding, str):
        return None
    in_channel = channel // (module.out_channels // module.groups) * weight.shape[1] + int(index[1])
    padded = nn.functional.pad(x.narrow(1, in_channel, 1), (module.padding[1],) * 2 + (module.padding[0],) * 2)
    rows, cols = out.shape[2], out.shape[3]
    (sr, sc), (dr, dc) = module.stride, module.dilation
    r0, c0 = int(index[2]) * dr, int(index[3]) * dc
    part = padded[:, :, r0 : r0 + sr * (rows - 1) + 1 : sr, c0 : c0 + sc * (cols - 1) + 1 : sc]
    return torch.tensor([channel], device=out.device), part


TANGENT_RULES = {
    nn.Conv2d: conv2d_tangent,
    nn.Linear: linear_tangent,
    nn.modules.batchnorm._BatchNorm: batchnorm_tangent,
}


def unit_tangent(module: nn.Module, local: str, element: int, x: torch.Tensor, out: torch.Tensor):
    """``(channels, part)`` of the first :data:`TANGENT_RULES` entry along ``type(module).__mro__``;
    ``None`` (use the generic jvp) for other layers or when the rule has no closed form."""
    for cls in type(module).__mro__:
        rule = TANGENT_RULES.get(cls)
        if rule is not None:
            return rule(module, local, element, x, out)
    return None
