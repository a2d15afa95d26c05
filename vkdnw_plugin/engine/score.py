"""VKDNW of a model on a batch of inputs: sampled tensors → per-sample Jacobian → Fisher matrix →
spectrum entropy, as a :class:`~vkdnw_plugin.engine.result.VKDNWResult` per mode."""

from __future__ import annotations

import contextlib
import math
import time

import torch
from torch import nn

from ..options import OptionError
from ..vkdnw_options import VKDNWOptions
from ._precision import full_float32
from .fisher import fisher_matrix
from .jacobian import per_sample_jacobian
from .result import VKDNWResult, _authors_fallback, _invalid, count_tensors
from .sampling import select_tensors
from .spectrum import spectrum_entropy


def vkdnw_score(model: nn.Module, inputs: torch.Tensor, options: VKDNWOptions | None = None, **changes) -> VKDNWResult:
    """VKDNW of ``model`` on ``inputs`` (B, …), model and inputs on one device, model in eval mode,
    for the one Fisher mode of ``options`` (default :class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions`,
    the reference mode) with ``changes`` (its field names: ``modes="exact"``, ``n_tensors=64``, ...).
    Only the modes and the engine options (tensors, policy, quantiles, direction, compile) are read.

    Invalid networks (non-finite logits, Jacobian or exact Fisher, fewer than 2 sampled tensors)
    give ``valid=False`` with a ``reason`` instead of raising; bad options raise
    :class:`~vkdnw_plugin.options.OptionError`. A reference-mode Fisher made NaN only by the authors'
    Cholesky factor gets their fallback (entropy 0, ``valid=True``, ``reason`` = :data:`AUTHORS_FALLBACK`).
    ``direction`` picks how the Jacobian is differentiated and ``compile=True`` runs it through
    compiled repeating blocks (see :func:`per_sample_jacobian`; a failed compile warns once and
    scores eagerly); all give the same J up to float rounding."""
    options = _options(options, changes)
    if len(options.modes) != 1:
        raise OptionError("modes", options.modes, "vkdnw_score computes one mode; use vkdnw_scores for several")
    return vkdnw_scores(model, inputs, options)[options.modes[0]]


def vkdnw_scores(model: nn.Module, inputs: torch.Tensor, options: VKDNWOptions | None = None, **changes) -> dict[str, VKDNWResult]:
    """:func:`vkdnw_score` for every mode of ``options`` from one shared Jacobian: ``{mode: VKDNWResult}``."""
    options = _options(options, changes)
    engine = options.engine_options()
    modes = options.modes
    names = select_tensors(model, engine["n_tensors"], engine["tensor_policy"])
    started = time.perf_counter()
    dim = count_tensors(model)
    if len(names) < 2:
        reason = f"only {len(names)} parameter tensor(s) to sample; VKDNW needs at least 2"
        return {mode: _invalid(reason, dim, mode, started, names) for mode in modes}
    jac, logits = per_sample_jacobian(model, inputs, names, direction=engine["direction"], compile=engine["compile"])
    if not torch.isfinite(logits).all():
        return {mode: _invalid("non-finite logits", dim, mode, started, names) for mode in modes}
    shared_seconds = time.perf_counter() - started
    with full_float32() if inputs.is_cuda else contextlib.nullcontext():
        return _results(jac, logits, modes, dim, engine["n_quantiles"], names, shared_seconds)


def _options(options: VKDNWOptions | None, changes: dict) -> VKDNWOptions:
    options = options or VKDNWOptions()
    return options.replace(**changes) if changes else options


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
