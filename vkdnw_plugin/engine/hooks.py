"""Per-sample "delta" hooks: forward hooks adding δ_p (B,) ⊙ ∂out/∂θ_p to the output of each module
holding a sampled weight θ_p, so that ∂logits_n/∂δ_{p,n} = J_n[:, p]; plus the eval-BatchNorm swap
and the frozen-parameter context used around them."""

from __future__ import annotations

import contextlib
import weakref
from collections import defaultdict

import torch
from torch import nn
from torch.func import functional_call, jvp

from .outputs import _describe
from .tangents import unit_tangent


@contextlib.contextmanager
def _frozen(model: nn.Module):
    """Parameters stop requiring grad, so the forward saves nothing for weight gradients."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def _affine_batchnorm_forward(module: nn.modules.batchnorm._BatchNorm):
    """Eval-mode BatchNorm as one ``addcmul`` with per-channel scale/shift read from the module on
    each call (so ``functional_call`` still substitutes its weights). Same values as
    ``F.batch_norm`` up to float rounding, but its backward is a single multiply instead of
    ``native_batch_norm_backward``."""

    def forward(x: torch.Tensor) -> torch.Tensor:
        scale = torch.rsqrt(module.running_var + module.eps)
        shift = -module.running_mean * scale
        if module.weight is not None:
            scale = scale * module.weight
            shift = shift * module.weight
        if module.bias is not None:
            shift = shift + module.bias
        shape = (1, -1) + (1,) * (x.dim() - 2)
        return torch.addcmul(shift.view(shape), x, scale.view(shape))

    return forward


@contextlib.contextmanager
def _cheap_eval_batchnorm(model: nn.Module):
    """Swap every eval-mode BatchNorm with running statistics to :func:`_affine_batchnorm_forward`
    for the duration (``benchmarks/speed.py --ablate-bn`` compares it with torch's own)."""
    patched = [
        m for m in model.modules()
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not m.training and m.running_var is not None
        and "forward" not in m.__dict__
    ]  # fmt: skip
    for module in patched:
        module.forward = _affine_batchnorm_forward(module)
    try:
        yield
    finally:
        for module in patched:
            del module.forward


class _DeltaHooks:
    """Forward hooks that add δ_p ⊙ (∂out/∂θ_p) to each owning module's output, for every p in
    ``deltas`` (a dict p → (B,) tensor; other sampled weights are left out of that pass).

    ``tangents[p]`` keeps ``(channels, tangent restricted to them)`` of the last call so the head's
    own weights can be read without a backward pass; ``order`` lists the p in the order their modules
    ran; ``largest`` is the largest output (elements) of a hooked module. ``generic=True`` forces
    ``torch.func.jvp`` for every tangent."""

    def __init__(self, model, names, element: int, generic: bool = False):
        params = dict(model.named_parameters())
        owners = {}
        for module in model.modules():
            for local, param in module.named_parameters(recurse=False):
                owners.setdefault(id(param), (module, local))
        self.deltas: dict[int, torch.Tensor] = {}
        self.tangents: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}
        self.order: list[int] = []
        self.largest = 0
        self.element = element
        self.generic = generic
        self._by_module: dict[nn.Module, list[tuple[int, str]]] = defaultdict(list)
        for p, name in enumerate(names):
            module, local = owners[id(params[name])]
            self._by_module[module].append((p, local))
        self._busy = False
        self.handles = []
        for module in self._by_module:
            _INJECTORS[module] = self
            self.handles.append(module.register_forward_hook(_inject_deltas))

    def _jvp_tangent(self, module, local, args):
        """The generic tangent: ``torch.func.jvp`` of the module along the unit direction of θ."""
        weight = getattr(module, local).detach()
        direction = torch.zeros_like(weight)
        direction.view(-1)[self.element] = 1.0
        self._busy = True
        try:
            _, tangent = jvp(lambda w: functional_call(module, {local: w}, args), (weight,), (direction,))
        finally:
            self._busy = False
        tangent = tangent.detach()
        channels = tangent.transpose(0, 1).reshape(tangent.shape[1], -1).ne(0).any(1).nonzero().flatten()
        return channels, tangent.index_select(1, channels)

    def _hook(self, module, args, output):
        if self._busy:
            return None
        if not isinstance(output, torch.Tensor) or output.dim() < 2:
            raise ValueError(
                f"module {type(module).__name__} holds a sampled weight but returns {_describe(output)}; "
                "VKDNW needs batch-first tensor outputs"
            )
        self.largest = max(self.largest, output.numel())
        channels, parts = [], []
        for p, local in self._by_module[module]:
            if p not in self.order:
                self.order.append(p)
            if p not in self.deltas:
                continue
            fast = None if self.generic else unit_tangent(module, local, self.element, args[0].detach(), output)
            channel, part = fast if fast is not None else self._jvp_tangent(module, local, args)
            if channel.numel() == 0:
                continue
            self.tangents[p] = (channel, part)
            channels.append(channel)
            parts.append(self.deltas[p].view(-1, *([1] * (output.dim() - 1))) * part)
        if not channels:
            return None
        return output.index_add(1, torch.cat(channels), torch.cat(parts, dim=1))

    def remove(self):
        for handle in self.handles:
            handle.remove()
        for module in self._by_module:
            if _INJECTORS.get(module) is self:
                del _INJECTORS[module]


_INJECTORS: weakref.WeakKeyDictionary[nn.Module, _DeltaHooks] = weakref.WeakKeyDictionary()


@torch.compiler.disable
def _inject_deltas(module, args, output):
    """The forward hook of every module holding a sampled weight. One function object for every
    network, run eagerly (a graph break under ``torch.compile``), so compiled blocks around it are
    reused from network to network instead of recompiled for each new set of hooks."""
    return _INJECTORS[module]._hook(module, args, output)
