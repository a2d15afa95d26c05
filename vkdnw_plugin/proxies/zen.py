"""Zen-score (Lin et al., "Zen-NAS: A Zero-Shot NAS for High-Performance Deep Image Recognition",
ICCV 2021), as in NASLib's ``zen`` and the AZ-NAS/VKDNW NB201 code.

On a copy with every conv/linear weight drawn from N(0, 1) (biases 0, BatchNorm γ=1, β=0, running
statistics reset), in train mode: ``zen = ln E_n ‖φ(x_n) - φ(x_n + γ ε_n)‖₁ + Σ_BN ln sqrt(mean
running_var)`` with ``x, ε ~ N(0, 1)`` of the input's shape (the given inputs are NOT used, only
their shape), γ = 0.01 and ``φ`` the feature map entering the global average pooling (the input
of the last ``nn.AdaptiveAvgPool2d`` called). The running variances are those left by the two
forward passes with the BatchNorm momentum of the model (the reference code does the same).
Measures the expressivity (Gaussian complexity) of the pre-GAP feature extractor.
"""

from __future__ import annotations

import torch
from torch import nn

from ._registry import register_proxy
from ._utils import gaussian_init_, generator, reset_batchnorm_stats, working_copy

MIXUP_GAMMA = 1e-2


def pre_gap_features(model: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The input of the last ``nn.AdaptiveAvgPool2d`` called by ``model(x)``."""
    seen = []
    handles = [
        m.register_forward_pre_hook(lambda module, args: seen.append(args[0]))
        for m in model.modules()
        if isinstance(m, nn.AdaptiveAvgPool2d)
    ]
    try:
        model(x)
    finally:
        for handle in handles:
            handle.remove()
    if not seen:
        raise ValueError(
            "zen needs a global average pooling layer (nn.AdaptiveAvgPool2d) to read features from"
        )
    return seen[-1]


def zen_from_features(out: torch.Tensor, mixed_out: torch.Tensor, bn_running_vars) -> float:
    """``ln mean_n Σ|out - mixed_out| + Σ ln sqrt(mean(running_var))`` in float64."""
    diff = (out.double() - mixed_out.double()).abs().flatten(1).sum(1).mean()
    log_bn = sum(0.5 * torch.log(v.double().mean()) for v in bn_running_vars)
    return float(torch.log(diff) + log_bn)


@register_proxy("zen", higher_is_better=True)
def zen(model, inputs, targets=None, *, context=None, seed: int | None = None) -> float:
    """Zen-score of the pre-GAP features under Gaussian weights and Gaussian inputs."""
    if seed is None:
        seed = context.seed if context is not None else 0
    gen = generator(seed + 1)
    clone = working_copy(model, train=True)
    reset_batchnorm_stats(clone)
    gaussian_init_(clone, gen)
    shape, dtype = inputs.shape, inputs.dtype
    x = torch.randn(shape, generator=gen, dtype=dtype).to(inputs.device)
    noise = torch.randn(shape, generator=gen, dtype=dtype).to(inputs.device)
    with torch.no_grad():
        out = pre_gap_features(clone, x)
        mixed = pre_gap_features(clone, x + MIXUP_GAMMA * noise)
    running_vars = [
        m.running_var for m in clone.modules() if isinstance(m, nn.BatchNorm2d) and m.running_var is not None
    ]
    return zen_from_features(out, mixed, running_vars)
