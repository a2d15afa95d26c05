"""VKDNW of a model on a batch of inputs: sampled tensors → per-sample Jacobian → Fisher matrix →
spectrum entropy, as a :class:`~vkdnw_plugin.engine.result.VKDNWResult` per mode."""

from __future__ import annotations

import contextlib
import math
import time

import torch
from torch import nn

from ..options import MODES, check_vkdnw_options
from ._precision import full_float32
from .fisher import fisher_matrix
from .jacobian import per_sample_jacobian
from .result import VKDNWResult, _authors_fallback, _invalid, count_tensors
from .sampling import select_tensors
from .spectrum import spectrum_entropy


def vkdnw_score(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    mode: str = "reference",
    n_tensors: int = 128,
    tensor_policy: str = "first",
    n_quantiles: int = 9,
    direction: str = "auto",
    compile: bool = False,
) -> VKDNWResult:
    """VKDNW of ``model`` on ``inputs`` (B, …), model and inputs on one device, model in eval mode.

    Invalid networks (non-finite logits, Jacobian or exact Fisher, fewer than 2 sampled tensors)
    give ``valid=False`` with a ``reason`` instead of raising; bad arguments raise ``ValueError``.
    A reference-mode Fisher made NaN only by the authors' Cholesky factor gets their fallback
    (entropy 0, ``valid=True``, ``reason`` = :data:`AUTHORS_FALLBACK`). ``direction`` picks how the
    Jacobian is differentiated and ``compile=True`` runs it through compiled repeating blocks (see
    :func:`per_sample_jacobian`; a failed compile warns once and scores eagerly); all give the same J
    up to float rounding."""
    return vkdnw_scores(model, inputs, modes=(mode,), n_tensors=n_tensors, tensor_policy=tensor_policy,
                        n_quantiles=n_quantiles, direction=direction, compile=compile)[mode]  # fmt: skip


def vkdnw_scores(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    modes=MODES,
    n_tensors: int = 128,
    tensor_policy: str = "first",
    n_quantiles: int = 9,
    direction: str = "auto",
    compile: bool = False,
) -> dict[str, VKDNWResult]:
    """:func:`vkdnw_score` for several modes from one shared Jacobian: ``{mode: VKDNWResult}``."""
    check_vkdnw_options(dict(n_tensors=n_tensors, tensor_policy=tensor_policy, n_quantiles=n_quantiles,
                             direction=direction, compile=compile))  # fmt: skip
    for mode in modes:
        check_vkdnw_options({"mode": mode})
    names = select_tensors(model, n_tensors, tensor_policy)
    started = time.perf_counter()
    dim = count_tensors(model)
    if len(names) < 2:
        reason = f"only {len(names)} parameter tensor(s) to sample; VKDNW needs at least 2"
        return {mode: _invalid(reason, dim, mode, started, names) for mode in modes}
    jac, logits = per_sample_jacobian(model, inputs, names, direction=direction, compile=compile)
    if not torch.isfinite(logits).all():
        return {mode: _invalid("non-finite logits", dim, mode, started, names) for mode in modes}
    shared_seconds = time.perf_counter() - started
    with full_float32() if inputs.is_cuda else contextlib.nullcontext():
        return _results(jac, logits, modes, dim, n_quantiles, names, shared_seconds)


def _results(jac, logits, modes, dim, n_quantiles, names, shared_seconds) -> dict[str, VKDNWResult]:
    """Each mode's Fisher matrix, spectrum and :class:`VKDNWResult` from the shared Jacobian."""
    results = {}
    for mode in modes:
        mode_started = time.perf_counter() - shared_seconds
        fisher = fisher_matrix(jac, logits, mode)
        if not torch.isfinite(fisher).all():
            if mode == "reference" and torch.isfinite(jac).all():
                results[mode] = _authors_fallback(fisher, dim, n_quantiles, mode_started, names)
            else:
                results[mode] = _invalid("non-finite Fisher matrix", dim, mode, mode_started, names)
            continue
        entropy, deciles, eigenvalues = spectrum_entropy(fisher, n_quantiles, mode)
        if not math.isfinite(entropy):
            results[mode] = _invalid("non-finite entropy", dim, mode, mode_started, names)
            continue
        results[mode] = VKDNWResult(
            entropy=entropy, dim=dim, score=dim + entropy, deciles=deciles, eigenvalues=eigenvalues,
            fisher=fisher.double().cpu().numpy(), valid=True, seconds=time.perf_counter() - mode_started,
            n_sampled=len(names), mode=mode, sampled=names,
        )  # fmt: skip
    return results
