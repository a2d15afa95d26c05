"""``vkdnw`` console script: ``score`` one architecture, ``evaluate`` a search space, ``list`` the
registered spaces and proxies (plugins included), ``configs`` (copy the shipped NNI/NASLib configs).
The NNI report is ``vkdnw-nni report`` (the adapter's CLI)."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import statistics
import sys
import warnings
from pathlib import Path

from tqdm import tqdm

from . import __version__
from .options import OneLineParser, OptionError, OversubscriptionWarning, parse_seeds, use_threads
from .plugins import PluginWarning
from .ranking import AGG_COMPONENTS
from .scoring import score_network
from .spaces import get_space, list_spaces
from .vkdnw_options import OptionDeprecationWarning, VKDNWOptions

# Command-line flags of the API parameters that are not VKDNW options (see OptionError.cli_message).
FLAGS = {"subset": "--archs", "seed": "--sample-seed"}
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


def _options(args) -> tuple[list[int], VKDNWOptions]:
    """``(seeds, options)`` of ``vkdnw score|evaluate``'s flags (the options carry the first seed)."""
    seeds = parse_seeds(",".join(args.seeds or ["0"]))
    return seeds, VKDNWOptions.from_args(args, seed=seeds[0])


def cmd_score(args) -> int:
    seeds, options = _options(args)
    spec = get_space(args.space)
    dataset = args.dataset or spec.default_dataset
    options = options.for_space(spec, dataset)
    arch = spec.canonical(args.arch)
    use_threads(options.threads)
    modes = options.modes
    if not args.json:
        print(f"{arch}  {dataset}  modes={','.join(modes)}  batch={options.batch}  {len(seeds)} seed(s), "
              f"{options.threads} thread(s)")  # fmt: skip
        print(SCORE_LEGEND)
        print(f"{'seed':>6} {'mode':>9} {'entropy':>10} {'dim':>6} {'score':>12} {'seconds':>8}  note", flush=True)
    runs = []
    for seed in seeds:
        results = score_network(spec, arch, options.replace(seed=seed), ("vkdnw",), dataset=dataset).results
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
        report = {"space": spec.name, "arch": arch, "dataset": dataset, "modes": list(modes), "batch": options.batch,
                  **options.engine_options(), "resolution": options.resolution, "runs": runs, "mean": means}  # fmt: skip
        print(json.dumps(report, indent=2))
    elif len(seeds) > 1:
        for mode, mean in means.items():
            print(f"{'mean':>6} {mode:>9} {mean['entropy']:>10.6f} {mean['dim']:>6.0f} {mean['score']:>12.6f}")
    return 0


def _names(text: str) -> list[str]:
    """``"a, b,"`` → ``["a", "b"]``."""
    return [name.strip() for name in text.split(",") if name.strip()]


def cmd_evaluate(args) -> int:
    from .cache import ResultCache
    from .evaluate import EvaluateConfig, evaluate, import_scores, pending_networks
    from .groundtruth import ground_truth
    from .report import ndcg_label

    seeds, options = _options(args)
    spec = get_space(args.space)
    dataset = args.dataset or spec.default_dataset
    accuracy = ground_truth(spec.name, dataset, args.archs, seed=args.sample_seed, path=args.table)
    imported = {}
    for source in args.import_scores or []:
        scores = import_scores(source, dataset)
        if not any(series.index.isin(accuracy.index).any() for series in scores.values()):
            raise OptionError("import_scores", source, f"names none of the {spec.name} architectures evaluated "
                              "(NASLib and Suite-Zero scores are NAS-Bench-201's)")  # fmt: skip
        imported.update(scores)
    config = EvaluateConfig(
        dataset=dataset, proxies=_names(args.proxies), archs=list(accuracy.index), seeds=seeds, options=options,
        workers=args.workers, space=spec.name, imported=imported, agg_components=tuple(_names(args.agg_components)),
        scheduler=args.scheduler,
    )  # fmt: skip
    cache = ResultCache(args.cache)
    try:
        metrics = evaluate(config, cache, accuracy, Path(args.out), bootstrap=args.bootstrap)
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
        if issubclass(category, (OversubscriptionWarning, OptionDeprecationWarning, PluginWarning)):
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


def cmd_list(args) -> int:
    from .proxies import get_proxy, list_aliases, list_proxies

    if args.what == "spaces":
        for name in list_spaces():
            spec = get_space(name)
            aliases = f" (aliases: {', '.join(spec.aliases)})" if spec.aliases else ""
            datasets = ", ".join(f"{d} ({c} classes, {r} px)" for d, (c, r) in spec.datasets.items())
            defaults = ", ".join(f"{k}={v}" for k, v in (spec.vkdnw_defaults or {}).items()) or "the engine's"
            truth = "ground truth" if spec.ground_truth else "no ground truth"
            print(f"{name}{aliases}: {datasets}; VKDNW defaults {defaults}; {truth}; arch: {spec.arch_help}")
        return 0
    aliases = {}
    for alias, name in list_aliases().items():
        aliases.setdefault(name, []).append(alias)
    for name in list_proxies():
        spec = get_proxy(name)
        notes = ["higher is better" if spec.higher_is_better else "lower is better"]
        notes += ["needs labels"] * spec.needs_labels + ["per Fisher mode"] * (spec.from_vkdnw is not None)
        notes += [f"alias {', '.join(aliases[name])}"] if name in aliases else []
        print(f"{name}: {'; '.join(notes)} ({spec.fn.__module__})")
    return 0


SCORE_DESCRIPTION = f"Score one architecture of a search space with VKDNW under the seeded protocol, for each seed. {SCORE_LEGEND}"
EVALUATE_DESCRIPTION = (
    "Score a set of architectures of a benchmark space (NAS-Bench-201, NAS-Bench-Macro or a plugin's) with VKDNW and "
    "other zero-cost proxies, then rank them against the benchmark's trained accuracies: writes scores.csv, "
    "metrics.csv (Kendall tau, Spearman rho, nDCG@k, regret, bootstrap CIs), report.md and plots to --out. Every "
    "result goes to --cache as it is computed, so an interrupted run resumes where it stopped."
)


def build_parser() -> argparse.ArgumentParser:
    from .evaluate_config import DERIVED

    parser = OneLineParser(prog="vkdnw", description=__doc__)
    parser.add_argument("--version", action="version", version=f"vkdnw {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    space_help = "search space: nb201, nas-bench-macro or a plugin's (vkdnw list spaces)"

    score = commands.add_parser("score", help="VKDNW of one architecture over several seeds", formatter_class=HelpFormatter,
                                description=SCORE_DESCRIPTION)  # fmt: skip
    score.add_argument("--space", default="nb201", help=space_help)
    score.add_argument("--arch", required=True, help="NB201: arch string, index (0..15624) or NASLib tuple; NAS-Bench-Macro: "
                       "8-digit code; other spaces: vkdnw list spaces")  # fmt: skip
    score.add_argument("--dataset", help="the space's dataset (NB201: cifar10, cifar100, ImageNet16-120; default: the first)")
    VKDNWOptions.add_arguments(score, seeds=True)
    score.add_argument("--json", action="store_true", help="print one JSON document")
    score.set_defaults(run=cmd_score)

    ev = commands.add_parser("evaluate", help="score many networks of a benchmark space with many proxies and compare with "
                             "ground truth", formatter_class=HelpFormatter, description=EVALUATE_DESCRIPTION)  # fmt: skip
    ev.add_argument("--space", default="nb201", help=space_help)
    ev.add_argument("--dataset", help="the space's dataset (NB201: cifar10, cifar100, ImageNet16-120; default: the first)")
    ev.add_argument("--proxies", default="vkdnw_single,vkdnw_agg,flops",
                    help=f"comma-separated: registered proxies (vkdnw list proxies), {', '.join(DERIVED)} (in the collection) "
                         "or the space's architecture features (nas-bench-macro: blocks, its non-identity layers)")  # fmt: skip
    ev.add_argument("--archs", default="sample:100", help="nb201: all, unique, sample:N (seeded, from the unique set), "
                    "sample:N@all; nas-bench-macro and plugins: all, sample:N")  # fmt: skip
    ev.add_argument("--sample-seed", type=int, default=0, help="seed of sample:N (0 or more)")
    VKDNWOptions.add_arguments(ev, seeds=True)
    ev.add_argument("--workers", type=int, default=1, help="worker processes (each with --threads torch threads)")
    ev.add_argument("--scheduler", help="score on Dask instead of --workers: tcp://HOST:PORT (a running scheduler) or local:N "
                    "(a local cluster of N single-threaded workers); needs pip install vkdnw-plugin[dask]")  # fmt: skip
    ev.add_argument("--cache", default="vkdnw_cache.sqlite", help="SQLite cache, in an existing folder: results are written as "
                    "they complete, and a rerun of the same command resumes from it")  # fmt: skip
    ev.add_argument("--out", default="vkdnw_eval", help="output folder (created)")
    ev.add_argument("--table", help="ground truth: NB201 table csv (default: $VKDNW_NB201_TABLE or the shared copy) or "
                    "NAS-Bench-Macro json (default: the shared copy)")  # fmt: skip
    ev.add_argument("--import-scores", action="append", help="NASLib zc json or Suite-Zero csv/dataset; repeatable")
    ev.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for the 95%% confidence intervals (0: none)")
    ev.add_argument("--agg-components", default=",".join(AGG_COMPONENTS),
                    help="VKDNW_agg's components: proxies, or imported columns such as suite0:jacov (NASLib's "
                         "jacov on real images, as the authors' jacov); the default is the paper's five")  # fmt: skip
    ev.set_defaults(run=cmd_evaluate)

    listing = commands.add_parser("list", help="the registered search spaces or proxies, plugins included")
    listing.add_argument("what", choices=("spaces", "proxies"))
    listing.set_defaults(run=cmd_list)

    configs = commands.add_parser("configs", help="list the shipped NNI/NASLib configs, or copy them to --out DIR")
    configs.add_argument("--out", help="folder to copy them to (e.g. configs, then: nnictl create --config configs/vkdnw_nb201.yml)")
    configs.add_argument("--force", action="store_true", help="overwrite files already in --out")
    configs.set_defaults(run=cmd_configs)

    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser()
    with warnings.catch_warnings(record=True) as parsing:  # deprecated flags: shown by console below
        warnings.simplefilter("always", OptionDeprecationWarning)
        args = parser.parse_args(argv)
    try:
        with console(f"vkdnw {args.command}"):
            for caught in parsing:
                warnings.warn_explicit(caught.message, caught.category, caught.filename, caught.lineno)
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
