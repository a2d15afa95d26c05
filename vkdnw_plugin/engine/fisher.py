"""The Fisher matrix F (P, P) from per-sample Jacobians J (B, C, P) and logits (B, C): the exact one
and the authors' (their Cholesky factor of diag(p) − p pᵀ)."""

from __future__ import annotations

import torch

from ..vkdnw_options import MODES

ALPHA_FP16 = float(torch.tensor(0.05, dtype=torch.float16))


def smoothed_softmax(logits: torch.Tensor) -> torch.Tensor:
    """p = softmax·(1−α) + α/C with α = 0.05 rounded to float16, in the logits' dtype (B, C)."""
    classes = logits.shape[1]
    return torch.softmax(logits, dim=1) * (1 - ALPHA_FP16) + ALPHA_FP16 / classes


def reference_cholesky(logits: torch.Tensor) -> torch.Tensor:
    """The authors' L (B, C, C) with L Lᵀ = diag(p) − p pᵀ, built with their float ops (Tanabe & Sagae
    1992: L_jj = d_j, L_ij = −p_i d_j / q_j for i > j, q = 1 − cumsum p; the last column is 0).
    As in their code, 1 − α and α / C are evaluated in float16, so p sums to 1 only approximately."""
    alpha = torch.tensor(0.05, dtype=torch.float16, device=logits.device)
    classes = logits.shape[1]
    prob = torch.softmax(logits, dim=1) * (1 - alpha) + alpha / classes
    q = 1 - torch.cumsum(prob, dim=1)
    q[:, -1] = 0
    q_shift = torch.roll(q, shifts=1, dims=1)
    q_shift[:, 0] = 1
    d = torch.sqrt(prob * q / q_shift)
    lower = torch.nan_to_num(-prob.unsqueeze(2) / q.unsqueeze(1), neginf=0.0)
    eye = torch.eye(classes, dtype=logits.dtype, device=logits.device)
    strict_lower = torch.tril(torch.ones(classes, classes, dtype=logits.dtype, device=logits.device), diagonal=-1)
    lower = lower * strict_lower + eye
    return lower * d.unsqueeze(1)


def fisher_matrix(jac: torch.Tensor, logits: torch.Tensor, mode: str = "exact") -> torch.Tensor:
    """F (P, P) from J (B, C, P) and logits (B, C): the true Fisher accumulated in float64, or the
    authors' matrix in the model's dtype (float32 for a float32 model, as their code)."""
    if mode == "reference":
        factor = reference_cholesky(logits)
        scaled = torch.matmul(factor, jac)
        return torch.mean(torch.matmul(scaled.transpose(1, 2), scaled), dim=0)
    if mode != "exact":
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    jac = jac.double()
    prob = smoothed_softmax(logits.double())
    weighted = jac * prob.sqrt().unsqueeze(2)
    mean_row = torch.einsum("bc,bcp->bp", prob, jac)
    second = torch.einsum("bcp,bcq->pq", weighted, weighted)
    return (second - mean_row.T @ mean_row) / jac.shape[0]
