"""The NAS-Bench-Macro network modules (see :mod:`.nas_bench_macro`); :func:`nas_bench_macro_network`
builds one."""

from __future__ import annotations

import torch
from torch import nn

from .nas_bench_macro import BLOCKS, HEAD_CHANNELS, STAGES, STEM_CHANNELS, parse_code


def _conv_bn(c_in: int, c_out: int, kernel: int = 1, stride: int = 1, groups: int = 1, relu: bool = True):
    layers = [
        nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=kernel // 2, groups=groups, bias=False),
        nn.BatchNorm2d(c_out),
    ]
    if relu:
        layers.append(nn.ReLU(inplace=True))
    return nn.Sequential(*layers)


class InvertedResidual(nn.Module):
    """1×1 expand + ReLU → k×k depthwise (stride) + ReLU → 1×1 project (linear), each with BN.

    ``(B, c_in, H, W)`` → ``(B, c_out, H/stride, W/stride)``; adds the input when shapes agree."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int, kernel: int):
        super().__init__()
        hidden = c_in * expansion
        self.conv = nn.Sequential(
            _conv_bn(c_in, hidden),
            _conv_bn(hidden, hidden, kernel, stride, groups=hidden),
            _conv_bn(hidden, c_out, relu=False),
        )
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv(x)
        return out + x if self.residual else out


def _layer(choice: int, c_in: int, c_out: int, stride: int) -> nn.Module:
    if choice in BLOCKS:
        return InvertedResidual(c_in, c_out, stride, *BLOCKS[choice])
    if stride == 1 and c_in == c_out:
        return nn.Identity()
    return _conv_bn(c_in, c_out, stride=stride, relu=False)


class MacroNetwork(nn.Module):
    """NAS-Bench-Macro network: ``(B, 3, H, W)`` images → ``(B, num_classes)`` logits."""

    def __init__(self, code: str, num_classes: int = 10):
        super().__init__()
        self.code = code
        choices = list(parse_code(code))
        self.stem = _conv_bn(3, STEM_CHANNELS, 3)
        layers, channels = [], STEM_CHANNELS
        for depth in STAGES:
            for index in range(depth):
                stride = 2 if index == 0 else 1
                layers.append(_layer(choices.pop(0), channels, channels * stride, stride))
                channels *= stride
        self.features = nn.Sequential(*layers)
        self.head = nn.Sequential(_conv_bn(channels, HEAD_CHANNELS), nn.AdaptiveAvgPool2d(1), nn.Flatten(1))
        self.classifier = nn.Linear(HEAD_CHANNELS, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.features(self.stem(x))))


def nas_bench_macro_network(code: str, num_classes: int = 10) -> MacroNetwork:
    """Build the NAS-Bench-Macro network of ``code`` (see :func:`parse_code`)."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    return MacroNetwork(code, num_classes)


def count_params(model: nn.Module) -> int:
    """Number of parameters (BN affine weights included), as the benchmark's ``params``."""
    return sum(p.numel() for p in model.parameters())
