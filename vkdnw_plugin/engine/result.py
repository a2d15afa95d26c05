"""The outcome of a VKDNW score (:class:`VKDNWResult`) and the number of parameter tensors (``dim``)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn


@dataclass
class VKDNWResult:
    """Outcome of :func:`~vkdnw_plugin.engine.vkdnw_score`.

    ``deciles`` (n_quantiles,) and ``eigenvalues`` (P,, descending) and ``fisher`` (P, P) are float64
    numpy arrays; ``dim`` is the number of parameter tensors; ``score = dim + entropy``."""

    entropy: float
    dim: int
    score: float
    deciles: np.ndarray
    eigenvalues: np.ndarray
    fisher: np.ndarray
    valid: bool
    reason: str = ""
    seconds: float = 0.0
    n_sampled: int = 0
    mode: str = "reference"
    sampled: list[str] = field(default_factory=list)


def count_tensors(model: nn.Module) -> int:
    """The number of parameter tensors of ``model`` (``VKDNWResult.dim``)."""
    return len(list(model.named_parameters()))


def _invalid(reason: str, dim: int, mode: str, started: float, names: list[str]) -> VKDNWResult:
    empty = np.zeros(0)
    return VKDNWResult(
        entropy=math.nan, dim=dim, score=math.nan, deciles=empty, eigenvalues=empty,
        fisher=np.zeros((0, 0)), valid=False, reason=reason, seconds=time.perf_counter() - started,
        n_sampled=len(names), mode=mode, sampled=names,
    )  # fmt: skip


AUTHORS_FALLBACK = (
    "reference mode: the authors' Cholesky factor is NaN here (their float16 α makes p sum to about 1.0002, so "
    "q = 1 − cumsum p turns negative when the last classes are near α/C, as with ~1000 classes); their "
    "code then catches torch.svd's LinAlgError and scores zero eigenvalues, entropy 0 — reproduced; "
    "modes='exact' has no such artefact"
)


def _authors_fallback(fisher: torch.Tensor, dim: int, n_quantiles: int, started: float, names: list[str]) -> VKDNWResult:
    """The authors' result for a NaN reference Fisher: eigenvalues ``zeros(2)``, so zero deciles and
    entropy 0 (``valid=True``, since that is what their ranking uses; ``reason`` says why)."""
    return VKDNWResult(
        entropy=0.0, dim=dim, score=float(dim), deciles=np.zeros(n_quantiles), eigenvalues=np.zeros(2),
        fisher=fisher.double().cpu().numpy(), valid=True, reason=AUTHORS_FALLBACK,
        seconds=time.perf_counter() - started, n_sampled=len(names), mode="reference", sampled=names,
    )  # fmt: skip
