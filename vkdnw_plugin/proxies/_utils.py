"""Small helpers shared by the proxy modules (model copies, weight layers, seeds)."""

from __future__ import annotations

import copy
import math

import torch
from torch import nn

# Layers whose ``weight`` the NASLib-style proxies score ("prunable" layers in Abdelfattah et al.).
WEIGHT_LAYER_TYPES = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
# Rectifier modules whose sign pattern NASWOT reads (NASLib: every torch module named *ReLU*).
RELU_TYPES = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.RReLU, nn.PReLU)


def weight_layers(model: nn.Module) -> list[nn.Module]:
    """Convolution and linear modules of ``model`` in ``modules()`` order (each once)."""
    return [m for m in model.modules() if isinstance(m, WEIGHT_LAYER_TYPES)]


def working_copy(model: nn.Module, *, train: bool = True) -> nn.Module:
    """A deep copy the proxies may change freely: in-place activations switched off (so hooked
    tensors stay valid for autograd), every parameter trainable, ``train()`` or ``eval()`` mode."""
    clone = copy.deepcopy(model)
    for module in clone.modules():
        if hasattr(module, "inplace") and isinstance(module.inplace, bool):
            module.inplace = False
    for param in clone.parameters():
        param.requires_grad_(True)
    clone.train(train)
    return clone


def reset_batchnorm_stats(model: nn.Module) -> None:
    """Running statistics of every BatchNorm back to their freshly-built values (mean 0, var 1)."""
    for module in model.modules():
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.track_running_stats:
            module.reset_running_stats()


def remove_batchnorm(model: nn.Module) -> None:
    """Replace every BatchNorm module by ``nn.Identity`` in place (NASLib's ``bn=False`` copies)."""
    for parent in model.modules():
        for name, child in list(parent.named_children()):
            if isinstance(child, nn.modules.batchnorm._BatchNorm):
                setattr(parent, name, nn.Identity())


def generator(seed: int) -> torch.Generator:
    """A CPU generator seeded with ``seed`` (all proxy randomness goes through one of these)."""
    gen = torch.Generator()
    gen.manual_seed(int(seed))
    return gen


def random_labels(batch: int, num_classes: int, seed: int, device=None) -> torch.Tensor:
    """``batch`` labels drawn uniformly from ``0..num_classes-1`` with a seeded generator."""
    if num_classes < 1:
        raise ValueError(f"num_classes must be positive, got {num_classes}")
    labels = torch.randint(0, num_classes, (batch,), generator=generator(seed))
    return labels.to(device) if device is not None else labels


def gaussian_init_(model: nn.Module, gen: torch.Generator | None = None, *, fan_in_scaled: bool = False) -> None:
    """Conv/linear weights ~ N(0, σ²) with σ = 1, or σ² = 2/fan_in when ``fan_in_scaled`` (Kaiming
    normal fan-in), biases 0; BatchNorm/GroupNorm γ = 1, β = 0."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.modules.conv._ConvNd, nn.Linear)):
                draw = torch.randn(module.weight.shape, generator=gen, dtype=module.weight.dtype)
                std = math.sqrt(2.0 / module.weight[0].numel()) if fan_in_scaled else 1.0
                module.weight.copy_(draw * std)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, (nn.modules.batchnorm._BatchNorm, nn.GroupNorm)):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                    module.bias.zero_()
