"""Import-time shims that let NASLib (automl/NASLib, branch Develop) import on Python 3.10+.

NASLib itself is never edited. Two problems are handled before ``import naslib``:

* ``from collections import Iterable`` (removed in Python 3.10) in NASLib's graph kernels:
  ``collections.Iterable`` & co. are aliased to their ``collections.abc`` classes;
* ``torchvision`` is imported by ``naslib.utils`` and the search-space primitives, but only CIFAR /
  Taskonomy loaders use it. When the real torchvision imports, it is used. When it cannot be
  imported (absent, or a wheel built for another torch: "operator torchvision::nms does not exist"),
  a stub package is put in ``sys.modules``: ``torchvision.datasets``, ``.transforms``,
  ``.transforms.functional`` and ``.models``, whose capitalised attributes are placeholder classes
  (NASLib subclasses ``transforms.Compose``) and whose other attributes are functions raising
  ``ImportError`` when called. Only data loading from disk then fails, with a message saying why.
"""

from __future__ import annotations

import collections
import collections.abc
import importlib
import sys
import types

__all__ = ["apply_shims", "torchvision_is_stub", "import_naslib"]

_STUB_FLAG = "__vkdnw_naslib_stub__"
_SUBMODULES = ("datasets", "transforms", "transforms.functional", "models", "utils", "io", "ops")


def _alias_collections() -> None:
    for name in ("Iterable", "Mapping", "MutableMapping", "Sequence", "Callable", "Hashable", "Set"):
        if not hasattr(collections, name):
            setattr(collections, name, getattr(collections.abc, name))


def _unavailable(qualname: str):
    def fail(*args, **kwargs):
        raise ImportError(
            f"{qualname} needs torchvision, which cannot be imported beside this torch; "
            "install the torchvision build matching your torch to load image datasets from disk"
        )

    fail.__name__ = qualname.rsplit(".", 1)[-1]
    return fail


class _StubModule(types.ModuleType):
    """A module whose unknown attributes are placeholders: classes for capitalised names, failing
    functions otherwise."""

    def __getattr__(self, name: str):
        if name.startswith("__"):
            raise AttributeError(name)
        qualname = f"{self.__name__}.{name}"
        if name[:1].isupper():

            def __init__(self, *args, **kwargs):
                self.args, self.kwargs = args, kwargs

            def __call__(self, *args, **kwargs):
                raise ImportError(_unavailable(type(self).__qualname__).__doc__ or f"{qualname} needs torchvision")

            value = type(name, (), {"__init__": __init__, "__call__": __call__, "__module__": self.__name__,
                                    "__qualname__": qualname})
        else:
            value = _unavailable(qualname)
        setattr(self, name, value)
        return value


def _install_torchvision_stub() -> None:
    root = _StubModule("torchvision")
    root.__path__ = []  # a package, so "import torchvision.x.y" resolves through sys.modules
    root.__version__ = "0.0.0+vkdnw_naslib_stub"
    setattr(root, _STUB_FLAG, True)
    sys.modules["torchvision"] = root
    for sub in _SUBMODULES:
        module = _StubModule(f"torchvision.{sub}")
        module.__path__ = []
        setattr(module, _STUB_FLAG, True)
        sys.modules[module.__name__] = module
        parent_name, _, leaf = module.__name__.rpartition(".")
        setattr(sys.modules[parent_name], leaf, module)


def _forget_torchvision(stub_only: bool = False) -> None:
    """Drop ``torchvision`` and its submodules from ``sys.modules`` (only this module's stub if ``stub_only``)."""
    for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
        if not stub_only or getattr(sys.modules[name], _STUB_FLAG, False):
            del sys.modules[name]


def _torchvision_importable() -> bool:
    if "torchvision" in sys.modules:
        return True
    try:
        importlib.import_module("torchvision")
        importlib.import_module("torchvision.transforms")
        importlib.import_module("torchvision.datasets")
    except Exception:  # noqa: BLE001 - any failure (ImportError, RuntimeError from ops) means "use the stub"
        _forget_torchvision()
        return False
    return True


def torchvision_is_stub() -> bool:
    """Whether ``torchvision`` in ``sys.modules`` is this module's stub."""
    return bool(getattr(sys.modules.get("torchvision"), _STUB_FLAG, False))


def apply_shims() -> None:
    """Idempotently apply both shims (real torchvision is preferred when it imports)."""
    _alias_collections()
    if not _torchvision_importable():
        _install_torchvision_stub()


def import_naslib():
    """``import naslib`` after :func:`apply_shims`; the module, or ``ImportError`` as raised.

    Without NASLib the torchvision stub is taken out again, so other libraries (e.g. torchmetrics,
    which probes ``find_spec("torchvision")``) never see it."""
    apply_shims()
    try:
        return importlib.import_module("naslib")
    except ImportError:
        _forget_torchvision(stub_only=True)
        raise
