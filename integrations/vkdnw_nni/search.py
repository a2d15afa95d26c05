"""One call for an in-process NNI 3.0 NAS search (sequential engine: no web server, no trial processes)."""

from __future__ import annotations

import contextlib
import os
import tempfile

from vkdnw_plugin.options import FieldError


@contextlib.contextmanager
def _home(path: str):
    """NNI writes its experiment registry to ``~/nni-experiments``; point ``HOME`` at ``path``."""
    old = os.environ.get("HOME")
    os.environ["HOME"] = path
    try:
        yield
    finally:
        if old is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = old


def run_local_search(space, evaluator, strategy, max_trials: int, workdir: str | os.PathLike | None = None):
    """Run ``strategy`` over the NNI model space ``space`` for ``max_trials`` models, failures tolerated,
    and return it; NNI's logs and registry go to ``workdir`` (default: a temporary folder)."""
    from nni.nas.experiment import NasExperiment, NasExperimentConfig

    if not isinstance(max_trials, int) or max_trials < 1:
        raise FieldError(f"max_trials: expected a positive integer, got {max_trials!r}")
    with contextlib.ExitStack() as stack:
        folder = str(workdir) if workdir is not None else stack.enter_context(tempfile.TemporaryDirectory())
        stack.enter_context(_home(folder))
        config = NasExperimentConfig("sequential", "simplified")  # no training service: nothing leaves the process
        config.max_trial_number = max_trials
        config.experiment_working_directory = folder
        config.execution_engine.continue_on_failure = True
        experiment = NasExperiment(space, evaluator, strategy, config)
        try:
            experiment.run()
        finally:
            experiment.stop()
    return strategy


__all__ = ["run_local_search"]
