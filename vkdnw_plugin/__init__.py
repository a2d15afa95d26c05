"""vkdnw-plugin: the VKDNW zero-cost NAS proxy (Týbl & Neumann, CVPR 2025), fast on CPU.

The public API is importable from here (``from vkdnw_plugin import vkdnw_score``); each name is
imported from its module on first use, so ``import vkdnw_plugin`` stays light.
"""

import importlib

__version__ = "0.1.0"

_EXPORTS = {
    "VKDNWResult": "engine",
    "vkdnw_score": "engine",
    "vkdnw_scores": "engine",
    "VKDNWOptions": "vkdnw_options",
    "OptionError": "options",
    "NetworkScores": "scoring",
    "score_network": "scoring",
    "score_architecture": "scoring",
    "seeded_setup": "scoring",
    "reference_setup": "scoring",
    "SpaceSpec": "spaces",
    "get_space": "spaces",
    "list_spaces": "spaces",
    "register_space": "spaces",
    "compute_proxies": "proxies",
    "get_proxy": "proxies",
    "list_proxies": "proxies",
    "list_aliases": "proxies",
    "register_proxy": "proxies",
    "AGG_COMPONENTS": "ranking",
    "ModelDrivenRanker": "ranking",
    "aggregate_ranks": "ranking",
    "single_value": "ranking",
    "vkdnw_single_rank": "ranking",
    "kendall_tau": "metrics",
    "ndcg_at_k": "metrics",
    "spearman": "metrics",
    "EvaluateConfig": "evaluate_config",
    "ResultCache": "cache",
    "ground_truth": "groundtruth",
}

__all__ = ["__version__", *_EXPORTS]  # resolved lazily by __getattr__


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
