"""What ``vkdnw evaluate`` computes: :class:`EvaluateConfig` (checked on construction) and the names
of its score columns (proxies computed per network, per Fisher mode, in the collection, or read off
the architecture)."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .executors import check_scheduler
from .options import (
    DEFAULT_THREADS,
    MODES,
    OptionError,
    check_count,
    check_device,
    check_names,
    check_seeds,
    check_workers_threads,
)
from .ranking import AGG_COMPONENTS, nb201_graph_features
from .scoring import check_space_dataset, space_options
from .spaces.nas_bench_macro import layer_features

VKDNW_PROXIES = ("vkdnw", "vkdnw_single")  # computed per Fisher mode by the engine
DERIVED = ("vkdnw_agg", "model_driven")  # computed inside the collection from other proxies
ARCH_FEATURES = {"nb201": (), "nas-bench-macro": ("blocks",)}  # read off the architecture text, no network
ARCH_FEATURE_TABLES = {"nb201": nb201_graph_features, "nas-bench-macro": layer_features}  # model_driven's set (c)
MODEL_DRIVEN_BASE = ("vkdnw", "n_layers", "flops")
NO_MODE = "-"


@dataclass
class EvaluateConfig:
    """What ``vkdnw evaluate`` scores; ``archs`` are the space's canonical architecture texts (NB201
    arch strings, NAS-Bench-Macro codes). Every field is checked on construction
    (:class:`~vkdnw_plugin.options.OptionError` naming it)."""

    dataset: str
    proxies: list[str]
    archs: list[str]
    seeds: list[int]
    modes: list[str]
    batch: int = 64
    workers: int = 1
    threads: int = DEFAULT_THREADS  # torch threads per worker
    space: str = "nb201"
    md_train: int = 1024
    imported: dict[str, pd.Series] = field(default_factory=dict)
    agg_components: tuple[str, ...] = AGG_COMPONENTS  # proxies, or imported columns ("suite0:jacov")
    scheduler: str | None = None  # Dask: tcp://HOST:PORT or local:N; None: local worker processes
    direction: str = "auto"  # Jacobian direction of the VKDNW engine
    compile: bool = False  # reverse mode through compiled repeating blocks
    device: str = "cpu"  # where each network is scored: cpu, cuda, cuda:N
    n_tensors: int | None = None  # VKDNW's sampled tensors, policy and quantiles; None: the space's (the authors')
    tensor_policy: str | None = None
    n_quantiles: int | None = None

    def __post_init__(self):
        check_space_dataset(self.space, self.dataset)
        check_names("proxies", self.proxies, available_proxies(self.space))
        self.vkdnw_options()  # the engine's own check of direction and the space's options
        check_device(self.device)
        check_names("modes", self.modes, MODES)
        if len(self.archs) < 3:
            raise OptionError("archs", len(self.archs), "too few architectures; ranking metrics need at least 3")
        check_seeds(self.seeds)
        check_count("batch", self.batch)
        check_count("md_train", self.md_train)
        check_workers_threads(self.workers, self.threads)
        check_scheduler(self.scheduler, self.workers, self.threads)
        self._check_agg_components()

    def vkdnw_options(self) -> dict:
        """Keywords of the VKDNW engine: the space's defaults overridden by the options given."""
        return space_options(self.space, direction=self.direction, compile=self.compile, n_tensors=self.n_tensors,
                             tensor_policy=self.tensor_policy, n_quantiles=self.n_quantiles)

    def cache_options(self) -> dict:
        """Every scoring option besides the cache's own key columns that changes a score: the VKDNW
        options, the input resolution (pixels) and the device type."""
        resolution = check_space_dataset(self.space, self.dataset)[1]
        return {**self.vkdnw_options(), "resolution": resolution, "device": self.device.split(":")[0]}

    def _check_agg_components(self) -> None:
        components = list(self.agg_components)
        per_network = [p for p in available_proxies(self.space) if p not in DERIVED]
        bad = [c for c in components if c not in per_network and c not in self.imported]
        if not components:
            raise OptionError("agg_components", components, "no component given")
        if bad:
            hint = " (imported columns need --import-scores)" if any(is_imported(c) for c in bad) else ""
            raise OptionError("agg_components", components, f"unknown {', '.join(bad)}{hint}; expected proxies of "
                              f"{', '.join(per_network)} or imported columns like suite0:jacov")  # fmt: skip


def available_proxies(space: str = "nb201") -> list[str]:
    """Names ``--proxies`` accepts in ``space``: the engine's, the registry's, the collection-level
    ones, and the space's architecture features (:data:`ARCH_FEATURES`)."""
    from .proxies import list_proxies

    return sorted(set(VKDNW_PROXIES) | set(list_proxies()) | set(DERIVED) | set(ARCH_FEATURES[space]))


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
    per_mode = proxy in VKDNW_PROXIES + DERIVED or proxy.startswith("vkdnw_q")
    return f"{proxy}[{mode}]" if per_mode and len(modes) > 1 else proxy

