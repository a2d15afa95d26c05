"""AZ-NAS feature statistics shared by ``az_expressivity``, ``az_progressivity``, ``az_trainability``.

Lee & Ham, "AZ-NAS: Assembling Zero-Cost Proxies for Network Architecture Search", CVPR 2024.
Following the authors' NB201 code (also used by the VKDNW authors): on a copy re-initialised with
Kaiming-normal fan-in weights (ReLU gain, zero biases, BatchNorm γ=1 β=0), in train mode, one forward
pass of the given batch yields the layer features F_0 … F_L (see :mod:`.features`).

* expressivity of a feature ``(B, C, H, W)``: the entropy ``-Σ p_i ln(p_i + 1e-8)`` of the normalised
  eigenvalues ``p = λ / Σλ`` of the channel covariance over all ``B·H·W`` positions (float64);
  ``az_expressivity = Σ_l e_l``, ``az_progressivity = min_l (e_l - e_{l-1})``;
* trainability: for each consecutive pair, ``g_in = (∂F_l/∂F_{l-1})ᵀ g_out`` for Rademacher
  ``g_out`` (seeded); if the spatial sizes differ ``g_in`` is pixel-unshuffled to ``g_out``'s size;
  ``M = g_inᵀ g_out / (B·H·W)`` (channels × channels) and with σ its largest singular value the pair
  scores ``2 - σ - 1/(σ + 1e-6)`` (0 for an isometry); an identity block (``g_in == g_out``) scores
  ``-inf``; ``az_trainability`` is the mean over pairs.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._context import register_artefact
from ._utils import gaussian_init_, generator, working_copy
from .features import default_feature_modules, extract_features, map_modules


def feature_entropy(feature: torch.Tensor) -> float:
    """Entropy of the normalised channel-covariance spectrum of a ``(B, C, H, W)`` feature."""
    f = feature.detach().double()
    b, c = f.shape[:2]
    rows = f.permute(0, 2, 3, 1).reshape(-1, c)
    rows = rows - rows.mean(0, keepdim=True)
    cov = rows.T @ rows / rows.shape[0]
    eig = torch.linalg.eigvalsh(cov)
    p = eig / eig.sum()
    return float((-p * torch.log(p + 1e-8)).sum())


def pair_trainability(g_in: torch.Tensor, g_out: torch.Tensor) -> float:
    """Score of one block from the back-propagated ``g_in`` and the Rademacher ``g_out``."""
    if g_in.shape == g_out.shape and torch.equal(g_in, g_out):
        return float("-inf")
    if g_in.shape[2:] != g_out.shape[2:]:
        stride = g_in.shape[2] // g_out.shape[2]
        g_in = F.pixel_unshuffle(g_in, stride)
    b, co, ho, wo = g_out.shape
    gi = g_in.double().permute(0, 2, 3, 1).reshape(-1, g_in.shape[1])
    go = g_out.double().permute(0, 2, 3, 1).reshape(-1, co)
    mat = gi.T @ go / (b * ho * wo)
    sigma = float(torch.linalg.matrix_norm(mat, ord=2))
    return -sigma - 1.0 / (sigma + 1e-6) + 2.0


def aznas_statistics(
    model: nn.Module, inputs: torch.Tensor, *, seed: int = 0, feature_modules=None, reinit: bool = True
) -> dict:
    """``{"expressivity", "progressivity", "trainability", "layer_entropies"}`` of ``model``.

    ``reinit=False`` keeps the model's own weights instead of the reference's Kaiming-normal
    fan-in re-initialisation (the copy is still put in train mode)."""
    clone = working_copy(model, train=True)
    if reinit:
        gaussian_init_(clone, generator(seed + 3), fan_in_scaled=True)
    if feature_modules is None:
        modules = default_feature_modules(clone)
    else:
        modules = map_modules(model, clone, feature_modules)
    with torch.enable_grad():
        features, _ = extract_features(clone, inputs.detach(), modules)
        if len(features) < 2:
            raise ValueError(f"AZ-NAS needs at least 2 four-dimensional layer features, got {len(features)}")
        entropies = np.array([feature_entropy(f) for f in features])
        gen = generator(seed + 2)
        scores = []
        for i in reversed(range(1, len(features))):
            f_out, f_in = features[i], features[i - 1]
            g_out = torch.randint(0, 2, f_out.shape, generator=gen).to(f_out) * 2.0 - 1.0
            (g_in,) = torch.autograd.grad(
                f_out, f_in, grad_outputs=g_out, retain_graph=True, allow_unused=True
            )
            if g_in is None:
                continue  # F_i does not depend on F_{i-1} (parallel branches): no block between them
            scores.append(pair_trainability(g_in, g_out))
    return {
        "expressivity": float(np.sum(entropies)),
        "progressivity": float(np.min(entropies[1:] - entropies[:-1])),
        "trainability": float(np.mean(scores)) if scores else float("nan"),
        "layer_entropies": entropies,
    }


def _build(ctx) -> dict:
    return aznas_statistics(
        ctx.model,
        ctx.inputs,
        seed=ctx.seed,
        feature_modules=ctx.options.get("feature_modules"),
        reinit=ctx.options.get("aznas_reinit", True),
    )


register_artefact("aznas", _build)
