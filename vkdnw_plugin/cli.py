"""``vkdnw`` console script: ``score`` one architecture, ``evaluate`` a search space, ``configs`` (copy the
shipped NNI/NASLib configs). The NNI report is ``vkdnw-nni report`` (the adapter's CLI)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import statistics
import sys
import warnings
from pathlib import Path

import torch
from tqdm import tqdm

from . import __version__
from .options import (
    DEFAULT_THREADS,
    OneLineParser,
    OptionError,
    OversubscriptionWarning,
    check_count,
    check_device,
    check_vkdnw_options,
    parse_seeds,
    use_threads,
)
from .ranking import AGG_COMPONENTS
from .scoring import SPACES, check_space_dataset, network, score_architecture, space_options

# Command-line flags of the API parameters that are spelled differently (see OptionError.cli_message).
FLAGS = {"modes": "--mode", "n_boot": "--bootstrap", "subset": "--archs", "seed": "--sample-seed"}
# One syntax for seeds and modes in every command (vkdnw score|evaluate; the NNI trial and NASLib configs
# take one seed and one mode per run).
SEEDS_HELP = "network init/input seeds: integers, A..B or a,b,c"
MODE_HELP = "Fisher matrix: reference (the authors' code), exact (the paper's formula) or reference,exact (one shared Jacobian)"
THREADS_HELP = (
    "torch threads per process; workers x threads above the CPU cores is allowed with a warning. On a 2-core machine "
    "shared with other work one thread scored NB201 networks 3-8x faster than two (two were faster only when it was idle)"
)
SCORE_LEGEND = (
    "dim: number of parameter tensors of the network; entropy: of its Fisher-information spectrum (quantiles); "
    "score = dim + entropy (the authors' score); VKDNW_single ranks networks by dim first, then by entropy."
)


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """``--help`` with ``(default: ...)`` after every option that has a default value."""

    def _get_help_string(self, action):
        if action.default is None or isinstance(action.default, bool):
            return action.help
        return super()._get_help_string(action)


def cmd_score(args) -> int:
    seeds = parse_seeds(",".join(args.seeds))
    modes = _modes(args.mode)
    check_count("batch", args.batch)
    device = torch.device(check_device(args.device))
    net = network(args.space, args.arch, args.dataset)
    options = space_options(args.space, n_tensors=args.n_tensors, tensor_policy=args.tensor_policy,
                            n_quantiles=args.quantiles, direction=args.direction, compile=args.compile)
    use_threads(args.threads)
    if not args.json:
        print(f"{net.arch}  {args.dataset}  mode={','.join(modes)}  batch={args.batch}  {len(seeds)} seed(s), "
              f"{args.threads} thread(s)")  # fmt: skip
        print(SCORE_LEGEND)
        print(f"{'seed':>6} {'mode':>9} {'entropy':>10} {'dim':>6} {'score':>12} {'seconds':>8}  note", flush=True)
    runs = []
    for seed in seeds:
        results = score_architecture(args.space, net.arch, dataset=args.dataset, seed=seed, batch=args.batch,
                                     modes=modes, device=device, **options)  # fmt: skip
        for mode, result in results.items():
            runs.append(
                {"seed": seed, "mode": mode, "entropy": result.entropy, "dim": result.dim, "score": result.score,
                 "valid": result.valid, "reason": result.reason, "seconds": round(result.seconds, 3)}
            )  # fmt: skip
            if not args.json:
                r = runs[-1]
                print(f"{seed:>6} {mode:>9} {r['entropy']:>10.6f} {r['dim']:>6} {r['score']:>12.6f} {r['seconds']:>8.2f}  "
                      f"{r['reason']}", flush=True)  # fmt: skip
    means = {}
    for mode in modes:
        valid = [r for r in runs if r["valid"] and r["mode"] == mode]
        means[mode] = {key: statistics.fmean(r[key] for r in valid) if valid else float("nan")
                       for key in ("entropy", "dim", "score")}  # fmt: skip
    if args.json:
        report = {"space": args.space, "arch": net.arch, "dataset": args.dataset, "modes": list(modes), "batch": args.batch,
                  **options, "runs": runs, "mean": means}  # fmt: skip
        print(json.dumps(report, indent=2))
    elif len(seeds) > 1:
        for mode, mean in means.items():
            print(f"{'mean':>6} {mode:>9} {mean['entropy']:>10.6f} {mean['dim']:>6.0f} {mean['score']:>12.6f}")
    return 0


def _modes(text: str) -> tuple[str, ...]:
    """``--mode`` of every command: ``reference``, ``exact`` or ``reference,exact`` (one shared Jacobian)."""
    modes = tuple(_names(text))
    if not modes:
        raise OptionError("modes", text, "no mode given; expected reference, exact or reference,exact")
    for mode in modes:
        check_vkdnw_options({"mode": mode})
    return modes


def _names(text: str) -> list[str]:
    """``"a, b,"`` → ``["a", "b"]``."""
    return [name.strip() for name in text.split(",") if name.strip()]


def cmd_evaluate(args) -> int:
    from .cache import ResultCache
    from .evaluate import EvaluateConfig, evaluate, import_scores, pending_networks
    from .groundtruth import ground_truth
    from .report import ndcg_label

    seeds = parse_seeds(",".join(args.seeds))
    check_space_dataset(args.space, args.dataset)
    accuracy = ground_truth(args.space, args.dataset, args.archs, seed=args.sample_seed, path=args.table)
    if args.import_scores and args.space != "nb201":
        raise OptionError("import_scores", args.import_scores, f"NASLib/Suite-Zero scores exist for nb201 only, not {args.space}")
    imported = {}
    for source in args.import_scores or []:
        imported.update(import_scores(source, args.dataset))
    config = EvaluateConfig(
        dataset=args.dataset, proxies=_names(args.proxies), archs=list(accuracy.index), seeds=seeds, modes=_modes(args.mode),
        batch=args.batch, workers=args.workers, threads=args.threads, space=args.space, imported=imported,
        agg_components=tuple(_names(args.agg_components)), scheduler=args.scheduler, direction=args.direction, compile=args.compile,
        device=args.device, n_tensors=args.n_tensors, tensor_policy=args.tensor_policy, n_quantiles=args.quantiles,
    )  # fmt: skip
    cache = ResultCache(args.cache)
    try:
        metrics = evaluate(config, cache, accuracy, Path(args.out), n_boot=args.bootstrap)
    except KeyboardInterrupt:
        total = len(config.archs) * len(config.seeds)
        saved = total - len(pending_networks(config, cache))
        print(f"vkdnw evaluate: interrupted; {saved} of {total} networks are saved in the cache {args.cache}; "
              "rerunning the same command resumes from there", file=sys.stderr)  # fmt: skip
        return 130
    finally:
        cache.close()
    columns = {"ndcg": ndcg_label(metrics), "regret@1": "regret@1 (pp)", "regret@10": "regret@10 (pp)"}
    print(metrics[["n", "kt", "spr", "ndcg", "regret@1", "regret@10"]].rename(columns=columns).round(4).to_string())
    print(f"wrote {args.out}/report.md, metrics.csv, scores.csv and plots")
    return 0


def cmd_configs(args) -> int:
    import shutil

    from .options import check_out_dir
    from .paths import configs_dir

    source = configs_dir()
    files = sorted(p for p in source.iterdir() if p.suffix in (".yml", ".yaml", ".json"))
    if args.out is None:
        print("\n".join(str(p) for p in files))
        return 0
    out = check_out_dir(args.out)
    out.mkdir(parents=True, exist_ok=True)
    existing = [p.name for p in files if (out / p.name).exists()]
    if existing and not args.force:
        raise CliError(f"--out {out}: would overwrite {', '.join(existing)}; pass --force")
    for path in files:
        shutil.copy2(path, out / path.name)
    print(f"copied {len(files)} configs to {out}")
    return 0


def _console_line(prog: str, text: str) -> None:
    tqdm.write(f"{prog}: {text}", file=sys.stderr)


def _origin(filename: str) -> str:
    """The package a warning came from (``sklearn``), or its file name outside site-packages."""
    parts = Path(filename).parts
    for folder in ("site-packages", "dist-packages"):
        if folder in parts[:-1]:
            return parts[parts.index(folder) + 1].removesuffix(".py")
    return Path(filename).name


@contextlib.contextmanager
def console(prog: str):
    """While a command runs: the package's log lines go to stderr as ``<prog>: ...`` (``prog``: e.g.
    ``vkdnw evaluate``), and each distinct warning is shown once, as one such line in words (not
    Python's raw warning text)."""
    handler = logging.Handler()
    handler.emit = lambda record: _console_line(prog, record.getMessage())
    logger = logging.getLogger("vkdnw_plugin")
    logger.addHandler(handler)
    level, logger.level = logger.level, logging.INFO
    shown = set()

    def show(message, category, filename, lineno, file=None, line=None):
        text = " ".join(str(message).split())
        if (category, text) in shown:
            return
        shown.add((category, text))
        if issubclass(category, OversubscriptionWarning):
            _console_line(prog, f"warning: {text}")
        else:
            _console_line(prog, f"note: {_origin(filename)} warned ({category.__name__}, shown once): {text}")

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            yield
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def _add_vkdnw_options(parser: argparse.ArgumentParser) -> None:
    """The VKDNW sampling options, spelled as in the NNI trial and NASLib's ``vkdnw:`` section."""
    parser.add_argument("--n-tensors", type=int, help="parameter tensors sampled; default 128 (the authors')")
    parser.add_argument("--tensor-policy", help="first or random; default: first (nb201), random (nas-bench-macro)")
    parser.add_argument("--n-quantiles", "--quantiles", dest="quantiles", type=int,
                        help="9 or 11; default: 9 (nb201), 11 (nas-bench-macro)")
    parser.add_argument("--direction", default="auto",
                        help="Jacobian direction: reverse (1 + K backward passes, K = classes or head width), forward (one "
                             "pass per sampled tensor) or auto (the cheaper)")  # fmt: skip
    parser.add_argument("--compile", action="store_true",
                        help="run reverse mode through torch.compile'd repeating blocks (compiled once per block shape and "
                             "process); slower than eager on the 2-core CPUs measured, see README 'Speed'")  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    from .evaluate_config import ARCH_FEATURES, available_proxies

    parser = OneLineParser(prog="vkdnw", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vkdnw {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="VKDNW of one architecture over several seeds", formatter_class=HelpFormatter,
                                description=f"Score one architecture with VKDNW for each seed. {SCORE_LEGEND}")  # fmt: skip
    score.add_argument("--space", choices=SPACES, default="nb201", help="search space")
    score.add_argument("--arch", required=True, help="NB201 arch string, index (0..15624) or NASLib tuple; NAS-Bench-Macro code")
    score.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or ImageNet16-120")
    score.add_argument("--seeds", nargs="+", default=["0"], help=SEEDS_HELP)
    score.add_argument("--mode", default="reference", help=MODE_HELP)
    score.add_argument("--batch", type=int, default=64, help="random inputs per network")
    score.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    score.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=THREADS_HELP)
    _add_vkdnw_options(score)
    score.add_argument("--json", action="store_true", help="print one JSON document")
    score.set_defaults(run=cmd_score)

    ev = commands.add_parser("evaluate", help="score many networks of a benchmark space with many proxies and compare with "
                             "ground truth", formatter_class=HelpFormatter)  # fmt: skip
    ev.add_argument("--space", choices=SPACES, default="nb201", help="benchmark space (nas-bench-macro: CIFAR-10, the "
                    "authors' MobileNetV2 settings: 128 random tensors, 11 quantiles)")  # fmt: skip
    ev.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or ImageNet16-120 (nas-bench-macro: cifar10)")
    ev.add_argument("--proxies", default="vkdnw_single,vkdnw_agg,flops", help=f"comma-separated, of: {', '.join(available_proxies())}; "
                    f"nas-bench-macro also: {', '.join(ARCH_FEATURES['nas-bench-macro'])} (non-identity layers)")  # fmt: skip
    ev.add_argument("--archs", default="sample:100", help="nb201: all, unique, sample:N (seeded, from the unique set), "
                    "sample:N@all; nas-bench-macro: all, sample:N")  # fmt: skip
    ev.add_argument("--sample-seed", type=int, default=0, help="seed of sample:N (0 or more)")
    ev.add_argument("--seeds", nargs="+", default=["0"], help=f"{SEEDS_HELP} (scores are averaged)")
    ev.add_argument("--mode", default="reference", help=MODE_HELP)
    ev.add_argument("--batch", type=int, default=64, help="random inputs per network")
    ev.add_argument("--workers", type=int, default=1, help="worker processes (each with --threads torch threads)")
    ev.add_argument("--threads", type=int, default=DEFAULT_THREADS, help=THREADS_HELP)
    ev.add_argument("--scheduler", help="score on Dask instead of --workers: tcp://HOST:PORT (a running scheduler) or local:N "
                    "(N single-threaded workers here); needs pip install vkdnw-plugin[dask]")  # fmt: skip
    ev.add_argument("--cache", default="vkdnw_cache.sqlite", help="SQLite cache, in an existing folder: results are written as "
                    "they complete, and a rerun of the same command resumes from it")  # fmt: skip
    ev.add_argument("--out", default="vkdnw_eval", help="output folder (created)")
    _add_vkdnw_options(ev)
    ev.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N (each worker scores there)")
    ev.add_argument("--table", help="ground truth: NB201 table csv (default: $VKDNW_NB201_TABLE or the shared copy) or "
                    "NAS-Bench-Macro json (default: the shared copy)")  # fmt: skip
    ev.add_argument("--import-scores", action="append", help="NASLib zc json or Suite-Zero csv/dataset; repeatable")
    ev.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for the 95%% confidence intervals (0: none)")
    ev.add_argument("--agg-components", default=",".join(AGG_COMPONENTS),
                    help="VKDNW_agg's components: proxies, or imported columns such as suite0:jacov (NASLib's "
                         "jacov on real images, as the authors' jacov); the default is the paper's five")  # fmt: skip
    ev.set_defaults(run=cmd_evaluate)

    configs = commands.add_parser("configs", help="list the shipped NNI/NASLib configs, or copy them to --out DIR")
    configs.add_argument("--out", help="folder to copy them to (e.g. configs, then: nnictl create --config configs/vkdnw_nb201.yml)")
    configs.add_argument("--force", action="store_true", help="overwrite files already in --out")
    configs.set_defaults(run=cmd_configs)

    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        with console(f"vkdnw {args.command}"):
            return args.run(args)
    except OptionError as error:
        print(f"vkdnw {args.command}: error: {error.cli_message(FLAGS.get(error.option))}", file=sys.stderr)
        return 2
    except (CliError, ValueError, FileNotFoundError, ImportError) as error:
        print(f"vkdnw {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vkdnw {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
