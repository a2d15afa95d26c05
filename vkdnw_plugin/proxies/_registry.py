"""The proxy registry (timm-style): ``@register_proxy`` stores a :class:`ProxySpec` per name, and
``aliases`` give a proxy further names (``vkdnw_entropy`` is ``vkdnw``), so that each name means one
quantity at every door (the core, NASLib's ``ZeroCost``, the NNI trial). Plugins add proxies through
``vkdnw_plugin.proxies`` entry points (:mod:`vkdnw_plugin.plugins`), loaded on the first lookup of a
name not registered here and when the registry is listed."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from ..plugins import PROXIES_GROUP, failure_note, load_plugins

__all__ = ["ProxySpec", "canonical_name", "get_proxy", "list_aliases", "list_proxies", "register_proxy"]


@dataclass(frozen=True)
class ProxySpec:
    """One registered zero-cost proxy.

    ``fn(model, inputs, targets=None, *, context=None) -> float`` scores one network.
    ``requires`` names the shared intermediate results (see :class:`~._context.ProxyContext`) the
    proxy reads, so :func:`compute_proxies` can compute them once for all requested proxies.
    ``higher_is_better=False`` makes every ranking, aggregation and metric of the package use the
    negated score; ``needs_labels`` proxies are given labels (seeded random ones when none exist).
    ``from_vkdnw(result) -> float`` marks a proxy read off the VKDNW result, computed once per
    Fisher mode from one engine call (``vkdnw``, ``vkdnw_single``).
    """

    name: str
    fn: Callable
    higher_is_better: bool = True
    needs_labels: bool = False
    doc: str = ""
    requires: tuple[str, ...] = field(default=())
    aliases: tuple[str, ...] = field(default=())
    from_vkdnw: Callable | None = None


_REGISTRY: dict[str, ProxySpec] = {}
_ALIASES: dict[str, str] = {}  # alias -> registered name


def register_proxy(
    name: str,
    higher_is_better: bool = True,
    needs_labels: bool = False,
    requires: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
    from_vkdnw: Callable | None = None,
):
    """Decorator registering ``fn`` as proxy ``name`` (and under each of ``aliases``); the docstring
    of its module (which cites the paper and says what the proxy measures), else of ``fn``, becomes
    ``ProxySpec.doc``. Registering a name or alias twice raises ``ValueError``."""

    def decorate(fn: Callable) -> Callable:
        for new in (name, *aliases):
            if new in _REGISTRY or new in _ALIASES:
                owner = _REGISTRY[canonical_name(new)].fn.__module__
                raise ValueError(f"proxy {new!r} is already registered (by {owner})")
        module = inspect.getmodule(fn)
        module_doc = inspect.getdoc(module) if module is not None and module.__name__ != "__main__" else None
        doc = module_doc or inspect.getdoc(fn) or ""
        _REGISTRY[name] = ProxySpec(
            name=name,
            fn=fn,
            higher_is_better=higher_is_better,
            needs_labels=needs_labels,
            doc=doc,
            requires=tuple(requires),
            aliases=tuple(aliases),
            from_vkdnw=from_vkdnw,
        )
        _ALIASES.update(dict.fromkeys(aliases, name))
        return fn

    return decorate


def list_proxies() -> list[str]:
    """Registered names of all proxies (plugins included, aliases not), sorted."""
    load_plugins(PROXIES_GROUP)
    return sorted(_REGISTRY)


def list_aliases() -> dict[str, str]:
    """``{alias: registered name}`` of every alias, sorted by alias."""
    load_plugins(PROXIES_GROUP)
    return dict(sorted(_ALIASES.items()))


def canonical_name(name: str) -> str:
    """The registered name behind ``name`` (itself, or the proxy it is an alias of), loading plugins
    when needed; ``ValueError`` listing the known names otherwise."""
    for attempt in (None, name, ""):
        if attempt is not None:
            load_plugins(PROXIES_GROUP, attempt or None)
        if name in _REGISTRY:
            return name
        if name in _ALIASES:
            return _ALIASES[name]
    known = sorted([*_REGISTRY, *_ALIASES])
    raise ValueError(f"unknown proxy {name!r}; expected one of {', '.join(known)}{failure_note(PROXIES_GROUP)}")


def get_proxy(name: str) -> ProxySpec:
    """The :class:`ProxySpec` of ``name`` (a registered name or an alias); ``ValueError`` listing the
    known names otherwise."""
    return _REGISTRY[canonical_name(name)]
