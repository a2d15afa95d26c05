"""Import-time shims that let NASLib (automl/NASLib, branch Develop) import on Python 3.10+; NASLib is
never edited.

* ``collections.Iterable`` & co. (removed in Python 3.10, imported by NASLib's graph kernels) are
  aliased to their ``collections.abc`` classes;
* ``torchvision`` is imported by ``naslib.utils`` and the search-space primitives but only used by
  the CIFAR / Taskonomy loaders. When it cannot be imported (absent, or a wheel built for another
  torch), a stub package goes into ``sys.modules``: its capitalised attributes are placeholder
  classes (NASLib subclasses ``transforms.Compose``), its other attributes functions raising
  ``ImportError`` when called, so only loading data from disk fails, saying why.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib
import sys
import types

__all__ = ["apply_shims", "import_naslib", "torchvision_is_stub"]

_STUB_FLAG = "__vkdnw_naslib_stub__"
_SUBMODULES = ("datasets", "transforms", "transforms.functional", "models", "utils", "io", "ops")


def _unavailable(qualname: str):
    def fail(*args, **kwargs):
        raise ImportError(f"{qualname} needs torchvision, which cannot be imported beside this torch; "
                          "install the torchvision build matching your torch to load image datasets from disk")

    fail.__name__ = qualname.rsplit(".", 1)[-1]
    return fail


class _StubModule(types.ModuleType):
    """A package whose unknown attributes are placeholder classes (capitalised names) or failing functions."""

    def __init__(self, name: str):
        super().__init__(name)
        self.__path__ = []  # a package, so "import torchvision.x.y" resolves through sys.modules
        setattr(self, _STUB_FLAG, True)

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        qualname = f"{self.__name__}.{name}"
        if name[:1].isupper():
            def __init__(self, *args, **kwargs):
                self.args, self.kwargs = args, kwargs

            value = type(name, (), {"__init__": __init__, "__call__": _unavailable(qualname), "__module__": self.__name__})
        else:
            value = _unavailable(qualname)
        setattr(self, name, value)
        return value


def _install_torchvision_stub() -> None:
    sys.modules["torchvision"] = root = _StubModule("torchvision")
    root.__version__ = "0.0.0+vkdnw_naslib_stub"
    for sub in _SUBMODULES:
        module = sys.modules[f"torchvision.{sub}"] = _StubModule(f"torchvision.{sub}")
        parent, _, leaf = module.__name__.rpartition(".")
        setattr(sys.modules[parent], leaf, module)


def _forget_torchvision(stub_only: bool = False) -> None:
    """Drop ``torchvision`` and its submodules from ``sys.modules`` (only this module's stub if ``stub_only``)."""
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        if not stub_only or getattr(sys.modules[name], _STUB_FLAG, False):
            del sys.modules[name]


def torchvision_is_stub() -> bool:
    """Whether ``torchvision`` in ``sys.modules`` is this module's stub."""
    return bool(getattr(sys.modules.get("torchvision"), _STUB_FLAG, False))


def apply_shims() -> None:
    """Idempotently apply both shims (the real torchvision is used when it imports)."""
    for name in ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable", "Hashable", "Set"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))
    if "torchvision" in sys.modules:
        return
    try:
        for name in ("torchvision", "torchvision.transforms", "torchvision.datasets"):
            importlib.import_module(name)
    except Exception:  # noqa: BLE001 - any failure (ImportError, RuntimeError from ops) means "use the stub"
        _forget_torchvision()
        _install_torchvision_stub()


def import_naslib():
    """``import naslib`` after :func:`apply_shims`. Without NASLib the torchvision stub is taken out again,
    so other libraries (e.g. torchmetrics, which probes ``find_spec("torchvision")``) never see it."""
    apply_shims()
    try:
        return importlib.import_module("naslib")
    except ImportError:
        _forget_torchvision(stub_only=True)
        raise
