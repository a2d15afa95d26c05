"""CUDA computation in full float32 (no TF32) for the duration of a block."""

from __future__ import annotations

import contextlib

import torch


@contextlib.contextmanager
def full_float32():
    """CUDA convolutions and matrix products in full float32, not TF32 (10-bit mantissa), restored
    afterwards: TF32 rounding is enough to move the entropies of the authors' reference runs."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved
