"""What ``vkdnw evaluate`` computes: :class:`EvaluateConfig` (checked on construction) and the names
of its score columns (proxies computed per network, per Fisher mode, in the collection, or read off
the architecture)."""

from __future__ import annotations

import dataclasses
from dataclasses import InitVar, dataclass, field

import pandas as pd

from .executors import check_scheduler
from .options import OptionError, check_count, check_names, check_seeds, check_workers_threads
from .ranking import AGG_COMPONENTS
from .spaces import get_space
from .vkdnw_options import VKDNWOptions, warn_deprecated

DERIVED = ("vkdnw_agg", "model_driven")  # computed inside the collection from other proxies
MODEL_DRIVEN_BASE = ("vkdnw", "n_layers", "flops")
# VKDNWOptions fields that EvaluateConfig took directly until the options object existed.
_OLD_FIELDS = ("modes", "batch", "threads", "direction", "compile", "device", "n_tensors", "tensor_policy", "n_quantiles")


def vkdnw_proxies() -> list[str]:
    """Registered proxies read off the VKDNW result (computed per Fisher mode), aliases included."""
    from .proxies import get_proxy, list_aliases, list_proxies

    return [name for name in [*list_proxies(), *list_aliases()] if get_proxy(name).from_vkdnw is not None]


@dataclass
class EvaluateConfig:
    """What ``vkdnw evaluate`` scores: ``archs`` (canonical texts of architectures of ``space``) ×
    ``seeds`` with ``proxies`` under ``options`` (:class:`~vkdnw_plugin.vkdnw_options.VKDNWOptions`,
    completed with the space's defaults). Every field is checked on construction
    (:class:`~vkdnw_plugin.options.OptionError` naming it). The options' fields given directly
    (``modes=``, ``batch=``, ...) still work, with a deprecation warning."""

    dataset: str
    proxies: list[str]
    archs: list[str]
    seeds: list[int]
    options: VKDNWOptions = field(default_factory=VKDNWOptions)
    workers: int = 1
    space: str = "nb201"
    md_train: int = 1024
    imported: dict[str, pd.Series] = field(default_factory=dict)
    agg_components: tuple[str, ...] = AGG_COMPONENTS  # proxies, or imported columns ("suite0:jacov")
    scheduler: str | None = None  # Dask: tcp://HOST:PORT or local:N; None: local worker processes
    modes: InitVar[list | None] = None
    batch: InitVar[int | None] = None
    threads: InitVar[int | None] = None
    direction: InitVar[str | None] = None
    compile: InitVar[bool | None] = None
    device: InitVar[str | None] = None
    n_tensors: InitVar[int | None] = None
    tensor_policy: InitVar[str | None] = None
    n_quantiles: InitVar[int | None] = None

    def __post_init__(self, *old):
        given = {name: value for name, value in zip(_OLD_FIELDS, old) if value is not None}
        for name in given:
            warn_deprecated(f"EvaluateConfig({name}=...)", f"EvaluateConfig(options=VKDNWOptions({name}=...))")
        spec = get_space(self.space)
        self.space = spec.name
        self.options = self.options.replace(**given).for_space(spec, self.dataset)
        if len(self.archs) < 3:
            raise OptionError("archs", len(self.archs), "too few architectures; ranking metrics need at least 3")
        check_names("proxies", self.proxies, available_proxies(self.space, self.archs))
        check_seeds(self.seeds)
        check_count("md_train", self.md_train)
        check_workers_threads(self.workers, self.options.threads)
        check_scheduler(self.scheduler, self.workers, self.options.threads)
        self._check_agg_components()

    def with_seeds(self, seeds) -> EvaluateConfig:
        """The same configuration on other ``seeds``."""
        return dataclasses.replace(self, seeds=list(seeds))

    def _check_agg_components(self) -> None:
        components = list(self.agg_components)
        per_network = [p for p in available_proxies(self.space, self.archs) if p not in DERIVED]
        bad = [c for c in components if c not in per_network and c not in self.imported]
        if not components:
            raise OptionError("agg_components", components, "no component given")
        if bad:
            hint = " (imported columns need --import-scores)" if any(is_imported(c) for c in bad) else ""
            raise OptionError("agg_components", components, f"unknown {', '.join(bad)}{hint}; expected proxies of "
                              f"{', '.join(per_network)} or imported columns like suite0:jacov")  # fmt: skip


def arch_feature_names(space: str, archs=()) -> list[str]:
    """The architecture features of ``space`` (read off the first of ``archs``)."""
    return list(get_space(space).features(archs[0])) if len(archs) else []


def available_proxies(space: str = "nb201", archs=()) -> list[str]:
    """Names ``--proxies`` accepts in ``space``: the registry's (aliases too), the collection-level
    ones, and the space's architecture features."""
    from .proxies import list_aliases, list_proxies

    return sorted({*list_proxies(), *list_aliases(), *DERIVED, *arch_feature_names(space, archs)})


def is_imported(name: str) -> bool:
    """Whether a score column comes from ``--import-scores`` (``naslib:<proxy>``, ``suite0:<proxy>``)."""
    return ":" in name


def computed_proxies(proxies, agg_components=AGG_COMPONENTS) -> list[str]:
    """Per-network proxies needed for ``proxies`` (derived ones expanded into their inputs; imported
    VKDNW_agg components need no computing)."""
    needed = []
    for name in proxies:
        if name == "vkdnw_agg":
            expanded = [c for c in agg_components if not is_imported(c)]
        else:
            expanded = MODEL_DRIVEN_BASE if name == "model_driven" else (name,)
        needed += [p for p in expanded if p not in needed]
    return needed


def column_name(proxy: str, mode: str, modes) -> str:
    """Column name: VKDNW-derived values (incl. ``vkdnw_q*`` spectrum features) get ``[mode]`` when
    several Fisher modes are evaluated together."""
    per_mode = proxy in (*vkdnw_proxies(), *DERIVED) or proxy.startswith("vkdnw_q")
    return f"{proxy}[{mode}]" if per_mode and len(modes) > 1 else proxy
