"""ZiCo (Li et al., "ZiCo: Zero-shot NAS via Inverse Coefficient of Variation on Gradients",
ICLR 2023), in the variant of the AZ-NAS / VKDNW NB201 code.

The batch is split into ``n_splits`` (default 2) equal parts, each giving the cross-entropy gradient
of every conv/linear weight (train-mode copy, batch statistics per part). Per layer, over the
parts: ``ζ_l = ln Σ_θ mean|g_θ| / std(g_θ)`` on the weights whose gradient varies (std > 0, np.std
with ddof 0); layers with ``Σ = 0`` are skipped. ``zico = Σ_l ζ_l``. The reference uses two
DataLoader batches; a single given batch is split in two instead. Needs labels (seeded random
ones when none are given).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from ..engine import logits_of
from ._context import ensure_context
from ._registry import register_proxy
from ._utils import weight_layers


def zico_from_gradients(per_layer_grads: list[np.ndarray]) -> float:
    """``Σ_l ln Σ mean|g| / std(g)`` from one ``(n_splits, numel)`` gradient array per layer."""
    total = 0.0
    for grads in per_layer_grads:
        grads = np.asarray(grads, dtype=np.float64)
        std = grads.std(axis=0)
        nonzero = std != 0
        ratio_sum = float(np.sum(np.abs(grads).mean(axis=0)[nonzero] / std[nonzero]))
        if ratio_sum != 0:
            total += np.log(ratio_sum)
    return float(total)


@register_proxy("zico", higher_is_better=True, needs_labels=True, requires=())
def zico(model, inputs, targets=None, *, context=None, n_splits: int = 2) -> float:
    """Sum over layers of the log summed inverse coefficient of variation of the gradients."""
    ctx = ensure_context(model, inputs, targets, context)
    labels = ctx.labels()
    batch = len(ctx.inputs)
    if batch < 2 * n_splits:
        raise ValueError(
            f"zico needs at least {2 * n_splits} samples to split into {n_splits} parts, got {batch}"
        )
    net = ctx.train_copy
    layers = weight_layers(net)
    weights = [layer.weight for layer in layers]
    collected: list[list[np.ndarray] | None] = [[] for _ in layers]
    with torch.enable_grad():
        for part in torch.tensor_split(torch.arange(batch), n_splits):
            loss = F.cross_entropy(logits_of(net(ctx.inputs[part])), labels[part])
            grads = torch.autograd.grad(loss, weights, allow_unused=True)
            for i, g in enumerate(grads):
                if g is None:
                    collected[i] = None
                elif collected[i] is not None:
                    collected[i].append(g.detach().double().reshape(-1).cpu().numpy())
    return zico_from_gradients([np.stack(c) for c in collected if c])
