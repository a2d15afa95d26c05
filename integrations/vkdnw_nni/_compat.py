"""The few NNI names the adapter needs, from NNI 3.0 (``nni.nas``) or NNI 2.10 (``nni.retiarii``)."""

from __future__ import annotations

import contextlib

import nni

NNI_VERSION = tuple(int(part) for part in nni.__version__.split(".")[:2] if part.isdigit())
NNI3 = NNI_VERSION >= (3, 0)

if NNI3:
    from nni.nas.evaluator import FunctionalEvaluator
    from nni.nas.hub.pytorch import NasBench201, ProxylessNAS
    from nni.nas.space import model_context as _fixed
else:  # NNI 2.10: the NAS API lives in nni.retiarii
    from nni.retiarii import fixed_arch as _fixed  # type: ignore[no-redef]
    from nni.retiarii.evaluator import FunctionalEvaluator  # type: ignore[no-redef]
    from nni.retiarii.hub.pytorch import NasBench201, ProxylessNAS  # type: ignore[no-redef]


def fixed_arch(sample: dict):
    """Context in which building a model space gives the concrete model of ``sample``."""
    return _fixed(dict(sample))


@contextlib.contextmanager
def quiet_nni_logs():
    """Silence NNI's chatty warnings while building many concrete models."""
    import logging

    logger = logging.getLogger("nni")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


__all__ = ["NNI3", "NNI_VERSION", "FunctionalEvaluator", "NasBench201", "ProxylessNAS", "fixed_arch", "quiet_nni_logs"]
