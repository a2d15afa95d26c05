"""The seeded scoring protocol and the adapters' one entry point, owned once: architecture → network →
``torch.manual_seed(seed)``, build, the authors' initialisation, ``torch.randn`` input → every
requested score. Every door (``vkdnw score``, ``vkdnw evaluate``, the NNI evaluator, trial and tuner,
NASLib's measures) scores a network through :func:`score_network`, so the same architecture and
options give the same number everywhere; the options get the search space's defaults
(:meth:`~vkdnw_plugin.vkdnw_options.VKDNWOptions.for_space`).
"""

from __future__ import annotations

import functools
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import nn

from .engine import VKDNWResult
from .options import OptionError, check_count, use_threads
from .spaces import SpaceSpec, get_space
from .vkdnw_options import VKDNWOptions


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


NO_MODE = "-"  # the mode column of a score that does not depend on the Fisher mode
MEMO_SIZE = 256  # networks whose scores are remembered in-process (a few hundred kB each)


@dataclass
class _Known:
    """What was computed for one (space, arch, dataset, classes, options): VKDNW results per mode and
    ``{proxy: (value, seconds)}``."""

    results: dict = field(default_factory=dict)
    values: dict = field(default_factory=dict)


_MEMO: OrderedDict[tuple, _Known] = OrderedDict()


@dataclass(frozen=True)
class NetworkScores:
    """Every requested score of one network.

    ``rows``: ``(proxy, mode, value, fields)`` per score, as the result cache stores them (``mode`` is
    :data:`NO_MODE` for scores that do not depend on the Fisher mode; ``fields`` holds ``dim``,
    ``valid``, ``reason``, ``seconds`` and the spectrum ``vkdnw_q1…`` of VKDNW scores); ``results``: the
    engine's :class:`~vkdnw_plugin.engine.VKDNWResult` per mode (empty when no VKDNW proxy was asked);
    ``options``: the options after the space's defaults were filled in."""

    space: str | None
    arch: str | None
    dataset: str
    options: VKDNWOptions
    results: dict[str, VKDNWResult]
    rows: list[tuple[str, str, float, dict]]

    def values(self, mode: str | None = None) -> dict[str, float]:
        """``{proxy: value}`` of ``mode`` (default: the first of the options' modes)."""
        mode = mode or self.options.modes[0]
        return {proxy: value for proxy, row_mode, value, _ in self.rows if row_mode in (mode, NO_MODE)}


class Setup(NamedTuple):
    """A network ready to score: ``model`` and ``inputs`` (B, 3, r, r) of the protocol, the canonical
    ``arch`` (``None`` for a build function), the ``dataset`` and the filled-in ``options``."""

    model: nn.Module
    inputs: torch.Tensor
    arch: str | None
    dataset: str
    options: VKDNWOptions
    num_classes: int


def seeded_setup(space, arch_or_build, options: VKDNWOptions | None = None, *, dataset: str | None = None,
                 num_classes: int | None = None) -> Setup:  # fmt: skip
    """The protocol's :class:`Setup`: seed, build, initialise, ``randn(batch, 3, r, r)`` with ``r`` the
    options' resolution (default: the dataset's), on the options' device. ``arch_or_build``: any
    spelling of an architecture ``space`` parses, or a zero-argument function building a network;
    ``num_classes`` overrides the dataset's classifier width. ``space=None`` scores a build function
    with the engine's defaults (the options must give the resolution)."""
    spec = None if space is None else get_space(space)
    dataset = dataset or (spec.default_dataset if spec else None)
    classes = check_count("num_classes", num_classes) if num_classes is not None else spec.shape(dataset)[0] if spec else None
    options = (options or VKDNWOptions()).for_space(spec, dataset)
    if callable(arch_or_build):
        arch, build = None, arch_or_build
    elif spec is None:
        raise OptionError("space", None, "needed to build an architecture (or pass a function building the network)")
    else:
        arch = spec.canonical(arch_or_build)
        build = functools.partial(spec.build, arch, classes)
    shape = (options.batch, 3, options.resolution, options.resolution)
    model, inputs = reference_setup(build, options.seed, shape, options.device)
    return Setup(model, inputs, arch, dataset, options, classes)


def _components(spec: SpaceSpec | None, arch: str | None, components) -> tuple[dict[str, float], list[str], list[str]]:
    """``components`` split into the requested architecture features (with their values), VKDNW
    proxies and other registry proxies."""
    from .proxies import get_proxy

    components = [components] if isinstance(components, str) else list(components)
    features = spec.features(arch) if spec is not None and arch is not None else {}
    requested, vkdnw_proxies, plain = {}, [], []
    for name in components:
        if name in features:
            requested[name] = features[name]
            continue
        try:
            proxy = get_proxy(name)
        except ValueError as error:
            raise OptionError("components", name, str(error).partition("; ")[2] or str(error)) from None
        (vkdnw_proxies if proxy.from_vkdnw is not None else plain).append(name)
    return requested, vkdnw_proxies, plain


def score_network(space, arch_or_build, options: VKDNWOptions | None = None, components=("vkdnw", "vkdnw_single"), *,
                  dataset: str | None = None, num_classes: int | None = None) -> NetworkScores:  # fmt: skip
    """Score one network of ``space`` under the seeded protocol: the adapters' one entry point.

    ``arch_or_build``: any spelling of an architecture the space parses (NB201: arch string, index,
    NASLib tuple, NNI edge dict), or a zero-argument function building the network. ``options``
    default to :class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions` and get the space's defaults;
    ``components``: registry proxies (aliases too) and the space's architecture features;
    ``dataset`` (default: the space's first) sets the classifier width (``num_classes`` overrides
    it) and the input resolution. VKDNW proxies come from one engine call for all modes, every other
    proxy from one :func:`~vkdnw_plugin.proxies.compute_proxies` on the same model and inputs. What
    was computed for the last :data:`MEMO_SIZE` architectures (not build functions) is remembered, so a
    later call computes only the components it adds (the VKDNW proxies share one engine call)."""
    from .engine import vkdnw_scores
    from .proxies import compute_proxies, get_proxy

    spec = None if space is None else get_space(space)
    dataset = dataset or (spec.default_dataset if spec else None)
    filled = (options or VKDNWOptions()).for_space(spec, dataset)
    arch = None if callable(arch_or_build) or spec is None else spec.canonical(arch_or_build)
    features, vkdnw_proxies, plain = _components(spec, arch, components)
    key = (spec and spec.name, arch, dataset, num_classes, filled)
    known = _MEMO.get(key, _Known()) if arch is not None else _Known()
    missing = [name for name in plain if name not in known.values]
    if (vkdnw_proxies and not known.results) or missing:
        use_threads(filled.threads)
        model, inputs = seeded_setup(spec, arch or arch_or_build, filled, dataset=dataset, num_classes=num_classes)[:2]
        if vkdnw_proxies and not known.results:
            known.results = vkdnw_scores(model, inputs, filled)
        if missing:
            started = time.perf_counter()
            values = compute_proxies(model, inputs, missing, seed=filled.seed)
            seconds = (time.perf_counter() - started) / len(missing)
            known.values.update({name: (values[name], seconds) for name in missing})
    rows = [(name, NO_MODE, value, {}) for name, value in features.items()]
    for mode, result in known.results.items() if vkdnw_proxies else ():
        fields = {"dim": result.dim, "valid": result.valid, "reason": result.reason, "seconds": result.seconds,
                  **{f"vkdnw_q{i + 1}": float(q) for i, q in enumerate(result.deciles)}}  # fmt: skip
        rows += [(name, mode, float(get_proxy(name).from_vkdnw(result)), fields) for name in vkdnw_proxies]
    rows += [(name, NO_MODE, known.values[name][0], {"seconds": known.values[name][1]}) for name in plain]
    if arch is not None:
        _MEMO[key] = known
        _MEMO.move_to_end(key)
        while len(_MEMO) > MEMO_SIZE:
            _MEMO.popitem(last=False)
    return NetworkScores(spec and spec.name, arch, dataset, filled, dict(known.results) if vkdnw_proxies else {}, rows)


def score_architecture(space, arch, *, dataset: str | None = None, options: VKDNWOptions | None = None,
                       **changes) -> dict[str, VKDNWResult]:  # fmt: skip
    """``{mode: VKDNWResult}`` of one architecture under the seeded protocol; ``changes``:
    :class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions` fields (``seed=1, batch=16, modes="exact"``)."""
    options = (options or VKDNWOptions()).replace(**changes)
    return score_network(space, arch, options, ("vkdnw",), dataset=dataset).results
