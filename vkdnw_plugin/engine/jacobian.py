"""Per-sample Jacobians J (B, C, P) = ∂logits_n/∂θ_p of the logits (B, C) with respect to one element
of each sampled tensor, in reverse mode (K batched backward products) or forward mode (batched
tangent passes), and the probe (:class:`JacobianPlan`) that picks the cheaper."""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import jvp, vmap

from ..options import OptionError, check_choice
from ..vkdnw_options import DIRECTIONS
from ._compile import run_compiled
from ._precision import full_float32
from .hooks import _cheap_eval_batchnorm, _DeltaHooks, _frozen
from .outputs import logits_of

TANGENT_BUDGET_BYTES = 256 * 2**20  # forward mode: batched tangents of one chunk, per live activation
TANGENT_CHUNK = 8  # forward mode: at most this many sampled weights per batched tangent pass


def _vjp_rows(out: torch.Tensor, deltas: list[torch.Tensor]) -> torch.Tensor:
    """(B, K, P): row k of each sample's ∂out_n/∂δ for every output coordinate k of ``out`` (B, K).

    One backward per coordinate over the shared graph."""
    batch, width = out.shape
    rows = torch.zeros(batch, width, len(deltas), dtype=out.dtype, device=out.device)
    cotangent = torch.zeros_like(out)
    for k in range(width):
        cotangent.zero_()
        cotangent[:, k] = 1
        grads = torch.autograd.grad(out, deltas, grad_outputs=cotangent, retain_graph=True, allow_unused=True)
        for p, grad in enumerate(grads):
            if grad is not None:
                rows[:, k, p] = grad
    return rows


@dataclass
class JacobianPlan:
    """What one cheap probe forward tells about a (model, inputs, sampled tensors) triple: the logits
    (B, C), K = number of backward passes reverse mode needs, the forward-mode chunk size (sampled
    weights per batched tangent pass) and sample-group size (inputs per pass), the number of
    forward-mode passes (in whole-batch units), and the direction ``auto`` picks."""

    logits: torch.Tensor
    reverse_passes: int
    chunk: int
    group: int
    forward_passes: int
    order: list[int]

    @property
    def cheaper(self) -> str:
        """Cost model (documented in README "Speed"): reverse mode costs one forward plus K
        activation-only backward passes, forward mode one forward per sampled weight (each starting at
        the weight's own layer) plus one primal forward per chunk. A backward pass and a tangent pass
        both cost about one forward, so the smaller count wins; ties go to reverse."""
        return "forward" if self.forward_passes < 1 + self.reverse_passes else "reverse"


def _head(model: nn.Module, run):
    """``(output of run(), last nn.Linear producing it or None, its input)``."""
    heads = []
    recorder = [
        m.register_forward_hook(lambda m, args, out: heads.append((m, args[0], out)))
        for m in model.modules()
        if isinstance(m, nn.Linear)
    ]
    try:
        logits = logits_of(run())
    finally:
        for handle in recorder:
            handle.remove()
    head = heads[-1] if heads and heads[-1][2] is logits else None
    return logits, (head[0], head[1]) if head is not None and head[0].in_features < logits.shape[1] else (None, None)


def plan_jacobian(model: nn.Module, inputs: torch.Tensor, names: list[str], element: int = 0) -> JacobianPlan:
    """One forward without autograd that sizes both directions (see :class:`JacobianPlan`)."""
    hooks = _DeltaHooks(model, names, element)
    try:
        with torch.no_grad(), _cheap_eval_batchnorm(model):
            logits, (head, _) = _head(model, lambda: model(inputs))
    finally:
        hooks.remove()
    reverse = head.in_features if head is not None else logits.shape[1]
    batch = logits.shape[0]
    per_sample = max(hooks.largest, logits.numel()) * logits.element_size() / batch
    most = min(TANGENT_CHUNK, len(names))
    if any(m.training for m in model.modules()):  # inputs interact (e.g. batch statistics): whole batches
        group, chunk = batch, int(max(1, min(most, TANGENT_BUDGET_BYTES // (4 * per_sample * batch))))
    else:  # independent inputs: a full chunk of tangents on input groups needs fewer primal forwards
        group, chunk = int(max(1, min(batch, TANGENT_BUDGET_BYTES // (4 * most * per_sample)))), most
    order = hooks.order + [p for p in range(len(names)) if p not in hooks.order]
    return JacobianPlan(logits, reverse, chunk, group, len(names) + math.ceil(len(names) / chunk), order)


def per_sample_jacobian(
    model: nn.Module,
    inputs: torch.Tensor,
    names: list[str],
    element: int = 0,
    generic: bool = False,
    direction: str = "reverse",
    compile: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """J (B, C, P) = ∂logits_n/∂θ_p for element ``element`` of each named tensor, and the logits (B, C).

    ``direction="reverse"``: one forward and K = min(C, input width of a final ``nn.Linear`` head)
    batched backward products. ``"forward"``: P Jacobian–vector products (``torch.func.jvp`` under
    ``vmap``, in chunks of sampled weights taken in the order their layers run, so a chunk's tangents
    start at its first layer; with the model in eval mode on groups of inputs sized to
    :data:`TANGENT_BUDGET_BYTES`). ``"auto"``: the cheaper by :meth:`JacobianPlan.cheaper`.
    ``compile=True`` runs reverse mode through compiled repeating blocks
    (:func:`~vkdnw_plugin.engine._compile.compiled_blocks`; a failed compile warns once and scores
    eagerly). Computation stays in the model's dtype, on CUDA without TF32
    (:func:`~vkdnw_plugin.engine._precision.full_float32`). ``generic=True`` computes every tangent
    with ``torch.func.jvp`` instead of the closed forms for Conv2d/Linear/BatchNorm (for testing)."""
    check_choice("direction", direction, DIRECTIONS)
    if not isinstance(compile, bool):
        raise OptionError("compile", compile, "expected True or False")
    with full_float32() if inputs.is_cuda else contextlib.nullcontext():
        if direction != "reverse":
            plan = plan_jacobian(model, inputs, names, element)
            if direction == "forward" or plan.cheaper == "forward":
                return _forward_jacobian(model, inputs, names, element, generic, plan)
        if compile:
            return run_compiled(model, lambda: _reverse_jacobian(model, inputs, names, element, generic))
        return _reverse_jacobian(model, inputs, names, element, generic)


def _reverse_jacobian(model, inputs, names, element, generic):
    batch = inputs.shape[0]
    hooks = _DeltaHooks(model, names, element, generic)
    hooks.deltas = {
        p: torch.zeros(batch, device=inputs.device, dtype=inputs.dtype, requires_grad=True) for p in range(len(names))
    }
    deltas = list(hooks.deltas.values())
    try:
        with _frozen(model), _cheap_eval_batchnorm(model):
            logits, (head, features) = _head(model, lambda: model(inputs))
            if head is not None:
                upstream = _vjp_rows(features, deltas)
                jac = torch.einsum("cd,bdp->bcp", head.weight.detach(), upstream)
                head_params = {id(param) for param in head.parameters(recurse=False)}
                params = dict(model.named_parameters())
                for p, name in enumerate(names):
                    if id(params[name]) in head_params and p in hooks.tangents:
                        channels, part = hooks.tangents[p]
                        jac[:, channels, p] = part
            else:
                jac = _vjp_rows(logits, deltas)
    finally:
        hooks.remove()
    return jac.detach(), logits.detach()


def _forward_jacobian(model, inputs, names, element, generic, plan: JacobianPlan):
    batch = inputs.shape[0]
    logits = plan.logits
    jac = torch.zeros(batch, logits.shape[1], len(names), dtype=logits.dtype, device=logits.device)
    hooks = _DeltaHooks(model, names, element, generic)

    def logits_given(deltas, chunk, group):
        hooks.deltas = dict(zip(chunk, deltas))
        return logits_of(model(group))

    try:
        with _frozen(model), _cheap_eval_batchnorm(model):
            for start in range(0, len(names), plan.chunk):
                chunk = plan.order[start : start + plan.chunk]
                for first in range(0, batch, plan.group):
                    group = inputs[first : first + plan.group]
                    zeros = torch.zeros(len(chunk), len(group), device=inputs.device, dtype=inputs.dtype)
                    units = torch.eye(len(chunk), device=inputs.device, dtype=inputs.dtype)
                    units = units.unsqueeze(2).expand(-1, -1, len(group))
                    tangents = vmap(lambda unit: jvp(lambda d: logits_given(d, chunk, group), (zeros,), (unit,))[1])
                    jac[first : first + len(group), :, chunk] = tangents(units).permute(1, 2, 0).detach()
    finally:
        hooks.deltas = {}
        hooks.remove()
    return jac, logits
