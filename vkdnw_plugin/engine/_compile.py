"""``torch.compile`` of the repeating blocks of a network, with a process-wide eager fallback after
the first failed compile."""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter

from torch import nn

COMPILE_BACKEND = "inductor"  # torch.compile backend of compiled_blocks
BLOCK_RECOMPILE_LIMIT = 64  # one compiled entry per block shape (NB201: ~20 shapes across the space)
_COMPILE_FAILED: list[Exception] = []  # a failed compile makes the rest of the process eager


def repeating_blocks(model: nn.Module) -> list[nn.Module]:
    """The innermost composite submodules (children but no grandchildren, e.g. ReLU–Conv–BN) whose
    class occurs more than once: the granularity that repeats within and across architectures."""
    composite = [
        m for m in model.modules()
        if m is not model and any(True for _ in m.children()) and not any(True for c in m.children() for _ in c.children())
    ]  # fmt: skip
    counts = Counter(type(m) for m in composite)
    return [m for m in composite if counts[type(m)] > 1]


@contextlib.contextmanager
def compiled_blocks(model: nn.Module):
    """Compile every :func:`repeating_blocks` module (``nn.Module.compile``, static shapes) for the
    duration. torch keeps one compiled entry per block shape in the process, shared by all networks
    (the delta hooks are one eager function, see :func:`~vkdnw_plugin.engine.hooks._inject_deltas`),
    and inductor's on-disk FX graph cache shares the generated code across processes."""
    import torch._dynamo
    import torch._functorch.config

    blocks = repeating_blocks(model)
    for block in blocks:
        block.compile(backend=COMPILE_BACKEND, dynamic=False)
    try:
        with torch._dynamo.config.patch(recompile_limit=BLOCK_RECOMPILE_LIMIT), \
                torch._functorch.config.patch(donated_buffer=False):  # the K backward passes retain the graph
            yield blocks
    finally:
        for block in blocks:
            block._compiled_call_impl = None


def run_compiled(model: nn.Module, run):
    """``run()`` inside :func:`compiled_blocks` of ``model``; once a compile has failed in this process
    (no C++ compiler, an op inductor cannot lower, ...) it warns once and ``run()`` stays eager."""
    if not _COMPILE_FAILED:
        try:
            with compiled_blocks(model):
                return run()
        except Exception as error:  # noqa: BLE001 - no C++ compiler, an op inductor cannot lower, ...
            _COMPILE_FAILED.append(error)
            while (inner := getattr(error, "inner_exception", None) or error.__cause__) is not None:
                error = inner  # torch wraps the backend's own error
            first_line = (str(error).strip().splitlines() or [""])[0][:200]
            warnings.warn(f"compile=True failed ({type(error).__name__}: {first_line}); this process now "
                          "scores eagerly", RuntimeWarning, stacklevel=5)  # fmt: skip
    return run()
