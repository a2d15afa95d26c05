"""Trial entry for ``nnictl``: ``python -m vkdnw_nni.trial --space nb201 --dataset cifar10 ...``.

The trial asks NNI for its parameters and scores every architecture in them:

* ``{"archs": [sample, ...]}`` (from :class:`~vkdnw_nni.tuner.VKDNWEvolutionTuner`): several
  architectures in one process, so Python/torch/NNI start-up is paid once per batch. Reports
  ``{"default": best score in the batch, "n_archs", "n_failed", "startup_seconds", "archs": [{"arch",
  **metrics} | {"arch", "error"}]}``; an architecture that raises is recorded with its error and the
  others are still scored; the trial fails only when all of them fail.
* a plain sample ``{label: value, ...}`` (from NNI's built-in tuners, e.g. ``Random``): reports the
  flat metric dict of :func:`~vkdnw_nni.evaluator.score_model` (a crash fails the trial).

Every option is checked before scoring; a bad value exits with ``python -m vkdnw_nni.trial: error: --<option> ...``
(status 2), the format of every vkdnw command.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback

_STARTED = time.time()
PROG = "python -m vkdnw_nni.trial"


def _process_age() -> float:
    """Seconds since this process started (interpreter start-up included when psutil is present)."""
    try:
        import psutil

        return time.time() - psutil.Process(os.getpid()).create_time()
    except Exception:  # noqa: BLE001
        return time.time() - _STARTED


def build_parser() -> argparse.ArgumentParser:
    from vkdnw_plugin.cli import THREADS_HELP, HelpFormatter
    from vkdnw_plugin.options import DEFAULT_THREADS, OneLineParser

    parser = OneLineParser(prog=PROG, description=__doc__.split("\n\n")[0],
                                     formatter_class=HelpFormatter)  # fmt: skip
    parser.add_argument("--space", default="nb201", help="nb201 | proxylessnas")
    parser.add_argument("--dataset", default=None, help="NB201 dataset: cifar10 | cifar100 | ImageNet16-120")
    parser.add_argument("--num-classes", type=int, default=None, help="classifier width (ProxylessNAS: 1000)")
    parser.add_argument("--width-mult", type=float, default=None, help="ProxylessNAS width multiplier")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--resolution", type=int, default=None, help="scoring resolution (default: the space's)")
    parser.add_argument("--flops-resolution", type=int, default=None, help="resolution for FLOPs (default: space's)")
    parser.add_argument("--mode", default="reference", help="Fisher matrix: reference (the authors' code) | exact")
    parser.add_argument("--n-tensors", type=int, default=128)
    parser.add_argument("--tensor-policy", default=None, help="first | random (default: the authors' per space)")
    parser.add_argument("--n-quantiles", type=int, default=None, help="9 | 11 (default: the authors' per space)")
    parser.add_argument("--direction", default="auto", help="Jacobian direction: auto | reverse | forward")
    parser.add_argument("--compile", action="store_true", help="reverse mode through torch.compile'd repeating blocks")
    parser.add_argument("--components", default=None, help="comma-separated VKDNW_agg components")
    parser.add_argument("--seed", "--seeds", dest="seed", type=int, default=0, help="network init/input seed (one per trial)")
    parser.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=THREADS_HELP)
    return parser


def options_from_args(args) -> tuple[str, dict, object]:
    """``(space, space_kwargs, ScoreOptions)``; ``ValueError`` naming the option on a bad value."""
    from vkdnw_plugin.options import OptionError

    from .evaluator import ScoreOptions
    from .spaces import SPACE_VKDNW_DEFAULTS, SPACES, default_resolution, space_kwargs

    if args.space not in SPACES:
        raise ValueError(f"--space: expected one of {', '.join(SPACES)}, got {args.space!r}")
    extra = {}
    if args.width_mult is not None:
        if args.space != "proxylessnas" or not args.width_mult > 0:
            raise ValueError(f"--width-mult: a positive float for proxylessnas only, got {args.width_mult!r}")
        extra["width_mult"] = args.width_mult
    try:
        kwargs = space_kwargs(args.space, dataset=args.dataset, num_classes=args.num_classes, **extra)
    except ValueError as exc:
        raise ValueError(f"--dataset/--num-classes: {exc}") from None
    defaults = SPACE_VKDNW_DEFAULTS[args.space]
    resolution = args.resolution or default_resolution(args.space, args.dataset)
    try:
        options = ScoreOptions(
            batch_size=args.batch_size,
            resolution=resolution,
            flops_resolution=args.flops_resolution or default_resolution(args.space, args.dataset),
            mode=args.mode,
            n_tensors=args.n_tensors,
            tensor_policy=args.tensor_policy or defaults["tensor_policy"],
            n_quantiles=args.n_quantiles or defaults["n_quantiles"],
            direction=args.direction,
            compile=args.compile,
            components=tuple(args.components.split(",")) if args.components else ScoreOptions.components,
            seed=args.seed,
            threads=args.threads,
        )
    except OptionError as exc:
        raise ValueError(exc.cli_message()) from None
    except ValueError as exc:
        name, _, rest = str(exc).partition(":")
        raise ValueError(f"--{name.replace('_', '-')}:{rest}") from None
    return args.space, kwargs, options


def _score_sample(space: str, kwargs: dict, options, sample: dict) -> dict:
    """The metric dict of one checked NNI sample, scored under the core's seeded protocol."""
    from .evaluator import protocol_build, score_model
    from .spaces import build_model, validate_sample

    validate_sample(space, sample, **kwargs)
    build = protocol_build(sample, lambda: build_model(space, sample, **kwargs), kwargs["num_labels"])
    return score_model(build, options)


def score_archs(space: str, kwargs: dict, options, archs: list[dict]) -> list[dict]:
    """Score each architecture; failures become ``{"arch", "error"}`` entries."""
    from .spaces import nb201_arch_str

    entries = []
    for arch in archs:
        try:
            metrics = _score_sample(space, kwargs, options, arch)
            entry = {"arch": arch, **metrics}
            if space == "nb201":
                entry["arch_str"] = nb201_arch_str(arch)
        except Exception as exc:  # noqa: BLE001 - one bad architecture must not cost the batch
            traceback.print_exc()
            entry = {"arch": arch, "error": f"{type(exc).__name__}: {exc}"}
        entries.append(entry)
    return entries


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        space, kwargs, options = options_from_args(args)
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
        entries = score_archs(space, kwargs, options, list(params["archs"]))
        scored = [e for e in entries if "error" not in e]
        if not scored:
            print(f"{PROG}: error: all {len(entries)} architectures failed", file=sys.stderr)
            return 1
        report = {
            "default": max(e["default"] for e in scored),
            "n_archs": len(entries),
            "n_failed": len(entries) - len(scored),
            "startup_seconds": startup,
            "scoring_seconds": sum(e["seconds"] for e in scored),
            "archs": entries,
        }
    else:
        report = _score_sample(space, kwargs, options, params)
        report["startup_seconds"] = startup
    nni.report_final_result(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
