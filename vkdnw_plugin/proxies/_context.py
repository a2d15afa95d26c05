"""Work shared between proxies: one forward pass of a train-mode copy feeding every proxy that needs it.

:class:`ProxyContext` holds the caller's model (never modified), one batch of inputs and optional
labels, and caches *artefacts*, intermediate results that several proxies read:

=================  ============================================================  ===================
artefact           what it is                                                    read by
=================  ============================================================  ===================
``logits``         logits of the batch (train-mode copy, batch statistics)       (several)
``relu_kernel``    NASWOT kernel ``K = Σ_l c_l c_lᵀ + (1-c_l)(1-c_l)ᵀ`` over the  nwot
                   binary codes ``c_l = [pre-activation > 0]`` of every ReLU
``input_grad``     ``∂ Σ logits / ∂ inputs`` (one backward of the summed logits)  jacov, epe_nas
``weight_grads``   ``[(W, ∂L/∂W)]`` for every conv/linear weight, L = mean CE     grad_norm, snip,
                                                                                 plain
``fisher``         per conv/linear layer ``Σ_calls ½ mean_n (Σ_hw a·∂L/∂a)²``      fisher
                   per output channel, ``a`` the layer output
``grasp``          ``[(W, H g)]``: Hessian-gradient product of the CE loss        grasp
=================  ============================================================  ===================

All of these come from ONE forward pass of a deep copy of the model in train mode (BatchNorm uses
batch statistics, as NASLib's measures do): the Jacobian is one ``autograd.grad`` of the summed
logits and the weight gradients, layer-output gradients and (for GraSP) the Hessian-gradient
product share one backward of the loss. Other artefacts (e.g. AZ-NAS features) are registered by
their proxy module with :func:`register_artefact` and computed on first use.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import nn

from ..engine import logits_of
from ._utils import RELU_TYPES, random_labels, weight_layers, working_copy

SHARED_PASS_ARTEFACTS = frozenset({"logits", "relu_kernel", "input_grad", "weight_grads", "fisher", "grasp"})
_BUILDERS: dict[str, Callable[[ProxyContext], object]] = {}


def register_artefact(name: str, builder: Callable[[ProxyContext], object]) -> None:
    """Register ``builder(context) -> value`` computing artefact ``name`` once per context."""
    if name in SHARED_PASS_ARTEFACTS:
        raise ValueError(f"artefact {name!r} is produced by the shared forward pass")
    _BUILDERS[name] = builder


class ProxyContext:
    """One network and one batch, plus the artefacts computed from them so far.

    ``targets``: integer labels ``(B,)``; when a proxy needs labels and none are given, labels are
    drawn uniformly from ``0..num_classes-1`` with a generator seeded by ``seed`` (``num_classes``
    defaults to the width of the logits). ``options`` carries proxy options such as
    ``feature_modules`` (AZ-NAS)."""

    def __init__(
        self,
        model: nn.Module,
        inputs: torch.Tensor,
        targets: torch.Tensor | None = None,
        num_classes: int | None = None,
        seed: int = 0,
        **options,
    ):
        if not isinstance(inputs, torch.Tensor):
            raise TypeError(f"inputs must be a tensor, got {type(inputs).__name__}")
        if inputs.dim() < 2:
            raise ValueError(f"inputs must be a batch (B, ...), got shape {tuple(inputs.shape)}")
        if targets is not None and len(targets) != len(inputs):
            raise ValueError(f"{len(targets)} targets for a batch of {len(inputs)} inputs")
        self.model = model
        self.inputs = inputs.detach()
        self.given_targets = None if targets is None else targets.detach()
        self.num_classes = num_classes
        self.seed = int(seed)
        self.options = options
        self._cache: dict[str, object] = {}
        self._train_copy: nn.Module | None = None
        self.labels_allowed = True  # compute_proxies: only while a needs_labels proxy (or its shared pass) runs

    # ------------------------------------------------------------------ helpers for proxies
    @property
    def train_copy(self) -> nn.Module:
        """A train-mode deep copy of the model shared by the proxies that do not change weights."""
        if self._train_copy is None:
            self._train_copy = working_copy(self.model, train=True)
        return self._train_copy

    def targets_for(self, logits: torch.Tensor) -> torch.Tensor:
        """The given labels, or seeded random labels over ``num_classes`` (default: logits width)."""
        self._check_labels()
        if self.given_targets is not None:
            return self.given_targets.to(logits.device)
        num_classes = self.num_classes or logits.shape[-1]
        return random_labels(len(self.inputs), num_classes, self.seed, device=logits.device)

    def labels(self) -> torch.Tensor:
        """The given labels, or seeded random ones (runs the shared forward pass only when the
        number of classes has to be read from the logits)."""
        self._check_labels()
        if self.given_targets is not None:
            return self.given_targets
        if self.num_classes is not None:
            return random_labels(len(self.inputs), self.num_classes, self.seed, device=self.inputs.device)
        return self.targets_for(self.get("logits"))

    def _check_labels(self) -> None:
        if not self.labels_allowed:
            raise RuntimeError("it reads labels but is registered with needs_labels=False")

    def get(self, name: str):
        """Artefact ``name``, computed on first request."""
        if name not in self._cache:
            if name in SHARED_PASS_ARTEFACTS:
                self.prepare([name])
            elif name in _BUILDERS:
                self._cache[name] = _BUILDERS[name](self)
            else:
                known = sorted(SHARED_PASS_ARTEFACTS | set(_BUILDERS))
                raise ValueError(f"unknown artefact {name!r}; expected one of {', '.join(known)}")
        return self._cache[name]

    def prepare(self, names) -> None:
        """Compute the shared-pass artefacts among ``names`` that are missing, in one pass."""
        wanted = {n for n in names if n in SHARED_PASS_ARTEFACTS and n not in self._cache}
        if wanted:
            self._cache.update(_shared_pass(self, wanted))

    # ------------------------------------------------------------------ cleanup
    def clear(self) -> None:
        self._cache.clear()
        self._train_copy = None


def _shared_pass(ctx: ProxyContext, wanted: set[str]) -> dict[str, object]:
    model = ctx.train_copy
    inputs = ctx.inputs
    batch = inputs.shape[0]
    want_kernel = "relu_kernel" in wanted
    want_jac = "input_grad" in wanted
    want_fisher = "fisher" in wanted
    want_grasp = "grasp" in wanted
    want_loss = want_fisher or want_grasp or "weight_grads" in wanted

    handles = []
    kernel = torch.zeros(batch, batch, dtype=torch.float64)
    layer_outputs: list[tuple[int, torch.Tensor]] = []
    layers = weight_layers(model)
    try:
        if want_kernel:

            def relu_pre_hook(module, args):
                codes = (args[0].detach().reshape(batch, -1) > 0).to(torch.float64).cpu()
                kernel.add_(codes @ codes.T).add_((1.0 - codes) @ (1.0 - codes).T)

            for module in model.modules():
                if isinstance(module, RELU_TYPES):
                    handles.append(module.register_forward_pre_hook(relu_pre_hook))
        if want_fisher:
            for index, layer in enumerate(layers):

                def record(module, args, output, index=index):
                    layer_outputs.append((index, output))

                handles.append(layer.register_forward_hook(record))

        with torch.enable_grad() if (want_jac or want_loss) else torch.no_grad():
            x = inputs.clone().requires_grad_(want_jac)
            logits = logits_of(model(x))
            for handle in handles:
                handle.remove()
            handles = []
            out: dict[str, object] = {"logits": logits.detach()}
            if want_kernel:
                out["relu_kernel"] = kernel
            if want_jac:
                (jac,) = torch.autograd.grad(logits.sum(), x, retain_graph=want_loss)
                out["input_grad"] = jac.detach()
            if want_loss:
                targets = ctx.targets_for(logits)
                loss = F.cross_entropy(logits, targets)
                weights = [layer.weight for layer in layers]
                acts = [a for _, a in layer_outputs]
                grads = torch.autograd.grad(
                    loss, weights + acts, allow_unused=True, create_graph=want_grasp, retain_graph=want_grasp
                )
                weight_grads = grads[: len(weights)]
                out["weight_grads"] = [
                    (w.detach(), torch.zeros_like(w) if g is None else g.detach())
                    for w, g in zip(weights, weight_grads)
                ]
                if want_fisher:
                    out["fisher"] = _fisher_per_layer(layers, layer_outputs, grads[len(weights) :])
                if want_grasp:
                    z = sum((g.detach() * g).sum() for g in weight_grads if g is not None)
                    if not isinstance(z, torch.Tensor) or not z.requires_grad:
                        hess = [None] * len(weights)
                    else:
                        hess = torch.autograd.grad(z, weights, allow_unused=True)
                    out["grasp"] = [
                        (w.detach(), torch.zeros_like(w) if h is None else h.detach())
                        for w, h in zip(weights, hess)
                    ]
        return out
    finally:
        for handle in handles:
            handle.remove()
        for param in model.parameters():
            param.grad = None


def _fisher_per_layer(layers, layer_outputs, act_grads) -> list[tuple[nn.Module, torch.Tensor]]:
    """Per layer: channel saliency ``½ mean_n (Σ_spatial a ⊙ ∂L/∂a)²`` summed over the layer's calls
    (Theis et al. 2018 / Turner et al. 2020), zeros for a layer that was not used."""
    per_layer: list[torch.Tensor | None] = [None] * len(layers)
    for (index, act), grad in zip(layer_outputs, act_grads):
        if grad is None:
            continue
        prod = act.detach() * grad.detach()
        if isinstance(layers[index], nn.Linear):
            dims = list(range(1, prod.dim() - 1))  # (B, ..., out): sum over the middle dims
        else:
            dims = list(range(2, prod.dim()))  # (B, C, *spatial)
        g_nk = prod.sum(dim=dims) if dims else prod
        value = 0.5 * g_nk.pow(2).mean(0)
        per_layer[index] = value if per_layer[index] is None else per_layer[index] + value
    result = []
    for layer, value in zip(layers, per_layer):
        channels = layer.weight.shape[0]
        if value is None:
            value = torch.zeros(channels, dtype=layer.weight.dtype)
        result.append((layer, value))
    return result


def ensure_context(
    model, inputs, targets=None, context: ProxyContext | None = None, **options
) -> ProxyContext:
    """``context`` if given (it must hold the same model), else a fresh :class:`ProxyContext`."""
    if context is not None:
        if context.model is not model:
            raise ValueError("the context given to a proxy was built for a different model")
        return context
    return ProxyContext(model, inputs, targets, **options)
