"""The spectrum of a Fisher matrix F (P, P): its eigenvalues, quantiles and their entropy."""

from __future__ import annotations

import numpy as np
import torch

from ..vkdnw_options import N_QUANTILES


def quantile_levels(n_quantiles: int) -> list[float]:
    """9 → deciles 0.1…0.9 (NB201 code); 11 → 0.0…1.0, deciles plus min and max (MobileNetV2 code)."""
    if n_quantiles not in N_QUANTILES:
        raise ValueError(f"n_quantiles must be one of {N_QUANTILES}, got {n_quantiles}")
    return [i / 10 for i in range(1, 10)] if n_quantiles == 9 else [i / 10 for i in range(11)]


def spectrum_entropy(fisher: torch.Tensor, n_quantiles: int = 9, mode: str = "exact"):
    """``(entropy, quantiles, eigenvalues)`` of F, eigenvalues descending.

    exact: float64 ``eigvalsh`` with round-off negatives set to 0, numpy linear quantiles.
    reference: ``torch.svd(F).S`` (singular values), ``torch.quantile`` at ``torch.arange`` levels,
    all in F's dtype as the authors' code."""
    levels = quantile_levels(n_quantiles)
    if mode == "reference":
        lambdas = torch.linalg.svd(fisher.cpu()).S
        start, stop = (0.1, 1.0) if n_quantiles == 9 else (0.0, 1.1)
        q = torch.quantile(lambdas, torch.arange(start, stop, 0.1, dtype=lambdas.dtype).clamp(max=1.0))
        t = q / (torch.linalg.norm(q, ord=1).item() + 1e-10)
        entropy = -(t * torch.log(t + 1e-10)).sum().item()
        return entropy, q.double().numpy(), lambdas.double().numpy()
    lambdas = np.clip(np.linalg.eigvalsh(fisher.double().cpu().numpy())[::-1], 0.0, None)
    q = np.quantile(lambdas, levels)
    t = q / (np.abs(q).sum() + 1e-10)
    return float(-(t * np.log(t + 1e-10)).sum()), q, lambdas
