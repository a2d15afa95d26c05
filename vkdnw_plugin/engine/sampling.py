"""Which parameter tensors VKDNW samples: their names, in the order they are differentiated."""

from __future__ import annotations

import random

from torch import nn

from ..vkdnw_options import TENSOR_POLICIES


def select_tensors(model: nn.Module, n_tensors: int = 128, policy: str = "first") -> list[str]:
    """Names of the sampled parameter tensors.

    ``"first"``: the first ``n_tensors`` of ``named_parameters()`` (NB201 code). ``"random"``: the
    authors' MobileNetV2 code, ``random.Random(n_all).sample(all_names, n_tensors)``, seeded by the
    number of tensors (here capped at ``n_all``; their code fails when fewer than 128 exist)."""
    if policy not in TENSOR_POLICIES:
        raise ValueError(f"unknown tensor_policy {policy!r}; expected one of {', '.join(TENSOR_POLICIES)}")
    if n_tensors < 1:
        raise ValueError(f"n_tensors must be positive, got {n_tensors}")
    names = [name for name, _ in model.named_parameters()]
    if policy == "first":
        return names[:n_tensors]
    return random.Random(len(names)).sample(names, min(n_tensors, len(names)))
