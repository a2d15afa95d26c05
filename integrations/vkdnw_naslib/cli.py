"""``vkdnw-naslib``: NASLib experiments with VKDNW registered.

    vkdnw-naslib zc      --config-file configs/naslib_zc_vkdnw.yaml [key value ...]
    vkdnw-naslib compare --config-file configs/naslib_compare.yaml  [key value ...]
    vkdnw-naslib search  --config-file configs/naslib_re_vkdnw.yaml [key value ...]
    vkdnw-naslib list    (predictor names: ours and NASLib's)

Trailing ``key value`` pairs override config keys the NASLib way (``predictor jacov``,
``test_size 50``, ``search.epochs 20``, ``out_dir /tmp/run``); ``--threads N`` overrides the
config's ``num_threads`` (torch threads; default 1).
"""

from __future__ import annotations

import argparse
import json
import sys

from vkdnw_plugin.options import OneLineParser


def _parser() -> argparse.ArgumentParser:
    from vkdnw_plugin.cli import HelpFormatter

    parser = OneLineParser(prog="vkdnw-naslib", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name, help_text in (
        ("zc", "NASLib's zero-cost correlation experiment (predictor: vkdnw, vkdnw_agg or a NASLib built-in) + nDCG@k"),
        ("compare", "one table of KT / SPR / nDCG@k / s per arch for several predictors on the same architectures"),
        ("search", "regularized evolution (or random search) on NB201 with a zero-cost fitness"),
    ):
        p = sub.add_parser(name, help=help_text, formatter_class=HelpFormatter)
        p.add_argument("--config-file", required=True, help="NASLib zc-style YAML config")
        p.add_argument("--quiet", action="store_true", help="no progress bar")
        p.add_argument("--threads", type=int, help="torch threads (default: the config's num_threads, else 1)")
        if name == "search":
            p.add_argument("--fitness", default=None, help="override search.fitness (default: config)")
            p.add_argument("--optimizer", default=None, choices=["re", "rs"], help="override search.optimizer")
    sub.add_parser("list", help="list the predictor names accepted")
    return parser


def main(argv=None) -> int:
    from vkdnw_plugin.cli import console

    parser = _parser()
    args, opts = parser.parse_known_args(argv)  # opts: NASLib-style 'key value' overrides
    if args.command == "list" and opts:
        parser.error(f"unrecognized arguments: {' '.join(opts)}")
    with console(f"vkdnw-naslib {args.command}"):
        try:
            return _run(args, opts)
        except (ValueError, FileNotFoundError) as exc:  # ConfigError / OptionError are ValueErrors
            print(f"vkdnw-naslib {args.command}: error: {exc}", file=sys.stderr)
            return 2


def _run(args, opts) -> int:
    """One ``vkdnw-naslib`` command."""
    from vkdnw_plugin.options import OptionError, check_workers_threads

    from .config import ConfigError, load_config

    if getattr(args, "threads", None) is not None:
        try:
            check_workers_threads(1, args.threads)
        except OptionError as exc:
            raise ConfigError(exc.cli_message()) from None  # "--threads 0: expected ..."
    from .predictor import predictor_names  # the package imported NASLib and registered the measures

    if args.command == "list":
        names = predictor_names()
        print(f"ours:   {', '.join(names['ours'])}\nNASLib: {', '.join(names['naslib'])}")
        return 0
    config = load_config(args.config_file, opts, threads=args.threads)
    if args.command == "zc":
        from .runner import run_zc

        result = run_zc(config)
        keys = ["kendalltau", "spearman", *[f"ndcg@{k}" for k in config.ndcg_k], "seconds_per_arch"]
        print(json.dumps({"predictor": config.predictor, **{k: result[k] for k in keys},
                          "scores_json": f"{config.save}/scores.json"}, indent=1))  # fmt: skip
    elif args.command == "compare":
        from .runner import run_compare

        print(run_compare(config, progress=not args.quiet)["table_md"])
    else:
        from .search import run_search

        print(json.dumps(run_search(config, fitness=args.fitness, optimizer=args.optimizer), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
