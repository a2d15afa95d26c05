"""VKDNW: entropy of the Fisher-information spectrum of an untrained network (Týbl & Neumann, CVPR 2025).

For each sampled weight θ_p (one element of each of the first ``n_tensors`` parameter tensors) and each
input x_n, J_n = ∂ logits(x_n) / ∂ θ is a (C, P) Jacobian. With p_n the α-smoothed softmax
(α = 0.05 rounded to float16), two Fisher matrices are offered:

* ``mode="exact"``: the paper's F = mean_n J_nᵀ (diag(p_n) − p_n p_nᵀ) J_n, in float64;
* ``mode="reference"``: what the authors' code computes, F = mean_n (L_n J_n)ᵀ (L_n J_n) with L_n the
  Cholesky factor of diag(p_n) − p_n p_nᵀ (so Lᵀ L instead of L Lᵀ), in float32 with their ops.

The nine deciles q of F's eigenvalues, normalised t = q / (‖q‖₁ + 1e-10), give the entropy
−Σ t ln(t + 1e-10). VKDNW_single ranks networks by (number of parameter tensors, entropy).

Speed: instead of ``vmap(jacrev)`` over the whole model, every sampled weight gets a per-sample
zero "delta" δ_p ∈ R^B, added to its module's output along the tangent ∂out/∂θ_p (one forward-mode
product of that module). Then ∂logits_n/∂δ_{p,n} = J_n[:, p], so K = min(C, head width) batched
vector-Jacobian products over one shared forward give every J_n; no weight gradient is formed.
"""

from __future__ import annotations

import contextlib
import math
import random
import time
import warnings
import weakref
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, jvp, vmap

from .options import OptionError, check_choice, check_count

ALPHA_FP16 = float(torch.tensor(0.05, dtype=torch.float16))
MODES = ("reference", "exact")
TENSOR_POLICIES = ("first", "random")
N_QUANTILES = (9, 11)


@dataclass
class VKDNWResult:
    """Outcome of :func:`vkdnw_score`.

    ``deciles`` (n_quantiles,) and ``eigenvalues`` (P,, descending) and ``fisher`` (P, P) are float64
    numpy arrays; ``dim`` is the number of parameter tensors; ``score = dim + entropy``."""

    entropy: float
    dim: int
    score: float
    deciles: np.ndarray
    eigenvalues: np.ndarray
    fisher: np.ndarray
    valid: bool
    reason: str = ""
    seconds: float = 0.0
    n_sampled: int = 0
    mode: str = "reference"
    sampled: list[str] = field(default_factory=list)


def _kaiming_fanin(module: nn.Module) -> None:
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)):
        nn.init.kaiming_normal_(module.weight, mode="fan_in", nonlinearity="relu")
        if module.bias is not None:
            nn.init.zeros_(module.bias)
    elif isinstance(module, (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d, nn.GroupNorm)) and module.affine:
        nn.init.ones_(module.weight)
        nn.init.zeros_(module.bias)


def init_like_reference(model: nn.Module, seed: int | None = None) -> nn.Module:
    """The authors' initialisation: Kaiming-normal fan-in (ReLU gain) for conv/linear weights, zero
    biases, BatchNorm/GroupNorm γ=1, β=0; the model is left in eval mode (BN running stats untouched,
    so 0/1 right after construction). ``seed`` re-seeds torch's global RNG first; the authors seed
    *before building* the network, see :func:`reference_setup`."""
    if seed is not None:
        torch.manual_seed(seed)
    model.apply(_kaiming_fanin)
    return model.eval()


def reference_setup(build, seed: int, input_shape: tuple[int, ...], device="cpu"):
    """Reproduce the authors' tensors: seed, ``model = build()``, initialise, ``torch.randn`` input.

    Returns ``(model, inputs)``; the global RNG is restored afterwards."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = init_like_reference(build())
        inputs = torch.randn(*input_shape)
    return model.to(device), inputs.to(device)


def logits_of(output) -> torch.Tensor:
    """The logits of a model output: the tensor itself, or the last element of a tuple/list
    (NAS-Bench-201 networks return ``(features, logits)``)."""
    if isinstance(output, (tuple, list)):
        output = output[-1]
    if not isinstance(output, torch.Tensor) or output.dim() != 2:
        raise ValueError(
            f"model output must be logits of shape (batch, classes) or a tuple ending with them, got {_describe(output)}"
        )
    return output


def _describe(value) -> str:
    return f"tensor of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else type(value).__name__


def select_tensors(model: nn.Module, n_tensors: int = 128, policy: str = "first") -> list[str]:
    """Names of the sampled parameter tensors.

    ``"first"``: the first ``n_tensors`` of ``named_parameters()`` (NB201 code). ``"random"``: the
    authors' MobileNetV2 code, ``random.Random(n_all).sample(all_names, n_tensors)``, seeded by the
    number of tensors (here capped at ``n_all``; their code fails when fewer than 128 exist)."""
    if policy not in TENSOR_POLICIES:
        raise ValueError(f"unknown tensor_policy {policy!r}; expected one of {', '.join(TENSOR_POLICIES)}")
    if n_tensors < 1:
        raise ValueError(f"n_tensors must be positive, got {n_tensors}")
    names = [name for name, _ in model.named_parameters()]
    if policy == "first":
        return names[:n_tensors]
    return random.Random(len(names)).sample(names, min(n_tensors, len(names)))


# ----------------------------------------------------------------------------- per-sample Jacobian


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
    for the duration (measured 1–3 % off a NAS-Bench-201 network on an idle CPU:
    ``benchmarks/speed.py --ablate-bn``)."""
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


def _unit_tangent(module: nn.Module, local: str, element: int, x: torch.Tensor, out: torch.Tensor):
    """``(channels, part)`` with ∂out/∂θ for θ = ``getattr(module, local).view(-1)[element]``: the
    output channels it touches and the tangent restricted to them, read straight off the input for
    Conv2d, Linear and eval-mode BatchNorm; ``None`` for other layers."""
    weight = getattr(module, local)
    index = torch.unravel_index(torch.tensor(element), weight.shape)
    channel = int(index[0])
    channels = torch.tensor([channel], device=out.device)
    if local == "bias" and isinstance(module, (nn.Conv2d, nn.Linear, nn.modules.batchnorm._BatchNorm)):
        if isinstance(module, nn.modules.batchnorm._BatchNorm) and module.training:
            return None
        return channels, torch.ones_like(out.narrow(1, channel, 1))
    if local != "weight":
        return None
    if isinstance(module, nn.Linear) and out.dim() == 2:
        return channels, x[:, int(index[1]) : int(index[1]) + 1]
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not module.training and module.running_mean is not None:
        shape = (1, 1) + (1,) * (x.dim() - 2)
        mean = module.running_mean[channel].view(shape)
        std = torch.sqrt(module.running_var[channel] + module.eps).view(shape)
        return channels, (x.narrow(1, channel, 1) - mean) / std
    if isinstance(module, nn.Conv2d) and module.padding_mode == "zeros" and not isinstance(module.padding, str):
        in_channel = channel // (module.out_channels // module.groups) * weight.shape[1] + int(index[1])
        padded = nn.functional.pad(x.narrow(1, in_channel, 1), (module.padding[1],) * 2 + (module.padding[0],) * 2)
        rows, cols = out.shape[2], out.shape[3]
        (sr, sc), (dr, dc) = module.stride, module.dilation
        r0, c0 = int(index[2]) * dr, int(index[3]) * dc
        return channels, padded[:, :, r0 : r0 + sr * (rows - 1) + 1 : sr, c0 : c0 + sc * (cols - 1) + 1 : sc]
    return None


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
            fast = None if self.generic else _unit_tangent(module, local, self.element, args[0].detach(), output)
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


def _vjp_rows(out: torch.Tensor, deltas: list[torch.Tensor]) -> torch.Tensor:
    """(B, K, P): row k of each sample's ∂out_n/∂δ for every output coordinate k of ``out`` (B, K).

    One backward per coordinate over the shared graph (on CPU this beats ``is_grads_batched``)."""
    batch, width = out.shape
    rows = torch.zeros(batch, width, len(deltas), dtype=out.dtype, device=out.device)
    cotangent = torch.zeros_like(out)
    for k in range(width):
        cotangent.zero_()
        cotangent[:, k] = 1
        grads = torch.autograd.grad(out, deltas, grad_outputs=cotangent, retain_graph=True, allow_unused=True)
        for p, grad in enumerate(grads):
            if grad is not None:
                rows[:, k, p] = grad
    return rows


DIRECTIONS = ("auto", "reverse", "forward")
TANGENT_BUDGET_BYTES = 256 * 2**20  # forward mode: batched tangents of one chunk, per live activation
TANGENT_CHUNK = 8  # measured best on NAS-Bench-Macro (8 > 16 > 32: later chunks start later) and ProxylessNAS


@dataclass
class JacobianPlan:
    """What one cheap probe forward tells about a (model, inputs, sampled tensors) triple: the logits
    (B, C), K = number of backward passes reverse mode needs, the forward-mode chunk size (sampled
    weights per batched tangent pass) and sample-group size (inputs per pass), the number of
    forward-mode passes (in whole-batch units), and the direction ``auto`` picks."""

    logits: torch.Tensor
    reverse_passes: int
    chunk: int
    group: int
    forward_passes: int
    order: list[int]

    @property
    def cheaper(self) -> str:
        """Cost model (documented in README "Speed"): reverse mode costs one forward plus K
        activation-only backward passes, forward mode one forward per sampled weight (each starting at
        the weight's own layer) plus one primal forward per chunk. A backward pass and a tangent pass
        both cost about one forward (measured: 0.93 and 1.0 on NAS-Bench-Macro), so the smaller
        count wins; ties go to reverse."""
        return "forward" if self.forward_passes < 1 + self.reverse_passes else "reverse"


def _head(model: nn.Module, run):
    """``(output of run(), last nn.Linear producing it or None, its input)``."""
    heads = []
    recorder = [
        m.register_forward_hook(lambda m, args, out: heads.append((m, args[0], out)))
        for m in model.modules()
        if isinstance(m, nn.Linear)
    ]
    try:
        logits = logits_of(run())
    finally:
        for handle in recorder:
            handle.remove()
    head = heads[-1] if heads and heads[-1][2] is logits else None
    return logits, (head[0], head[1]) if head is not None and head[0].in_features < logits.shape[1] else (None, None)


def plan_jacobian(model: nn.Module, inputs: torch.Tensor, names: list[str], element: int = 0) -> JacobianPlan:
    """One forward without autograd that sizes both directions (see :class:`JacobianPlan`)."""
    hooks = _DeltaHooks(model, names, element)
    try:
        with torch.no_grad(), _cheap_eval_batchnorm(model):
            logits, (head, _) = _head(model, lambda: model(inputs))
    finally:
        hooks.remove()
    reverse = head.in_features if head is not None else logits.shape[1]
    batch = logits.shape[0]
    per_sample = max(hooks.largest, logits.numel()) * logits.element_size() / batch
    most = min(TANGENT_CHUNK, len(names))
    if any(m.training for m in model.modules()):  # inputs interact (e.g. batch statistics): whole batches
        group, chunk = batch, int(max(1, min(most, TANGENT_BUDGET_BYTES // (4 * per_sample * batch))))
    else:  # independent inputs: a full chunk of tangents on input groups needs fewer primal forwards
        group, chunk = int(max(1, min(batch, TANGENT_BUDGET_BYTES // (4 * most * per_sample)))), most
    order = hooks.order + [p for p in range(len(names)) if p not in hooks.order]
    return JacobianPlan(logits, reverse, chunk, group, len(names) + math.ceil(len(names) / chunk), order)


def per_sample_jacobian(
    model: nn.Module,
    inputs: torch.Tensor,
    names: list[str],
    element: int = 0,
    generic: bool = False,
    direction: str = "reverse",
    compile: bool = False,
) -> tuple[torch.Tensor, torch.Tensor]:
    """J (B, C, P) = ∂logits_n/∂θ_p for element ``element`` of each named tensor, and the logits (B, C).

    ``direction="reverse"``: one forward and K = min(C, input width of a final ``nn.Linear`` head)
    batched backward products. ``"forward"``: P Jacobian–vector products (``torch.func.jvp`` under
    ``vmap``, in chunks of sampled weights taken in the order their layers run, so a chunk's tangents
    start at its first layer; with the model in eval mode on groups of inputs sized to
    :data:`TANGENT_BUDGET_BYTES`). ``"auto"``: the cheaper by :meth:`JacobianPlan.cheaper`.
    ``compile=True`` runs reverse mode through compiled repeating blocks (:func:`compiled_blocks`).
    Computation stays in the model's dtype, on CUDA without TF32 (:func:`full_float32`).
    ``generic=True`` computes every tangent with ``torch.func.jvp`` instead of the closed forms for
    Conv2d/Linear/BatchNorm (for testing)."""
    check_vkdnw_options({"direction": direction, "compile": compile})
    with full_float32() if inputs.is_cuda else contextlib.nullcontext():
        if direction != "reverse":
            plan = plan_jacobian(model, inputs, names, element)
            if direction == "forward" or plan.cheaper == "forward":
                return _forward_jacobian(model, inputs, names, element, generic, plan)
        if compile and not _COMPILE_FAILED:
            try:
                with compiled_blocks(model):
                    return _reverse_jacobian(model, inputs, names, element, generic)
            except Exception as error:  # noqa: BLE001 - no C++ compiler, an op inductor cannot lower, ...
                _COMPILE_FAILED.append(error)
                while (inner := getattr(error, "inner_exception", None) or error.__cause__) is not None:
                    error = inner  # torch wraps the backend's own error
                first_line = (str(error).strip().splitlines() or [""])[0][:200]
                warnings.warn(f"compile=True failed ({type(error).__name__}: {first_line}); this process now "
                              "scores eagerly", RuntimeWarning, stacklevel=4)  # fmt: skip
        return _reverse_jacobian(model, inputs, names, element, generic)


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
    (the delta hooks are one eager function, see :func:`_inject_deltas`), and inductor's on-disk FX
    graph cache shares the generated code across processes."""
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


@contextlib.contextmanager
def full_float32():
    """CUDA convolutions and matrix products in full float32, not TF32 (10-bit mantissa), restored
    afterwards: with TF32 an H200 moved the entropies of the authors' reference runs by up to 1.2e-3."""
    saved = torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = saved


def _reverse_jacobian(model, inputs, names, element, generic):
    batch = inputs.shape[0]
    hooks = _DeltaHooks(model, names, element, generic)
    hooks.deltas = {
        p: torch.zeros(batch, device=inputs.device, dtype=inputs.dtype, requires_grad=True) for p in range(len(names))
    }
    deltas = list(hooks.deltas.values())
    try:
        with _frozen(model), _cheap_eval_batchnorm(model):
            logits, (head, features) = _head(model, lambda: model(inputs))
            if head is not None:
                upstream = _vjp_rows(features, deltas)
                jac = torch.einsum("cd,bdp->bcp", head.weight.detach(), upstream)
                head_params = {id(param) for param in head.parameters(recurse=False)}
                params = dict(model.named_parameters())
                for p, name in enumerate(names):
                    if id(params[name]) in head_params and p in hooks.tangents:
                        channels, part = hooks.tangents[p]
                        jac[:, channels, p] = part
            else:
                jac = _vjp_rows(logits, deltas)
    finally:
        hooks.remove()
    return jac.detach(), logits.detach()


def _forward_jacobian(model, inputs, names, element, generic, plan: JacobianPlan):
    batch = inputs.shape[0]
    logits = plan.logits
    jac = torch.zeros(batch, logits.shape[1], len(names), dtype=logits.dtype, device=logits.device)
    hooks = _DeltaHooks(model, names, element, generic)

    def logits_given(deltas, chunk, group):
        hooks.deltas = dict(zip(chunk, deltas))
        return logits_of(model(group))

    try:
        with _frozen(model), _cheap_eval_batchnorm(model):
            for start in range(0, len(names), plan.chunk):
                chunk = plan.order[start : start + plan.chunk]
                for first in range(0, batch, plan.group):
                    group = inputs[first : first + plan.group]
                    zeros = torch.zeros(len(chunk), len(group), device=inputs.device, dtype=inputs.dtype)
                    units = torch.eye(len(chunk), device=inputs.device, dtype=inputs.dtype)
                    units = units.unsqueeze(2).expand(-1, -1, len(group))
                    tangents = vmap(lambda unit: jvp(lambda d: logits_given(d, chunk, group), (zeros,), (unit,))[1])
                    jac[first : first + len(group), :, chunk] = tangents(units).permute(1, 2, 0).detach()
    finally:
        hooks.deltas = {}
        hooks.remove()
    return jac, logits


# ----------------------------------------------------------------------------- Fisher and spectrum


def smoothed_softmax(logits: torch.Tensor) -> torch.Tensor:
    """p = softmax·(1−α) + α/C with α = 0.05 rounded to float16, in the logits' dtype (B, C)."""
    classes = logits.shape[1]
    return torch.softmax(logits, dim=1) * (1 - ALPHA_FP16) + ALPHA_FP16 / classes


def reference_cholesky(logits: torch.Tensor) -> torch.Tensor:
    """The authors' L (B, C, C) with L Lᵀ = diag(p) − p pᵀ, built with their float ops (Tanabe & Sagae
    1992: L_jj = d_j, L_ij = −p_i d_j / q_j for i > j, q = 1 − cumsum p; the last column is 0).
    As in their code, 1 − α and α / C are evaluated in float16, so p sums to 1 only approximately."""
    alpha = torch.tensor(0.05, dtype=torch.float16, device=logits.device)
    classes = logits.shape[1]
    prob = torch.softmax(logits, dim=1) * (1 - alpha) + alpha / classes
    q = 1 - torch.cumsum(prob, dim=1)
    q[:, -1] = 0
    q_shift = torch.roll(q, shifts=1, dims=1)
    q_shift[:, 0] = 1
    d = torch.sqrt(prob * q / q_shift)
    lower = torch.nan_to_num(-prob.unsqueeze(2) / q.unsqueeze(1), neginf=0.0)
    eye = torch.eye(classes, dtype=logits.dtype, device=logits.device)
    strict_lower = torch.tril(torch.ones(classes, classes, dtype=logits.dtype, device=logits.device), diagonal=-1)
    lower = lower * strict_lower + eye
    return lower * d.unsqueeze(1)


def fisher_matrix(jac: torch.Tensor, logits: torch.Tensor, mode: str = "exact") -> torch.Tensor:
    """F (P, P) from J (B, C, P) and logits (B, C): the true Fisher accumulated in float64, or the
    authors' matrix in the model's dtype (float32 for a float32 model, as their code)."""
    if mode == "reference":
        factor = reference_cholesky(logits)
        scaled = torch.matmul(factor, jac)
        return torch.mean(torch.matmul(scaled.transpose(1, 2), scaled), dim=0)
    if mode != "exact":
        raise ValueError(f"unknown mode {mode!r}; expected one of {', '.join(MODES)}")
    jac = jac.double()
    prob = smoothed_softmax(logits.double())
    weighted = jac * prob.sqrt().unsqueeze(2)
    mean_row = torch.einsum("bc,bcp->bp", prob, jac)
    second = torch.einsum("bcp,bcq->pq", weighted, weighted)
    return (second - mean_row.T @ mean_row) / jac.shape[0]


def quantile_levels(n_quantiles: int) -> list[float]:
    """9 → deciles 0.1…0.9 (NB201 code); 11 → 0.0…1.0, deciles plus min and max (MobileNetV2 code)."""
    if n_quantiles not in N_QUANTILES:
        raise ValueError(f"n_quantiles must be one of {N_QUANTILES}, got {n_quantiles}")
    return [i / 10 for i in range(1, 10)] if n_quantiles == 9 else [i / 10 for i in range(11)]


def spectrum_entropy(fisher: torch.Tensor, n_quantiles: int = 9, mode: str = "exact"):
    """``(entropy, quantiles, eigenvalues)`` of F, eigenvalues descending.

    exact: float64 ``eigvalsh`` with round-off negatives set to 0, numpy linear quantiles.
    reference: ``torch.svd(F).S`` (singular values), ``torch.quantile`` at ``torch.arange`` levels,
    all in F's dtype as the authors' code."""
    levels = quantile_levels(n_quantiles)
    if mode == "reference":
        lambdas = torch.linalg.svd(fisher.cpu()).S
        start, stop = (0.1, 1.0) if n_quantiles == 9 else (0.0, 1.1)
        q = torch.quantile(lambdas, torch.arange(start, stop, 0.1, dtype=lambdas.dtype).clamp(max=1.0))
        t = q / (torch.linalg.norm(q, ord=1).item() + 1e-10)
        entropy = -(t * torch.log(t + 1e-10)).sum().item()
        return entropy, q.double().numpy(), lambdas.double().numpy()
    lambdas = np.clip(np.linalg.eigvalsh(fisher.double().cpu().numpy())[::-1], 0.0, None)
    q = np.quantile(lambdas, levels)
    t = q / (np.abs(q).sum() + 1e-10)
    return float(-(t * np.log(t + 1e-10)).sum()), q, lambdas


def _invalid(reason: str, dim: int, mode: str, started: float, names: list[str]) -> VKDNWResult:
    empty = np.zeros(0)
    return VKDNWResult(
        entropy=math.nan, dim=dim, score=math.nan, deciles=empty, eigenvalues=empty,
        fisher=np.zeros((0, 0)), valid=False, reason=reason, seconds=time.perf_counter() - started,
        n_sampled=len(names), mode=mode, sampled=names,
    )  # fmt: skip


AUTHORS_FALLBACK = (
    "reference mode: the authors' Cholesky factor is NaN here (their float16 α makes p sum to about 1.0002, so "
    "q = 1 − cumsum p turns negative when the last classes are near α/C, as with ~1000 classes); their "
    "code then catches torch.svd's LinAlgError and scores zero eigenvalues, entropy 0 — reproduced; "
    "mode='exact' has no such artefact"
)


def _authors_fallback(fisher: torch.Tensor, dim: int, n_quantiles: int, started: float, names: list[str]) -> VKDNWResult:
    """The authors' result for a NaN reference Fisher: eigenvalues ``zeros(2)``, so zero deciles and
    entropy 0 (``valid=True``, since that is what their ranking uses; ``reason`` says why)."""
    return VKDNWResult(
        entropy=0.0, dim=dim, score=float(dim), deciles=np.zeros(n_quantiles), eigenvalues=np.zeros(2),
        fisher=fisher.double().cpu().numpy(), valid=True, reason=AUTHORS_FALLBACK,
        seconds=time.perf_counter() - started, n_sampled=len(names), mode="reference", sampled=names,
    )  # fmt: skip


def vkdnw_score(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    mode: str = "reference",
    n_tensors: int = 128,
    tensor_policy: str = "first",
    n_quantiles: int = 9,
    direction: str = "auto",
    compile: bool = False,
) -> VKDNWResult:
    """VKDNW of ``model`` on ``inputs`` (B, …), model and inputs on one device, model in eval mode.

    Invalid networks (non-finite logits, Jacobian or exact Fisher, fewer than 2 sampled tensors)
    give ``valid=False`` with a ``reason`` instead of raising; bad arguments raise ``ValueError``.
    A reference-mode Fisher made NaN only by the authors' Cholesky factor gets their fallback
    (entropy 0, ``valid=True``, ``reason`` = :data:`AUTHORS_FALLBACK`). ``direction`` picks how the
    Jacobian is differentiated and ``compile=True`` runs it through compiled repeating blocks (see
    :func:`per_sample_jacobian`; a failed compile warns once and scores eagerly); all give the same J
    up to float rounding."""
    return vkdnw_scores(model, inputs, modes=(mode,), n_tensors=n_tensors, tensor_policy=tensor_policy,
                        n_quantiles=n_quantiles, direction=direction, compile=compile)[mode]  # fmt: skip


def vkdnw_scores(
    model: nn.Module,
    inputs: torch.Tensor,
    *,
    modes=MODES,
    n_tensors: int = 128,
    tensor_policy: str = "first",
    n_quantiles: int = 9,
    direction: str = "auto",
    compile: bool = False,
) -> dict[str, VKDNWResult]:
    """:func:`vkdnw_score` for several modes from one shared Jacobian: ``{mode: VKDNWResult}``."""
    check_vkdnw_options(dict(n_tensors=n_tensors, tensor_policy=tensor_policy, n_quantiles=n_quantiles,
                             direction=direction, compile=compile))  # fmt: skip
    for mode in modes:
        check_vkdnw_options({"mode": mode})
    names = select_tensors(model, n_tensors, tensor_policy)
    started = time.perf_counter()
    dim = len(list(model.named_parameters()))
    if len(names) < 2:
        reason = f"only {len(names)} parameter tensor(s) to sample; VKDNW needs at least 2"
        return {mode: _invalid(reason, dim, mode, started, names) for mode in modes}
    jac, logits = per_sample_jacobian(model, inputs, names, direction=direction, compile=compile)
    if not torch.isfinite(logits).all():
        return {mode: _invalid("non-finite logits", dim, mode, started, names) for mode in modes}
    shared_seconds = time.perf_counter() - started
    with full_float32() if inputs.is_cuda else contextlib.nullcontext():
        return _results(jac, logits, modes, dim, n_quantiles, names, shared_seconds)


def _results(jac, logits, modes, dim, n_quantiles, names, shared_seconds) -> dict[str, VKDNWResult]:
    """Each mode's Fisher matrix, spectrum and :class:`VKDNWResult` from the shared Jacobian."""
    results = {}
    for mode in modes:
        mode_started = time.perf_counter() - shared_seconds
        fisher = fisher_matrix(jac, logits, mode)
        if not torch.isfinite(fisher).all():
            if mode == "reference" and torch.isfinite(jac).all():
                results[mode] = _authors_fallback(fisher, dim, n_quantiles, mode_started, names)
            else:
                results[mode] = _invalid("non-finite Fisher matrix", dim, mode, mode_started, names)
            continue
        entropy, deciles, eigenvalues = spectrum_entropy(fisher, n_quantiles, mode)
        if not math.isfinite(entropy):
            results[mode] = _invalid("non-finite entropy", dim, mode, mode_started, names)
            continue
        results[mode] = VKDNWResult(
            entropy=entropy, dim=dim, score=dim + entropy, deciles=deciles, eigenvalues=eigenvalues,
            fisher=fisher.double().cpu().numpy(), valid=True, seconds=time.perf_counter() - mode_started,
            n_sampled=len(names), mode=mode, sampled=names,
        )  # fmt: skip
    return results


VKDNW_OPTIONS = ("mode", "n_tensors", "tensor_policy", "n_quantiles", "direction", "compile")
_ALLOWED = {"mode": MODES, "tensor_policy": TENSOR_POLICIES, "n_quantiles": N_QUANTILES, "direction": DIRECTIONS}


def check_vkdnw_options(options: dict) -> dict:
    """``options`` (keywords of :func:`vkdnw_score`) as a new dict, or an
    :class:`~vkdnw_plugin.options.OptionError` naming the first unknown key or bad value: the one check
    behind the API, the CLIs and the framework configs."""
    for key, value in options.items():
        if key not in VKDNW_OPTIONS:
            raise OptionError(key, value, f"unknown VKDNW option; expected any of {', '.join(VKDNW_OPTIONS)}")
        if key == "n_tensors":
            check_count(key, value)
        elif key == "compile":
            if not isinstance(value, bool):
                raise OptionError(key, value, "expected True or False")
        else:
            check_choice(key, value, _ALLOWED[key])
    return dict(options)
