"""Trial entry for ``nnictl``: ``python -m vkdnw_nni.trial --space nb201 --dataset cifar10 ...``.

Parameters ``{"archs": [sample, ...]}`` (from :class:`~vkdnw_nni.tuner.VKDNWEvolutionTuner`) are scored
in one process and reported as ``{"default": best score, "n_archs", "n_failed", "startup_seconds",
"scoring_seconds", "archs": [{"arch", **metrics} | {"arch", "error"}]}`` (the trial fails only when
every architecture fails); a plain sample (NNI's own tuners) reports the flat metric dict of
:func:`~vkdnw_nni.evaluator.score_model`. A bad option exits with status 2 and
``python -m vkdnw_nni.trial: error: --<option> ...``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from typing import NamedTuple

_STARTED = time.time()
PROG = "python -m vkdnw_nni.trial"


def _process_age() -> float:
    """Seconds since this process started (interpreter start-up included with psutil)."""
    try:
        import psutil

        return time.time() - psutil.Process(os.getpid()).create_time()
    except Exception:  # noqa: BLE001
        return time.time() - _STARTED


class TrialSettings(NamedTuple):
    """What a trial scores: NNI space and constructor kwargs, core dataset, options, components."""

    space: str
    kwargs: dict
    dataset: str | None
    options: object
    components: tuple[str, ...]
    flops_resolution: int | None


def build_parser() -> argparse.ArgumentParser:
    from vkdnw_plugin.cli import HelpFormatter
    from vkdnw_plugin.options import OneLineParser
    from vkdnw_plugin.vkdnw_options import VKDNWOptions

    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0], formatter_class=HelpFormatter)
    parser.add_argument("--space", default="nb201", help="nb201 | proxylessnas")
    parser.add_argument("--dataset", default=None, help="the space's dataset (nb201: cifar10 | cifar100 | ImageNet16-120)")
    parser.add_argument("--num-classes", type=int, default=None, help="classifier width (default: the dataset's)")
    parser.add_argument("--width-mult", type=float, default=None, help="ProxylessNAS width multiplier")
    parser.add_argument("--flops-resolution", type=int, default=None, help="resolution for FLOPs (default: the dataset's)")
    parser.add_argument("--components", default=None, help="comma-separated VKDNW_agg components (default: the paper's five)")
    VKDNWOptions.add_arguments(parser)
    parser.add_argument("--seeds", dest="seed", type=int, default=None, help=argparse.SUPPRESS)  # one seed per trial
    return parser


def options_from_args(args) -> TrialSettings:
    """The :class:`TrialSettings` of the parsed flags; ``ValueError`` naming the flag on a bad value."""
    from vkdnw_plugin.options import FieldError, OptionError
    from vkdnw_plugin.ranking import AGG_COMPONENTS
    from vkdnw_plugin.spaces import get_space
    from vkdnw_plugin.vkdnw_options import VKDNWOptions

    from .evaluator import check_components
    from .tuner import nni_space

    args.space = nni_space(args.space, f"--space {args.space}")
    extra = {}
    if args.width_mult is not None:
        if args.space != "proxylessnas" or not args.width_mult > 0:
            raise FieldError(f"--width-mult {args.width_mult}: a positive float for proxylessnas only")
        extra["width_mult"] = args.width_mult
    try:
        dataset = args.dataset or get_space(args.space).default_dataset
        get_space(args.space).shape(dataset)
        options = VKDNWOptions.from_args(args)
        if len(options.modes) != 1:
            raise OptionError("modes", options.modes, "a trial reports one Fisher mode")
        components = check_components(args.components.split(",")) if args.components else AGG_COMPONENTS
        from .spaces import space_kwargs

        kwargs = space_kwargs(args.space, dataset=dataset, num_classes=args.num_classes, **extra)
        if args.flops_resolution is not None and args.flops_resolution < 1:
            raise OptionError("flops_resolution", args.flops_resolution, "expected a positive integer")
    except OptionError as exc:
        raise FieldError(exc.cli_message()) from None
    flops_resolution = args.flops_resolution or get_space(args.space).shape(dataset)[1]
    return TrialSettings(args.space, kwargs, dataset, options, components, flops_resolution)


def _score_sample(settings: TrialSettings, sample: dict) -> dict:
    """The metric dict of one checked NNI sample."""
    from .evaluator import score_model
    from .spaces import build_model, validate_sample

    validate_sample(settings.space, sample, **settings.kwargs)
    # A sample the core space builds itself (only the classifier width set), else NNI's own network.
    target = dict(sample) if set(settings.kwargs) == {"num_labels"} else lambda: build_model(settings.space, sample, **settings.kwargs)
    return score_model(target, settings.options, space=settings.space, dataset=settings.dataset,
                       num_classes=settings.kwargs["num_labels"], components=settings.components,
                       flops_resolution=settings.flops_resolution)  # fmt: skip


def score_archs(settings: TrialSettings, archs: list[dict]) -> list[dict]:
    """Score each architecture; failures become ``{"arch", "error"}`` entries."""
    entries = []
    for arch in archs:
        try:
            entry = {"arch": arch, **_score_sample(settings, arch)}
        except Exception as exc:  # noqa: BLE001 - one bad architecture must not cost the batch
            traceback.print_exc()
            entry = {"arch": arch, "error": f"{type(exc).__name__}: {exc}"}
        entries.append(entry)
    return entries


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = options_from_args(args)
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    import nni

    params = nni.get_next_parameter()
    if params is None:
        print(f"{PROG}: error: no parameters from NNI (run this through nnictl)", file=sys.stderr)
        return 2
    startup = _process_age()
    if isinstance(params, dict) and "archs" in params:
        entries = score_archs(settings, list(params["archs"]))
        scored = [e for e in entries if "error" not in e]
        if not scored:
            print(f"{PROG}: error: all {len(entries)} architectures failed", file=sys.stderr)
            return 1
        report = {"default": max(e["default"] for e in scored), "n_archs": len(entries),
                  "n_failed": len(entries) - len(scored), "startup_seconds": startup,
                  "scoring_seconds": sum(e["seconds"] for e in scored), "archs": entries}
    else:
        report = _score_sample(settings, params)
        report["startup_seconds"] = startup
    nni.report_final_result(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
