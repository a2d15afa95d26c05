"""The seeded scoring protocol, owned once: architecture text → network → ``torch.manual_seed(seed)``,
build, the authors' initialisation, ``torch.randn`` input → VKDNW. Every door (``vkdnw score``,
``vkdnw evaluate``, the NNI trial and evaluator, NASLib's ``vkdnw*`` measures) scores a benchmark
architecture through :func:`score_architecture`, so the same architecture and options give the same
number everywhere.

Per-space defaults are the authors': NB201 samples the first 128 tensors and uses nine deciles, their
MobileNetV2 code (used for NAS-Bench-Macro) samples 128 tensors at random and adds min and max.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from .engine import VKDNWResult, vkdnw_scores
from .options import OptionError, check_choice, check_count, check_vkdnw_options
from .spaces.nb201 import DATASETS, dataset_shape


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


SPACES = ("nb201", "nas-bench-macro")
# The authors' VKDNW settings: their NB201 code and their MobileNetV2 code (also used for NAS-Bench-Macro,
# and by the NNI adapter for ProxylessNAS).
AUTHORS_SETTINGS = {
    "nb201": {"n_tensors": 128, "tensor_policy": "first", "n_quantiles": 9},
    "mobilenetv2": {"n_tensors": 128, "tensor_policy": "random", "n_quantiles": 11},
}
SPACE_DEFAULTS = {"nb201": AUTHORS_SETTINGS["nb201"], "nas-bench-macro": AUTHORS_SETTINGS["mobilenetv2"]}
SPACE_DATASETS = {"nb201": tuple(DATASETS), "nas-bench-macro": ("cifar10",)}


@dataclass(frozen=True)
class Network:
    """One architecture of a benchmark space: canonical ``arch`` text, classifier width, input
    resolution (pixels) and a ``build()`` returning a fresh ``nn.Module``."""

    space: str
    arch: str
    dataset: str
    num_classes: int
    resolution: int
    build: Callable[[], nn.Module]


def check_space_dataset(space: str, dataset: str) -> tuple[int, int]:
    """``(classes, input resolution in pixels)`` of ``dataset`` in ``space``, or an
    :class:`~vkdnw_plugin.options.OptionError` naming the bad one."""
    check_choice("space", space, SPACES)
    if space == "nas-bench-macro" and dataset != "cifar10":
        raise OptionError("dataset", dataset, "NAS-Bench-Macro is a CIFAR-10 benchmark; use cifar10")
    check_choice("dataset", dataset, SPACE_DATASETS[space])
    return dataset_shape(dataset)


def network(space: str, arch: str, dataset: str = "cifar10") -> Network:
    """The :class:`Network` of ``arch`` (NB201: arch string, index or NASLib tuple; NAS-Bench-Macro:
    8-digit code). Bad input raises :class:`~vkdnw_plugin.options.OptionError` naming it."""
    classes, resolution = check_space_dataset(space, dataset)
    if space == "nb201":
        from .spaces.nb201 import nb201_network, parse_arch

        try:
            parsed = parse_arch(arch)
        except ValueError as error:
            raise OptionError("arch", arch, str(error)) from None
        return Network(space, parsed.arch_str, dataset, classes, resolution, lambda: nb201_network(parsed, num_classes=classes))
    from .spaces.nas_bench_macro import nas_bench_macro_network, parse_code

    try:
        parse_code(arch)
    except ValueError as error:
        raise OptionError("arch", arch, str(error)) from None
    return Network(space, arch, dataset, classes, resolution, lambda: nas_bench_macro_network(arch, num_classes=classes))


def space_options(space: str, **options) -> dict:
    """VKDNW keywords for ``space``: its defaults (:data:`SPACE_DEFAULTS`) overridden by the
    ``options`` that are not ``None``, checked by :func:`~vkdnw_plugin.vkdnw.check_vkdnw_options`."""
    check_choice("space", space, SPACES)
    given = {key: value for key, value in options.items() if value is not None}
    return check_vkdnw_options({**SPACE_DEFAULTS[space], **given})


def seeded_setup(net: Network, seed: int, batch: int, device="cpu") -> tuple[nn.Module, torch.Tensor]:
    """``(model, inputs)`` of the protocol: seed, build, initialise, ``randn(batch, 3, r, r)``."""
    check_count("batch", batch)
    return reference_setup(net.build, seed, (batch, 3, net.resolution, net.resolution), device)


def score_architecture(
    space: str,
    arch: str,
    *,
    dataset: str = "cifar10",
    seed: int = 0,
    batch: int = 64,
    modes=("reference",),
    device="cpu",
    **options,
) -> dict[str, VKDNWResult]:
    """``{mode: VKDNWResult}`` of one benchmark architecture under the seeded protocol; ``options``:
    ``n_tensors``, ``tensor_policy``, ``n_quantiles``, ``direction``, ``compile`` (``None`` = the space's default)."""
    net = network(space, arch, dataset)
    model, inputs = seeded_setup(net, seed, batch, device)
    return vkdnw_scores(model, inputs, modes=tuple(modes), **space_options(space, **options))
