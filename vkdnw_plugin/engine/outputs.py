"""The logits (B, C) of a model's output."""

from __future__ import annotations

import torch


def logits_of(output) -> torch.Tensor:
    """The logits of a model output: the tensor itself, or the last element of a tuple/list
    (NAS-Bench-201 networks return ``(features, logits)``)."""
    if isinstance(output, (tuple, list)):
        output = output[-1]
    if not isinstance(output, torch.Tensor) or output.dim() != 2:
        raise ValueError(
            f"model output must be logits of shape (batch, classes) or a tuple ending with them, got {_describe(output)}"
        )
    return output


def _describe(value) -> str:
    return f"tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__
