"""VKDNW inside NASLib (automl/NASLib): measures, the ``vkdnw_agg`` predictor, an nDCG evaluator,
zero-cost-driven regularized evolution and the ``vkdnw-naslib`` command.

``import vkdnw_naslib`` imports NASLib (after the Python 3.10+ shims of :mod:`._compat`) and
registers every proxy of the core registry NASLib lacks as a NASLib measure (:mod:`.measures`), so
``naslib.predictors.ZeroCost(method_type="vkdnw_single")`` works. Importing twice is harmless.
Without NASLib the import raises ``ImportError`` saying how to install it (see ``docs/naslib.md``).
"""

from __future__ import annotations

import importlib

INSTALL_HELP = """\
vkdnw_naslib needs NASLib, which is not on PyPI. Install it like this (Python 3.10+):
    pip install "vkdnw-plugin[naslib]"                        # NASLib's runtime imports
    pip install --no-deps pybnn nasbench-pytorch tensorwatch  # without their pinned CUDA torch
    git clone -b Develop https://github.com/automl/NASLib.git
    python -c "import pathlib, site; pathlib.Path(site.getsitepackages()[0], 'naslib_src.pth').write_text(str(pathlib.Path('NASLib').resolve()))"
(NASLib's setup.py refuses Python > 3.9, so `pip install ./NASLib` fails; the .pth file puts its source on the path.)
Full instructions: docs/naslib.md"""


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

_LAZY = {"VKDNWAggPredictor": ".predictor", "make_predictor": ".predictor", "predictor_names": ".predictor",
         "NDCGZeroCostEvaluator": ".evaluator", "ZeroCostRegularizedEvolution": ".search", "run_search": ".search"}

__all__ = ["INSTALL_HELP", "OUR_MEASURES", "configure", "register_measures", *_LAZY]


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(importlib.import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
