"""NNI adapter for the VKDNW zero-cost proxy (``pip install vkdnw-plugin[nni]``).

* :func:`vkdnw_evaluator` / :func:`score_model` — score a sampled model through the core's
  ``score_network`` and report it with ``nni.report_final_result``.
* :class:`VKDNWAggEvolution` (NAS strategy) and :class:`VKDNWEvolutionTuner` (``nnictl`` tuner, trial
  command ``python -m vkdnw_nni.trial``) — rank-aggregation evolution with a hard FLOPs budget.
* :mod:`vkdnw_nni.nb201_db` — offline NAS-Bench-201 sqlite; :mod:`vkdnw_nni.report` — ``vkdnw-nni report``.
"""

from __future__ import annotations

try:
    import nni  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without NNI
    raise ImportError(
        f"vkdnw_nni needs Microsoft NNI (>=2.10), which is not importable ({exc}): "
        "pip install vkdnw-plugin[nni]"
    ) from exc

_EXPORTS = {
    "score_model": "evaluator",
    "evaluate_model": "evaluator",
    "vkdnw_evaluator": "evaluator",
    "VKDNWEvaluator": "evaluator",
    "population_fitness": "tuner",
    "VKDNWAggEvolution": "strategy",
    "VKDNWEvolutionTuner": "tuner",
    "VKDNWTunerClassArgsValidator": "tuner",
    "register_tuner": "tuner",
    "build_space": "spaces",
    "build_model": "spaces",
    "search_space_json": "spaces",
    "count_mflops": "spaces",
    "run_local_search": "search",
}

__all__ = list(_EXPORTS)  # resolved lazily by __getattr__


def __getattr__(name):
    if name in _EXPORTS:
        import importlib

        module = importlib.import_module(f"{__name__}.{_EXPORTS[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
