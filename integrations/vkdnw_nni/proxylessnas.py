"""NNI's ProxylessNAS as the core search space ``proxylessnas`` (this package's ``vkdnw_plugin.spaces``
entry point): ``vkdnw score --space proxylessnas --arch '<sample JSON>'`` and every door of the adapter
score it with the authors' MobileNetV2 settings. torch and ``nni.nas`` load only when a network is built.
"""

from __future__ import annotations

import json

from vkdnw_plugin.spaces import SpaceSpec, register_space
from vkdnw_plugin.spaces.nas_bench_macro import AUTHORS_MOBILENETV2


def _build(arch: str, num_classes: int):
    from .spaces import build_model

    return build_model("proxylessnas", json.loads(arch), num_labels=num_classes)


def _canonical(arch) -> str:
    """A ProxylessNAS sample (a dict or its JSON) as sorted JSON, every label checked."""
    from .spaces import space_kwargs, validate_sample

    try:
        sample = json.loads(arch) if isinstance(arch, str) else arch
    except json.JSONDecodeError as error:
        raise ValueError(f"not a JSON sample ({error})") from None
    return json.dumps(validate_sample("proxylessnas", sample, **space_kwargs("proxylessnas")), sort_keys=True)


def register() -> None:
    """Register ``proxylessnas`` (ImageNet-shaped: 1000 classes, 224 px; no ground truth)."""
    register_space(SpaceSpec(
        name="proxylessnas",
        build=_build,
        datasets={"imagenet": (1000, 224)},
        vkdnw_defaults=AUTHORS_MOBILENETV2,
        parse=_canonical,
        arch_help='NNI\'s ProxylessNAS sample as JSON, e.g. {"s2_depth": 2, "s2_i0": "k3e6", ...}',
    ))  # fmt: skip
