"""NAS-Bench-Macro (Su et al., CVPR 2021): a MobileNetV2-style macro space on CIFAR-10.

A code is a string of 8 digits, one per searchable layer:

* ``0`` identity (at the first layer of a stage: 1×1 conv with stride 2 + BN, since width doubles);
* ``1`` inverted residual, expansion 3, depthwise kernel 3;
* ``2`` inverted residual, expansion 6, depthwise kernel 5.

Skeleton for a ``(B, 3, 32, 32)`` input: stem 3×3 conv (32 ch) + BN + ReLU; three stages of 2, 3, 3
layers with 64, 128, 256 channels, the first layer of each stage having stride 2 (32→16→8→4 px);
head 1×1 conv to 1280 ch + BN + ReLU, global average pool, ``Linear(1280, num_classes)``.
All convs are bias-free; activations are ReLU (not ReLU6).

The benchmark's FLOPs are multiply-accumulates of every ``Conv2d`` (grouped convs divided by groups)
plus ``in_features × out_features`` of every ``Linear`` (no bias, BN, activation or pooling terms),
for one 32×32 image: :func:`vkdnw_plugin.proxies.flops.count_macs` reproduces them, and
:func:`count_params` its params. The network modules live in :mod:`.nas_bench_macro_modules` and
load (with torch) on first use, so the codes and features here import without torch.
"""

from __future__ import annotations

import itertools

from ._registry import SpaceSpec, register_space

# The VKDNW authors' MobileNetV2 settings: 128 tensors sampled at random, deciles plus min and max.
AUTHORS_MOBILENETV2 = {"n_tensors": 128, "tensor_policy": "random", "n_quantiles": 11}

NUM_LAYERS = 8
CHOICES = "012"
STAGES = (2, 3, 3)
STEM_CHANNELS = 32
HEAD_CHANNELS = 1280
# (expansion ratio, depthwise kernel) of the inverted-residual choices.
BLOCKS = {1: (3, 3), 2: (6, 5)}


def parse_code(code: str) -> tuple[int, ...]:
    """The 8 layer choices of ``code`` (e.g. ``"02012100"`` → ``(0, 2, 0, 1, 2, 1, 0, 0)``).

    Only strings are accepted: an int would have lost its leading zeros. Raises ``ValueError``
    naming the bad length or character."""
    if not isinstance(code, str):
        raise ValueError(
            f"NAS-Bench-Macro code must be a str of {NUM_LAYERS} digits 0/1/2, got {type(code).__name__} "
            f"{code!r} (ints lose leading zeros)"
        )
    if len(code) != NUM_LAYERS:
        raise ValueError(f"NAS-Bench-Macro code {code!r} has length {len(code)}, expected {NUM_LAYERS}")
    for position, char in enumerate(code):
        if char not in CHOICES:
            raise ValueError(
                f"NAS-Bench-Macro code {code!r} has bad character {char!r} at position {position}; "
                f"expected one of {', '.join(CHOICES)}"
            )
    return tuple(int(char) for char in code)


def nas_bench_macro_codes() -> list[str]:
    """All 3**8 = 6561 codes in lexicographic order, ``"00000000"`` … ``"22222222"``."""
    return ["".join(digits) for digits in itertools.product(CHOICES, repeat=NUM_LAYERS)]


def non_identity_blocks(code: str) -> int:
    """Searchable layers of ``code`` that are inverted-residual blocks (choices 1 and 2): the
    space's simplest size baseline."""
    return sum(choice != 0 for choice in parse_code(code))


def layer_features(code: str) -> dict[str, float]:
    """Architecture features of ``code`` for the model-driven ranker: one ``layer<i>_choice<c>``
    indicator per layer and choice, and ``blocks`` (:func:`non_identity_blocks`)."""
    choices = parse_code(code)
    features = {f"layer{i}_choice{c}": float(choice == c) for i, choice in enumerate(choices) for c in range(len(CHOICES))}
    return {**features, "blocks": float(non_identity_blocks(code))}


_MODULES = ("InvertedResidual", "MacroNetwork", "count_params", "nas_bench_macro_network")


def __getattr__(name: str):
    if name in _MODULES:
        from . import nas_bench_macro_modules

        return getattr(nas_bench_macro_modules, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _build(code: str, num_classes: int):
    from .nas_bench_macro_modules import nas_bench_macro_network

    return nas_bench_macro_network(code, num_classes)


def _ground_truth(dataset: str, path=None) -> dict[str, float]:
    from ..groundtruth.nas_bench_macro import load_nas_bench_macro

    frame = load_nas_bench_macro(path)
    return dict(zip(frame.code, frame.mean_acc))


register_space(SpaceSpec(
    name="nas-bench-macro",
    build=_build,
    datasets={"cifar10": (10, 32)},
    ground_truth=_ground_truth,
    aliases=("nas_bench_macro", "nasbenchmacro", "macro"),
    vkdnw_defaults=AUTHORS_MOBILENETV2,
    arch_features=layer_features,
    parse=lambda code: "".join(map(str, parse_code(code))),
    arch_help="an 8-digit code, one digit per layer: 0 identity, 1 MBConv e3 k3, 2 MBConv e6 k5 (e.g. 01201020)",
    accuracy="NAS-Bench-Macro CIFAR-10 test accuracy, mean of its 3 training runs",
))
