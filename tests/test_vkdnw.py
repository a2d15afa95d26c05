"""VKDNW engine against the authors' outputs and against slow float64 oracles (torch.func.jacrev of the
full logits, explicit Fisher formulas, loops for the Cholesky factor)."""

import math
import random

import numpy as np
import pytest
import torch
from torch import nn
from torch.func import functional_call, jacrev

from vkdnw_plugin.engine import per_sample_jacobian, plan_jacobian, select_tensors, vkdnw_score
from vkdnw_plugin.ranking import vkdnw_single_rank
from vkdnw_plugin.scoring import init_like_reference, reference_setup
from vkdnw_plugin.spaces.nb201 import nb201_network

SMALL_ARCHS = [
    "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|",
    "|skip_connect~0|+|none~0|avg_pool_3x3~1|+|nor_conv_1x1~0|skip_connect~1|none~2|",
]


def oracle_jacobian(model, inputs, names):
    """J (B, C, P) in float64 by jacrev of each sample's logits w.r.t. element 0 of each named tensor."""
    model = model.double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    buffers = {k: v.detach() for k, v in model.named_buffers()}

    def logits(picked, x):
        full = dict(params)
        for name, value in picked.items():
            flat = full[name].flatten().clone()
            flat[0] = value
            full[name] = flat.view_as(params[name])
        out = functional_call(model, {**full, **buffers}, (x.unsqueeze(0),))
        return (out[-1] if isinstance(out, tuple) else out).squeeze(0)

    picked = {name: params[name].flatten()[0].clone() for name in names}
    rows = []
    for x in inputs.double():
        jac = jacrev(logits)(picked, x)
        rows.append(torch.stack([jac[name] for name in names], dim=1))
    return torch.stack(rows)


def oracle_probs(logits, authors_float16=False):
    """Smoothed softmax; the authors' code evaluates 1 - α and α / C in float16."""
    alpha = np.float16(0.05)
    if authors_float16:
        keep, floor = np.float16(1) - alpha, alpha / np.float16(logits.shape[1])
    else:
        keep, floor = 1 - float(alpha), float(alpha) / logits.shape[1]
    return torch.softmax(logits.double(), 1) * float(keep) + float(floor)


def oracle_cholesky(p):
    """Tanabe & Sagae (1992) factor by loops: L_jj = d_j, L_ij = -p_i d_j / q_j (i > j).

    With p summing to 1 this is a Cholesky factor of diag(p) - p pᵀ (checked below)."""
    c = len(p)
    q = [1 - sum(p[: j + 1]) for j in range(c)]
    q[-1] = 0.0
    L = np.zeros((c, c))
    for j in range(c):
        q_prev = 1.0 if j == 0 else q[j - 1]
        d = math.sqrt(max(p[j] * q[j] / q_prev, 0.0))
        L[j, j] = d
        for i in range(j + 1, c):
            L[i, j] = -p[i] * d / q[j] if q[j] > 0 else 0.0
    return L


def oracle_fishers(jac, logits):
    exact = np.zeros((jac.shape[2],) * 2)
    reference = np.zeros_like(exact)
    for J, p, p16 in zip(jac.numpy(), oracle_probs(logits).numpy(), oracle_probs(logits, True).numpy()):
        sigma = np.diag(p) - np.outer(p, p)
        exact += J.T @ sigma @ J
        L = oracle_cholesky(p16)
        reference += (L @ J).T @ (L @ J)
    return exact / len(jac), reference / len(jac)


def small_model(arch, num_classes, seed=0):
    torch.manual_seed(seed)
    return init_like_reference(nb201_network(arch, num_classes=num_classes, C=4, N=1)).double()


@pytest.mark.parametrize("arch", SMALL_ARCHS)
@pytest.mark.parametrize("num_classes", [5, 20])  # 20 > head width 16: the reduced-direction path
def test_fisher_and_eigenvalues_match_float64_oracle(arch, num_classes):
    model = small_model(arch, num_classes)
    inputs = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    names = select_tensors(model, 128)
    jac_oracle = oracle_jacobian(model, inputs, names)
    with torch.no_grad():
        logits = model(inputs)[1]
    exact, reference = oracle_fishers(jac_oracle, logits)
    for mode, oracle in (("exact", exact), ("reference", reference)):
        result = vkdnw_score(model, inputs, modes=mode)
        assert result.valid and result.dim == len(list(model.parameters()))
        np.testing.assert_allclose(result.fisher, oracle, rtol=0, atol=1e-10 * np.abs(oracle).max())
        eig = np.sort(np.linalg.eigvalsh(oracle))[::-1]
        scale = eig[0]
        expected = np.sort(np.abs(eig) if mode == "reference" else np.clip(eig, 0, None))[::-1]
        np.testing.assert_allclose(np.sort(result.eigenvalues)[::-1], expected, rtol=0, atol=1e-6 * scale)
        q = np.quantile(np.sort(result.eigenvalues), np.arange(1, 10) / 10)
        t = q / (q.sum() + 1e-10)
        assert result.entropy == pytest.approx(-(t * np.log(t + 1e-10)).sum(), abs=1e-9)


@pytest.mark.parametrize("direction", ["forward", "reverse"])
@pytest.mark.parametrize("policy", ["first", "random"])
@pytest.mark.parametrize("num_classes, n_tensors", [(20, 6), (5, 128)])  # C > P, then C < P
def test_both_directions_match_float64_oracle(direction, policy, num_classes, n_tensors):
    model = small_model(SMALL_ARCHS[0], num_classes, seed=1)
    inputs = torch.randn(5, 3, 8, 8, dtype=torch.float64)
    names = select_tensors(model, n_tensors, policy)
    oracle = oracle_jacobian(model, inputs, names)
    for generic in (False, True):
        jac, logits = per_sample_jacobian(model, inputs, names, generic=generic, direction=direction)
        np.testing.assert_allclose(jac.numpy(), oracle.numpy(), rtol=0, atol=1e-12 * oracle.abs().max().item())
    exact, reference = oracle_fishers(oracle, logits)
    for mode, expected in (("exact", exact), ("reference", reference)):
        result = vkdnw_score(model, inputs, modes=mode, n_tensors=n_tensors, tensor_policy=policy, direction=direction)
        np.testing.assert_allclose(result.fisher, expected, rtol=0, atol=1e-10 * np.abs(expected).max())


@pytest.mark.parametrize("budget, group, chunk", [(10**9, 5, 8), (2**17, 2, 8), (1, 1, 8)])
def test_forward_input_groups_match_float64_oracle(monkeypatch, budget, group, chunk):
    """A smaller tangent budget splits the batch into input groups (eval mode: inputs are independent);
    J is the oracle's for every split, including one input per pass."""
    monkeypatch.setattr("vkdnw_plugin.engine.jacobian.TANGENT_BUDGET_BYTES", budget)
    model = small_model(SMALL_ARCHS[0], 20, seed=2)
    inputs = torch.randn(5, 3, 8, 8, dtype=torch.float64)
    names = select_tensors(model, 12, "random")
    plan = plan_jacobian(model, inputs, names)
    assert (plan.group, plan.chunk) == (group, chunk)
    jac, _ = per_sample_jacobian(model, inputs, names, direction="forward")
    oracle = oracle_jacobian(model, inputs, names)
    np.testing.assert_allclose(jac.numpy(), oracle.numpy(), rtol=0, atol=1e-12 * oracle.abs().max().item())


def test_forward_keeps_whole_batches_in_training_mode(monkeypatch):
    """With a module in training mode inputs may interact, so the budget shrinks the chunk instead."""
    monkeypatch.setattr("vkdnw_plugin.engine.jacobian.TANGENT_BUDGET_BYTES", 2**17)
    model = small_model(SMALL_ARCHS[0], 20).train()
    plan = plan_jacobian(model, torch.randn(5, 3, 8, 8, dtype=torch.float64), select_tensors(model, 12))
    assert (plan.group, plan.chunk) == (5, 3)


def test_auto_direction_counts_passes():
    """auto: reverse needs 1 + K passes (K = classes, or the head's input width when smaller),
    forward one per sampled weight plus one per chunk; a 1000-class head on 4 sampled weights goes
    forward, 5 classes on 128 go reverse."""
    inputs = torch.randn(3, 3, 8, 8)
    wide = small_model(SMALL_ARCHS[0], 1000).float()
    plan = plan_jacobian(wide, inputs, select_tensors(wide, 4))
    assert plan.reverse_passes == 16 and plan.forward_passes == 4 + 1 and plan.cheaper == "forward"
    narrow = small_model(SMALL_ARCHS[0], 5).float()
    names = select_tensors(narrow, 128)
    plan = plan_jacobian(narrow, inputs, names)
    assert plan.reverse_passes == 5 and plan.cheaper == "reverse"
    assert sorted(plan.order) == list(range(len(names)))


def test_unknown_direction_is_refused():
    model = small_model(SMALL_ARCHS[0], 5).float()
    with pytest.raises(ValueError, match="direction='sideways': unknown; expected one of auto, reverse, forward"):
        vkdnw_score(model, torch.randn(2, 3, 8, 8), direction="sideways")


def test_oracle_cholesky_factorises_the_covariance():
    p = oracle_probs(torch.randn(1, 7)).numpy()[0]
    L = oracle_cholesky(p)
    np.testing.assert_allclose(L @ L.T, np.diag(p) - np.outer(p, p), atol=1e-12)


def test_closed_form_tangents_equal_generic_jvp():
    model = small_model(SMALL_ARCHS[0], 20).float()
    inputs = torch.randn(5, 3, 8, 8)
    names = select_tensors(model, 128)
    fast, _ = per_sample_jacobian(model, inputs, names)
    generic, _ = per_sample_jacobian(model, inputs, names, generic=True)
    torch.testing.assert_close(fast, generic, rtol=1e-5, atol=1e-6 * generic.abs().max().item())


def test_cheap_batchnorm_matches_native_and_is_restored():
    """The engine swaps eval BatchNorm for one addcmul during the Jacobian; values must match
    F.batch_norm and every module must get its own forward back (also after an exception)."""
    model = small_model(SMALL_ARCHS[0], 5).float()
    for bn in (m for m in model.modules() if isinstance(m, nn.BatchNorm2d)):
        bn.running_mean.normal_()
        bn.running_var.uniform_(0.5, 2.0)
        if bn.weight is not None:
            bn.weight.data.normal_()
            bn.bias.data.normal_()
    inputs = torch.randn(4, 3, 8, 8)
    with torch.no_grad():
        native = model(inputs)[1]
    _, logits = per_sample_jacobian(model, inputs, select_tensors(model, 128))
    torch.testing.assert_close(logits, native, rtol=1e-5, atol=1e-5)
    assert not any("forward" in m.__dict__ for m in model.modules())
    with pytest.raises(RuntimeError):
        per_sample_jacobian(model, torch.randn(4, 5, 8, 8), select_tensors(model, 128))
    assert not any("forward" in m.__dict__ for m in model.modules())


def test_eleven_quantiles_and_random_tensor_policy():
    model = small_model(SMALL_ARCHS[0], 5)
    inputs = torch.randn(6, 3, 8, 8, dtype=torch.float64)
    all_names = [n for n, _ in model.named_parameters()]
    picked = select_tensors(model, 10, "random")
    assert picked == random.Random(len(all_names)).sample(all_names, 10)
    result = vkdnw_score(model, inputs, modes="exact", n_tensors=10, tensor_policy="random", n_quantiles=11)
    jac = oracle_jacobian(model, inputs, picked)
    with torch.no_grad():
        exact, _ = oracle_fishers(jac, model(inputs)[1])
    eig = np.clip(np.linalg.eigvalsh(exact), 0, None)
    q = np.quantile(eig, np.linspace(0, 1, 11))
    t = q / (q.sum() + 1e-10)
    assert len(result.deciles) == 11
    assert result.entropy == pytest.approx(-(t * np.log(t + 1e-10)).sum(), abs=1e-9)


def test_authors_reference_runs_are_reproduced(reference_runs):
    for name, ref, row in reference_runs:
        info = ref["info"]
        model = nb201_network(info["arch"], num_classes=info["classes"])
        model.load_state_dict(ref["state_dict"])
        result = vkdnw_score(model.eval(), ref["input"], modes="reference")
        assert result.valid, name
        assert result.dim == int(row["dim"]) and result.n_sampled == int(row["n_sampled"]), name
        assert abs(result.entropy - float(row["entropy"])) <= 1e-3, name
        top = torch.linalg.svdvals(ref["fisher"].double()).numpy()[:10]
        np.testing.assert_allclose(result.eigenvalues[:10], top, rtol=1e-3, err_msg=name)


def test_exact_mode_is_close_to_authors_true_sigma_entropy(reference_runs):
    # The authors' float32 value with the true Fisher; float64 moves it by up to ~1e-2 (shared README).
    for name, ref, row in reference_runs[:3]:
        model = nb201_network(ref["info"]["arch"], num_classes=ref["info"]["classes"])
        model.load_state_dict(ref["state_dict"])
        result = vkdnw_score(model.eval(), ref["input"], modes="exact")
        assert abs(result.entropy - float(row["entropy_if_true_sigma"])) <= 2e-2, name


def test_reference_setup_recreates_the_authors_weights_and_input(reference_runs):
    for name, ref, row in reference_runs:
        if row["dataset"] != "cifar10":
            continue
        model, inputs = reference_setup(lambda: nb201_network(row["arch"], 10), int(row["seed"]), (64, 3, 32, 32))
        assert torch.equal(inputs, ref["input"]), name
        for key, value in model.state_dict().items():
            assert torch.equal(value, ref["state_dict"][key]), (name, key)
        assert not model.training


def test_init_like_reference_distribution():
    model = init_like_reference(nb201_network(SMALL_ARCHS[0], 10), seed=3)
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.weight.numel() > 2000]
    for conv in convs:
        fan_in = conv.weight[0].numel()
        assert conv.weight.std().item() == pytest.approx(math.sqrt(2 / fan_in), rel=0.1)
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.all(b.weight == 1) and torch.all(b.bias == 0) for b in bns)
    assert torch.all(model.classifier.bias == 0) and not model.training


class OneTensor(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(12, 3, bias=False)

    def forward(self, x):
        return self.fc(x.flatten(1))


def test_invalid_networks_report_a_reason_instead_of_raising():
    result = vkdnw_score(OneTensor().eval(), torch.randn(4, 3, 2, 2))
    assert not result.valid and "at least 2" in result.reason and math.isnan(result.entropy)
    model = small_model(SMALL_ARCHS[0], 5).float()
    with torch.no_grad():
        model.stem[0].weight.fill_(float("inf"))
    result = vkdnw_score(model, torch.randn(4, 3, 8, 8))
    assert not result.valid and "non-finite" in result.reason


def test_reference_mode_reproduces_the_authors_nan_fallback():
    """~1000 classes with a near-zero last-class probability: the authors' float16 constants make
    Σp ≈ 1.0002 > 1, so q = 1 − cumsum p is negative just before the last class and their Cholesky
    factor is NaN; their code then scores entropy 0. Exact mode is unaffected."""
    classes = 1000
    alpha = torch.tensor(0.05, dtype=torch.float16)
    # float64 sum of the float16 constants the authors' p is built from: Σp = (1 − α) + C · (α / C) > 1
    assert float(1 - alpha) + classes * float(alpha / classes) > 1.0001
    model = small_model(SMALL_ARCHS[0], classes).float()
    with torch.no_grad():
        model.classifier.bias[-1] = -30.0  # last class's softmax ~0, so p_last ≈ α / C < 1.8e-4
    inputs = torch.randn(4, 3, 8, 8)
    reference = vkdnw_score(model, inputs, modes="reference")
    assert reference.valid and reference.entropy == 0.0 and reference.score == reference.dim
    assert "LinAlgError" in reference.reason and not np.isfinite(reference.fisher).all()
    assert (reference.deciles == 0).all()
    exact = vkdnw_score(model, inputs, modes="exact")
    assert exact.valid and exact.reason == "" and exact.entropy > 0
    assert vkdnw_single_rank([reference, exact]).tolist() == [1.0, 2.0]  # same dim, entropy 0 ranks lower


def test_bad_arguments_raise():
    model = small_model(SMALL_ARCHS[0], 5)
    x = torch.randn(2, 3, 8, 8, dtype=torch.float64)
    with pytest.raises(ValueError, match="reference, exact"):
        vkdnw_score(model, x, modes="fast")
    with pytest.raises(ValueError, match="first, random"):
        vkdnw_score(model, x, tensor_policy="last")
    with pytest.raises(ValueError, match="9, 11"):
        vkdnw_score(model, x, n_quantiles=5)


def test_single_rank_is_lexicographic_with_average_ties():
    pairs = [(10, 0.5), (12, 0.1), (10, 0.9), (12, 0.1), (11, float("nan")), (9, 2.0)]
    ranks = vkdnw_single_rank(pairs)
    # Brute force: sort valid pairs lexicographically; NaN entry is the worst.
    valid = sorted(p for p in pairs if not math.isnan(p[1]))
    expected = []
    for p in pairs:
        if math.isnan(p[1]):
            expected.append(1.0)
            continue
        positions = [i + 2 for i, q in enumerate(valid) if q == p]
        expected.append(sum(positions) / len(positions))
    np.testing.assert_allclose(ranks, expected)
