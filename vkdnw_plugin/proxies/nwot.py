"""NASWOT: ``ln |det K|`` of the Hamming-similarity kernel of ReLU activation codes (Mellor et al.,
"Neural Architecture Search without Training", ICML 2021; NASLib ``nwot``).

For every rectifier module (``nn.ReLU``/``ReLU6``/``LeakyReLU``/``RReLU``/``PReLU``; functional
``F.relu`` calls are invisible) the binary code ``c_n = [pre-activation of sample n > 0]`` is read
with a forward hook and ``K_nm += c_n·c_m + (1-c_n)·(1-c_m)`` = number of units on which samples n
and m agree. Networks that separate the inputs into distinct linear regions score high. Train-mode
copy (batch statistics), float64 kernel, one forward pass shared with the other proxies.
"""

from __future__ import annotations

import torch

from ._context import ensure_context
from ._registry import register_proxy


@register_proxy("nwot", higher_is_better=True, requires=("relu_kernel",))
def nwot(model, inputs, targets=None, *, context=None) -> float:
    """Log absolute determinant of the activation-code kernel."""
    ctx = ensure_context(model, inputs, targets, context)
    kernel = ctx.get("relu_kernel")
    return float(torch.linalg.slogdet(kernel).logabsdet)
