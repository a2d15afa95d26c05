"""NAS-Bench-Macro (Su et al., CVPR 2021): a MobileNetV2-style macro space on CIFAR-10.

A code is a string of 8 digits, one per searchable layer:

* ``0`` identity (at the first layer of a stage: 1×1 conv with stride 2 + BN, since width doubles);
* ``1`` inverted residual, expansion 3, depthwise kernel 3;
* ``2`` inverted residual, expansion 6, depthwise kernel 5.

Skeleton for a ``(B, 3, 32, 32)`` input: stem 3×3 conv (32 ch) + BN + ReLU; three stages of 2, 3, 3
layers with 64, 128, 256 channels, the first layer of each stage having stride 2 (32→16→8→4 px);
head 1×1 conv to 1280 ch + BN + ReLU, global average pool, ``Linear(1280, num_classes)``.
All convs are bias-free; activations are ReLU (not ReLU6).

The benchmark's FLOPs are multiply-accumulates of every ``Conv2d`` (grouped convs divided by groups)
plus ``in_features × out_features`` of every ``Linear`` (no bias, BN, activation or pooling terms),
for one 32×32 image: :func:`vkdnw_plugin.proxies.flops.count_macs` reproduces them, and
:func:`count_params` its params.
"""

from __future__ import annotations

import itertools

import torch
from torch import nn

NUM_LAYERS = 8
CHOICES = "012"
STAGES = (2, 3, 3)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# (expansion ratio, depthwise kernel) of the inverted-residual choices.
BLOCKS = {1: (3, 3), 2: (6, 5)}


def parse_code(code: str) -> tuple[int, ...]:
    """The 8 layer choices of ``code`` (e.g. ``"02012100"`` → ``(0, 2, 0, 1, 2, 1, 0, 0)``).

    Only strings are accepted: an int would have lost its leading zeros. Raises ``ValueError``
    naming the bad length or character."""
    if not isinstance(code, str):
        raise ValueError(
            f"NAS-Bench-Macro code must be a str of {NUM_LAYERS} digits 0/1/2, got {type(code).__name__} "
            f"{code!r} (ints lose leading zeros)"
        )
    if len(code) != NUM_LAYERS:
        raise ValueError(f"NAS-Bench-Macro code {code!r} has length {len(code)}, expected {NUM_LAYERS}")
    for position, char in enumerate(code):
        if char not in CHOICES:
            raise ValueError(
                f"NAS-Bench-Macro code {code!r} has bad character {char!r} at position {position}; "
                f"expected one of {', '.join(CHOICES)}"
            )
    return tuple(int(char) for char in code)


def nas_bench_macro_codes() -> list[str]:
    """All 3**8 = 6561 codes in lexicographic order, ``"00000000"`` … ``"22222222"``."""
    return ["".join(digits) for digits in itertools.product(CHOICES, repeat=NUM_LAYERS)]


def non_identity_blocks(code: str) -> int:
    """Searchable layers of ``code`` that are inverted-residual blocks (choices 1 and 2): the
    space's simplest size baseline."""
    return sum(choice != 0 for choice in parse_code(code))


def layer_features(code: str) -> dict[str, float]:
    """Architecture features of ``code`` for the model-driven ranker: one ``layer<i>_choice<c>``
    indicator per layer and choice, and ``blocks`` (:func:`non_identity_blocks`)."""
    choices = parse_code(code)
    features = {f"layer{i}_choice{c}": float(choice == c) for i, choice in enumerate(choices) for c in range(len(CHOICES))}
    return {**features, "blocks": float(non_identity_blocks(code))}


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
