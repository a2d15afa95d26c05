"""VKDNW inside NASLib (automl/NASLib): measures, the ``vkdnw_agg`` predictor, an nDCG evaluator,
zero-cost-driven regularized evolution and the ``vkdnw-naslib`` command.

``import vkdnw_naslib`` imports NASLib (after the Python 3.10+ shims of :mod:`._compat`) and
registers ``vkdnw``, ``vkdnw_entropy``, ``vkdnw_single``, ``az_expressivity`` and
``az_trainability`` as NASLib measures, so ``naslib.predictors.ZeroCost(method_type="vkdnw")``
works. Importing twice is harmless. Without NASLib the import raises ``ImportError`` saying how
to install it (see ``integrations/vkdnw_naslib/README.md``).
"""

from __future__ import annotations

import importlib

INSTALL_HELP = """\
vkdnw_naslib needs NASLib, which is not on PyPI. Install it like this (Python 3.10+):
    pip install "vkdnw-plugin[naslib]"
    git clone -b Develop https://github.com/automl/NASLib.git
    pip install --no-deps -e ./NASLib     # or: put the NASLib folder on PYTHONPATH / in a .pth file
    pip install pybnn nasbench-pytorch tensorwatch --no-deps
    pip install "scikit-learn<1.6" ConfigSpace networkx fvcore transforms3d lightgbm "ngboost<0.5.11" \\
        emcee pyro-ppl grakel pytorch-msssim scikit-image termcolor pyzmq nbformat pydotz graphviz ipywidgets
(NASLib's own setup.py refuses Python > 3.9 and its pins do not install there; its code runs on 3.11.)
Full instructions: integrations/vkdnw_naslib/README.md"""


def _import_naslib():
    from ._compat import import_naslib

    try:
        import_naslib()
        importlib.import_module("naslib.predictors.utils.pruners.measures")
        importlib.import_module("naslib.predictors")
    except ImportError as exc:
        missing = getattr(exc, "name", None)
        what = "NASLib is not installed" if missing == "naslib" else f"NASLib could not be imported ({exc})"
        raise ImportError(f"{what}.\n{INSTALL_HELP}") from exc


_import_naslib()

from .measures import OUR_MEASURES, configure, register_measures  # noqa: E402

register_measures()

_LAZY = {
    "VKDNWAggPredictor": ".predictor",
    "make_predictor": ".predictor",
    "predictor_names": ".predictor",
    "NDCGZeroCostEvaluator": ".evaluator",
    "ZeroCostRegularizedEvolution": ".search",
    "run_search": ".search",
}

__all__ = ["INSTALL_HELP", "OUR_MEASURES", "configure", "register_measures", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
