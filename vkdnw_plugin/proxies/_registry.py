"""The proxy registry (timm-style): ``@register_proxy`` stores a :class:`ProxySpec` per name, and
``aliases`` give a proxy further names (``vkdnw_entropy`` is ``vkdnw``), so that each name means one
quantity at every door (the core, NASLib's ``ZeroCost``, the NNI trial)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["ProxySpec", "canonical_name", "get_proxy", "list_aliases", "list_proxies", "register_proxy"]


@dataclass(frozen=True)
class ProxySpec:
    """One registered zero-cost proxy.

    ``fn(model, inputs, targets=None, *, context=None) -> float`` scores one network.
    ``requires`` names the shared intermediate results (see :class:`~._context.ProxyContext`) the
    proxy reads, so :func:`compute_proxies` can compute them once for all requested proxies.
    """

    name: str
    fn: Callable
    higher_is_better: bool = True
    needs_labels: bool = False
    doc: str = ""
    requires: tuple[str, ...] = field(default=())
    aliases: tuple[str, ...] = field(default=())


_REGISTRY: dict[str, ProxySpec] = {}
_ALIASES: dict[str, str] = {}  # alias -> registered name


def register_proxy(
    name: str,
    higher_is_better: bool = True,
    needs_labels: bool = False,
    requires: tuple[str, ...] = (),
    aliases: tuple[str, ...] = (),
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
        )
        _ALIASES.update(dict.fromkeys(aliases, name))
        return fn

    return decorate


def list_proxies() -> list[str]:
    """Registered names of all proxies (aliases not included), sorted."""
    return sorted(_REGISTRY)


def list_aliases() -> dict[str, str]:
    """``{alias: registered name}`` of every alias, sorted by alias."""
    return dict(sorted(_ALIASES.items()))


def canonical_name(name: str) -> str:
    """The registered name behind ``name`` (itself, or the proxy it is an alias of); ``ValueError``
    listing the known names otherwise."""
    if name in _REGISTRY:
        return name
    if name in _ALIASES:
        return _ALIASES[name]
    known = sorted([*_REGISTRY, *_ALIASES])
    raise ValueError(f"unknown proxy {name!r}; expected one of {', '.join(known)}")


def get_proxy(name: str) -> ProxySpec:
    """The :class:`ProxySpec` of ``name`` (a registered name or an alias); ``ValueError`` listing the
    known names otherwise."""
    return _REGISTRY[canonical_name(name)]
