"""The search-space registry: :class:`SpaceSpec` says what a space provides, :func:`register_space`
adds one, :func:`get_space` finds one by name or alias (loading plugins' entry points on demand).
Torch-free: a space's ``build`` imports torch when it is called."""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..options import OptionError, check_count
from ..plugins import SPACES_GROUP, failure_note, load_plugins

__all__ = ["SpaceSpec", "get_space", "list_spaces", "register_space", "select_subset", "space_names"]

_SAMPLE = re.compile(r"^sample:(\d+)(?:@([\w-]+))?$")


@dataclass(frozen=True)
class SpaceSpec:
    """One search space.

    ``build(arch, num_classes) -> nn.Module`` builds the network of a canonical architecture text;
    ``datasets`` maps each dataset to ``(num_classes, input resolution in pixels)``, the first being
    the default. Optional: ``ground_truth(dataset[, path]) -> {arch: test accuracy in %}`` (benchmark
    order; ``path`` is a file the user named with ``--table``), ``aliases``, ``vkdnw_defaults``
    (:class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions` fields the space defaults to, e.g. the authors'
    ``tensor_policy="random", n_quantiles=11`` for MobileNetV2-type spaces), ``arch_features(arch) ->
    {name: float}`` (read off the architecture text: model-driven features and ``--proxies`` baselines),
    ``sample_archs(archs, subset, seed) -> [arch]`` (the subsets ``vkdnw evaluate --archs`` accepts,
    listed in ``subsets``; default :func:`select_subset`), ``parse(arch) -> canonical text`` (every
    accepted spelling; ``ValueError`` naming the bad part), ``arch_help`` (what an architecture looks
    like) and ``accuracy`` (what the ground truth measures)."""

    name: str
    build: Callable[[str, int], Any]
    datasets: Mapping[str, tuple[int, int]]
    ground_truth: Callable[..., Mapping[str, float]] | None = None
    aliases: tuple[str, ...] = ()
    vkdnw_defaults: Mapping[str, Any] | None = None
    arch_features: Callable[[str], Mapping[str, float]] | None = None
    sample_archs: Callable[[Sequence[str], str, int], list[str]] | None = None
    parse: Callable[[Any], str] | None = None
    arch_help: str = "an architecture of the space"
    accuracy: str = "test accuracy (%)"
    subsets: str = "all, sample:N"

    def __post_init__(self):
        if not self.datasets:
            raise ValueError(f"space {self.name!r} declares no dataset")

    @property
    def default_dataset(self) -> str:
        return next(iter(self.datasets))

    def shape(self, dataset: str | None = None) -> tuple[int, int]:
        """``(num_classes, resolution)`` of ``dataset`` (default: the first), or an
        :class:`~vkdnw_plugin.options.OptionError` naming it."""
        dataset = dataset or self.default_dataset
        if dataset not in self.datasets:
            raise OptionError("dataset", dataset, f"not a dataset of space {self.name}; expected one of {', '.join(self.datasets)}")
        return tuple(self.datasets[dataset])

    def canonical(self, arch) -> str:
        """The canonical text of ``arch``; :class:`~vkdnw_plugin.options.OptionError` naming it when bad."""
        if self.parse is None:
            return str(arch)
        try:
            return self.parse(arch)
        except ValueError as error:
            raise OptionError("arch", arch, str(error)) from None

    def features(self, arch: str) -> dict[str, float]:
        """The architecture features of ``arch`` (empty without ``arch_features``)."""
        return {} if self.arch_features is None else {k: float(v) for k, v in self.arch_features(arch).items()}

    def load_ground_truth(self, dataset: str | None = None, path=None) -> dict[str, float]:
        """``{arch: accuracy}`` of ``dataset`` (benchmark order), read from ``path`` when given."""
        dataset = dataset or self.default_dataset
        self.shape(dataset)
        if self.ground_truth is None:
            raise OptionError("space", self.name, "has no ground truth, so its rankings cannot be evaluated")
        if path is None:
            return dict(self.ground_truth(dataset))
        if "path" not in inspect.signature(self.ground_truth).parameters:
            raise OptionError("table", path, f"space {self.name} reads its ground truth from one place only")
        return dict(self.ground_truth(dataset, path=path))

    def select(self, archs: Sequence[str], subset: str, seed: int = 0) -> list[str]:
        """The architectures of ``subset`` among ``archs`` (benchmark order kept)."""
        return list((self.sample_archs or select_subset)(list(archs), subset, seed))


def select_subset(archs: Sequence[str], subset: str, seed: int = 0, pools: Mapping[str, Callable[[str], bool]] | None = None,
                  default_pool: str = "all") -> list[str]:  # fmt: skip
    """``all``, a named pool, ``sample:N`` (N distinct architectures of ``default_pool``) or
    ``sample:N@POOL``, drawn by ``pandas.Series.sample(n=N, random_state=seed)`` and kept in the
    order of ``archs``. ``pools`` maps pool names to predicates (``all`` is every architecture)."""
    import pandas as pd

    check_count("seed", seed, minimum=0)
    pools = {"all": lambda arch: True, **(pools or {})}
    names = ", ".join([*pools, "sample:N", *(f"sample:N@{p}" for p in pools)])
    match = _SAMPLE.match(subset)
    pool_name = subset if subset in pools else (match.group(2) or default_pool) if match else None
    if pool_name not in pools:
        raise OptionError("subset", subset, f"unknown; expected one of {names}")
    pool = [arch for arch in archs if pools[pool_name](arch)]
    if not match:
        return pool
    n = int(match.group(1))
    if not 1 <= n <= len(pool):
        raise OptionError("subset", subset, f"asks for {n} architectures; {pool_name} has 1..{len(pool)}")
    return list(pd.Series(pool).sample(n=n, random_state=seed).sort_index())


_REGISTRY: dict[str, SpaceSpec] = {}
_ALIASES: dict[str, str] = {}


def register_space(spec: SpaceSpec) -> SpaceSpec:
    """Add ``spec`` under its name and aliases; a name or alias taken already raises ``ValueError``."""
    for name in (spec.name, *spec.aliases):
        if name in _REGISTRY or name in _ALIASES:
            raise ValueError(f"space {name!r} is already registered")
    _REGISTRY[spec.name] = spec
    _ALIASES.update(dict.fromkeys(spec.aliases, spec.name))
    return spec


def _builtin() -> None:
    from . import nas_bench_macro, nb201  # noqa: F401  (their modules register them)


def get_space(name: str) -> SpaceSpec:
    """The :class:`SpaceSpec` called ``name`` (a name or an alias), loading plugins when needed;
    :class:`~vkdnw_plugin.options.OptionError` listing the known names otherwise."""
    if isinstance(name, SpaceSpec):
        return name
    _builtin()
    if name not in _REGISTRY and name not in _ALIASES:
        load_plugins(SPACES_GROUP, name)
    if name not in _REGISTRY and name not in _ALIASES:
        load_plugins(SPACES_GROUP)
    if name in _ALIASES:
        name = _ALIASES[name]
    if name not in _REGISTRY:
        aliases = f" (or an alias: {', '.join(sorted(_ALIASES))})" if _ALIASES else ""
        raise OptionError("space", name, f"unknown; expected one of {', '.join(sorted(_REGISTRY))}{aliases}{failure_note(SPACES_GROUP)}")
    return _REGISTRY[name]


def list_spaces() -> list[str]:
    """Registered space names (plugins included, aliases not), sorted."""
    _builtin()
    load_plugins(SPACES_GROUP)
    return sorted(_REGISTRY)


def space_names() -> list[str]:
    """Every name :func:`get_space` accepts: names and aliases, sorted."""
    return sorted([*_REGISTRY, *_ALIASES])
