"""The CUDA path: the engine on a GPU equals the float64 CPU oracle and the authors' reference runs.
Runs only where torch sees a GPU (CI has none; run it on a GPU machine)."""

import numpy as np
import pytest
import torch
from test_vkdnw import SMALL_ARCHS, oracle_fishers, oracle_jacobian, small_model

from vkdnw_plugin.engine import per_sample_jacobian, select_tensors, vkdnw_score
from vkdnw_plugin.scoring import score_architecture
from vkdnw_plugin.spaces.nb201 import nb201_network

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU; this torch sees none")


@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("num_classes, n_tensors", [(20, 6), (5, 128)])  # C > P, then C < P
def test_cuda_float64_matches_cpu_oracle(direction, num_classes, n_tensors):
    model = small_model(SMALL_ARCHS[0], num_classes, seed=1)
    inputs = torch.randn(5, 3, 8, 8, dtype=torch.float64)
    names = select_tensors(model, n_tensors, "random")
    oracle = oracle_jacobian(model, inputs, names)
    jac, logits = per_sample_jacobian(model.cuda(), inputs.cuda(), names, direction=direction)
    assert jac.device.type == "cuda"
    np.testing.assert_allclose(jac.cpu().numpy(), oracle.numpy(), rtol=0, atol=1e-12 * oracle.abs().max().item())
    exact, reference = oracle_fishers(oracle, logits.cpu())
    for mode, expected in (("exact", exact), ("reference", reference)):
        result = vkdnw_score(model, inputs.cuda(), modes=mode, n_tensors=n_tensors, tensor_policy="random", direction=direction)
        np.testing.assert_allclose(result.fisher, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


@pytest.mark.parametrize("space, arch, dataset", [
    ("nb201", "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "cifar10"),
    ("nb201", "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_3x3~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|", "ImageNet16-120"),
    ("nas-bench-macro", "12021002", "cifar10"),
])  # fmt: skip
def test_cuda_float32_protocol_agrees_with_cpu(space, arch, dataset):
    """The seeded protocol on the GPU (float32) gives the CPU's dim and entropy within the tolerance of
    the reference runs (|dH| <= 1e-3), in both Fisher modes and both directions."""
    for direction in ("reverse", "forward"):
        kwargs = {"dataset": dataset, "seed": 1, "batch": 64, "modes": ("reference", "exact"), "direction": direction}
        cpu = score_architecture(space, arch, **kwargs)
        gpu = score_architecture(space, arch, device="cuda", **kwargs)
        for mode in ("reference", "exact"):
            assert gpu[mode].dim == cpu[mode].dim and gpu[mode].valid == cpu[mode].valid
            assert abs(gpu[mode].entropy - cpu[mode].entropy) <= 1e-3, (mode, direction)


def test_authors_reference_runs_on_cuda(reference_runs):
    for name, ref, row in reference_runs:
        info = ref["info"]
        model = nb201_network(info["arch"], num_classes=info["classes"])
        model.load_state_dict(ref["state_dict"])
        result = vkdnw_score(model.eval().cuda(), ref["input"].cuda(), modes="reference")
        assert result.valid and result.dim == int(row["dim"]), name
        assert abs(result.entropy - float(row["entropy"])) <= 1e-3, name
