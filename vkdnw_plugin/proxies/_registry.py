"""The proxy registry (timm-style): ``@register_proxy`` stores a :class:`ProxySpec` per name."""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Callable

__all__ = ["ProxySpec", "register_proxy", "list_proxies", "get_proxy"]


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


_REGISTRY: dict[str, ProxySpec] = {}


def register_proxy(
    name: str,
    higher_is_better: bool = True,
    needs_labels: bool = False,
    requires: tuple[str, ...] = (),
):
    """Decorator registering ``fn`` as proxy ``name``; the docstring of ``fn`` (or of its module)
    becomes ``ProxySpec.doc``. Registering a name twice raises ``ValueError``."""

    def decorate(fn: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"proxy {name!r} is already registered (by {_REGISTRY[name].fn.__module__})")
        doc = inspect.getdoc(fn) or inspect.getdoc(inspect.getmodule(fn)) or ""
        _REGISTRY[name] = ProxySpec(
            name=name,
            fn=fn,
            higher_is_better=higher_is_better,
            needs_labels=needs_labels,
            doc=doc,
            requires=tuple(requires),
        )
        return fn

    return decorate


def list_proxies() -> list[str]:
    """Names of all registered proxies, sorted."""
    return sorted(_REGISTRY)


def get_proxy(name: str) -> ProxySpec:
    """The :class:`ProxySpec` of ``name``; ``ValueError`` listing the registered names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(f"unknown proxy {name!r}; expected one of {', '.join(list_proxies())}") from None
