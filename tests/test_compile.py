"""``compile=True``: reverse mode through torch.compile'd repeating blocks gives the eager Jacobian,
compiles each block shape once per process (reused by the next network), and falls back to eager with
one warning when compiling fails."""

import warnings

import numpy as np
import pytest
import torch
from test_vkdnw import small_model

from vkdnw_plugin.engine import _compile as vkdnw
from vkdnw_plugin.engine import vkdnw_score
from vkdnw_plugin.engine._compile import repeating_blocks

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|avg_pool_3x3~0|none~1|nor_conv_3x3~2|"
OTHER = "|nor_conv_1x1~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|avg_pool_3x3~2|"


def small(arch, seed=0):
    return small_model(arch, 10, seed)  # float64, 4 channels, one cell per stage


@pytest.fixture
def fresh_dynamo(monkeypatch):
    """An empty compile cache and no earlier compile failure, before and after the test."""
    import torch._dynamo

    torch._dynamo.reset()
    monkeypatch.setattr(vkdnw, "_COMPILE_FAILED", [])
    yield
    torch._dynamo.reset()


def counting_backend(graphs):
    def backend(gm, example_inputs):
        graphs.append(gm)
        return gm.forward

    return backend


def test_compiled_blocks_give_the_eager_entropy_and_are_compiled_once(monkeypatch, fresh_dynamo):
    graphs = []
    monkeypatch.setattr(vkdnw, "COMPILE_BACKEND", counting_backend(graphs))
    inputs = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    for arch in (ARCH, OTHER):
        model = small(arch)
        blocks = repeating_blocks(model)
        assert blocks and all(any(True for _ in b.children()) for b in blocks)
        eager = vkdnw_score(model, inputs, modes="exact", direction="reverse")
        compiled = vkdnw_score(model, inputs, modes="exact", direction="reverse", compile=True)
        np.testing.assert_allclose(compiled.fisher, eager.fisher, rtol=0, atol=1e-12 * np.abs(eager.fisher).max())
        assert compiled.entropy == pytest.approx(eager.entropy, abs=1e-10)
        assert all(b._compiled_call_impl is None for b in blocks)  # the model is left as it was
    first = len(graphs)
    assert first > 0
    # A new network of the same block shapes (another seed) compiles nothing new.
    vkdnw_score(small(ARCH, seed=1), inputs, modes="exact", direction="reverse", compile=True)
    assert len(graphs) == first


def test_inductor_compile_matches_eager(fresh_dynamo):
    """The real backend (inductor, C++ code) on a float32 network: entropies within the reference
    tolerance; without a working C++ toolchain this checks the eager fallback instead."""
    model = small(ARCH).float()
    inputs = torch.randn(8, 3, 8, 8)
    eager = vkdnw_score(model, inputs, direction="reverse")
    compiled = vkdnw_score(model, inputs, direction="reverse", compile=True)
    assert compiled.valid and abs(compiled.entropy - eager.entropy) <= 1e-3


def test_compile_failure_falls_back_to_eager_with_one_warning(monkeypatch, fresh_dynamo):
    def broken(gm, example_inputs):
        raise RuntimeError("no C++ compiler found")

    monkeypatch.setattr(vkdnw, "COMPILE_BACKEND", broken)
    inputs = torch.randn(4, 3, 8, 8, dtype=torch.float64)
    model = small(ARCH)
    eager = vkdnw_score(model, inputs, modes="exact", direction="reverse")
    with pytest.warns(RuntimeWarning, match="compile=True failed .*no C\\+\\+ compiler found.*scores eagerly"):
        fallback = vkdnw_score(model, inputs, modes="exact", direction="reverse", compile=True)
    assert fallback.entropy == eager.entropy
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the rest of the process is eager, without another warning
        again = vkdnw_score(small(OTHER), inputs, modes="exact", direction="reverse", compile=True)
    assert again.valid and all(b._compiled_call_impl is None for b in repeating_blocks(model))


@pytest.mark.parametrize("value", ["yes", 1, None])
def test_compile_must_be_a_bool(value):
    with pytest.raises(ValueError, match=f"compile={value!r}: expected True or False"):
        vkdnw_score(small(ARCH), torch.randn(2, 3, 8, 8, dtype=torch.float64), compile=value)
