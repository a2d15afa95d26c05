"""``vkdnw-nni``: helpers around nnictl for VKDNW experiments.

    vkdnw-nni search-space --space nb201 > configs/vkdnw_nb201_space.json
    vkdnw-nni check --config configs/vkdnw_nb201.yml      # nnictl-style field errors
    vkdnw-nni create --config configs/vkdnw_nb201.yml     # check, then nnictl create on 127.0.0.1
    vkdnw-nni register | report EXPERIMENT_ID | build-nb201-db --out FILE
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
from pathlib import Path

from vkdnw_plugin.options import FieldError, OneLineParser


class ConfigError(FieldError):
    """A bad experiment-config value; the message starts with the field's path."""


def _positive_int(config: dict, key: str, required: bool = False) -> None:
    value = config.get(key)
    if value is None and required:
        raise ConfigError(f"{key}: required")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ConfigError(f"{key}: expected a positive integer, got {value!r}")


def check_config(path: str | Path) -> dict:
    """The parsed YAML of a VKDNW experiment config; :class:`ConfigError` naming the bad field, and an
    ``OversubscriptionWarning`` when local trials would run more torch threads than CPU cores."""
    import yaml

    from vkdnw_plugin.options import check_workers_threads

    from .spaces import space_choices, space_kwargs
    from .trial import build_parser, options_from_args
    from .tuner import TUNER_META, validate_tuner_args

    path = Path(path)
    try:
        config = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"config: cannot read {path}: {exc}") from None
    if not isinstance(config, dict):
        raise ConfigError(f"config: expected a mapping at the top of {path}")
    _positive_int(config, "trialConcurrency", required=True)
    _positive_int(config, "maxTrialNumber")
    tuner = config.get("tuner")
    if not isinstance(tuner, dict):
        raise ConfigError("tuner: required (className: vkdnw_nni.tuner.VKDNWEvolutionTuner)")
    ours = tuner.get("className") == TUNER_META["className"] or tuner.get("name") == TUNER_META["builtinName"]
    class_args = tuner.get("classArgs") or {}
    tuner_space = class_args.get("space", "nb201")
    if ours:
        try:
            validate_tuner_args(class_args, prefix="tuner.classArgs.")
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    command = config.get("trialCommand")
    if not isinstance(command, str) or not command.strip():
        raise ConfigError("trialCommand: required")
    words, options = shlex.split(command), None
    if "vkdnw_nni.trial" in words:
        parser = build_parser()
        parser.error = lambda message: (_ for _ in ()).throw(ConfigError(f"trialCommand: {message}"))  # type: ignore
        try:
            settings = options_from_args(parser.parse_args(words[words.index("vkdnw_nni.trial") + 1:]))
        except ValueError as exc:
            raise ConfigError(f"trialCommand: {exc}") from None
        options = settings.options
        if ours and tuner_space != settings.space:
            raise ConfigError(f"tuner.classArgs.space: {tuner_space!r} differs from the "
                              f"trialCommand's --space {settings.space!r}")
    space_file = config.get("searchSpaceFile")
    if space_file is not None:
        full = (path.parent / str(space_file)).expanduser()
        try:
            search_space = json.loads(full.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigError(f"searchSpaceFile: cannot read {full}: {exc}") from None
        kwargs = {"dataset": class_args.get("dataset"), "num_classes": class_args.get("num_classes")}
        if ours and set(search_space) != set(space_choices(tuner_space, **space_kwargs(tuner_space, **kwargs))):
            raise ConfigError(f"searchSpaceFile: labels differ from space {tuner_space!r}; "
                              "regenerate it with `vkdnw-nni search-space`")
    service = config.get("trainingService")
    if not isinstance(service, dict) or "platform" not in service:
        raise ConfigError("trainingService.platform: required (local, remote, kubeflow, ...)")
    if service["platform"] == "local" and options is not None and options.threads:
        check_workers_threads(config["trialConcurrency"], options.threads)
    return config


def main(argv=None) -> int:
    from vkdnw_plugin.cli import console

    parser = OneLineParser(prog="vkdnw-nni", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("search-space", help="print the NNI HPO search space of a NAS space")
    p.add_argument("--space", default="nb201")
    p.add_argument("--num-classes", type=int, default=None)
    p = sub.add_parser("check", help="validate an experiment config")
    p.add_argument("--config", required=True)
    p = sub.add_parser("create", help="check, then nnictl create with the web server on 127.0.0.1")
    p.add_argument("--config", required=True)
    p.add_argument("--port", type=int, default=8080)
    sub.add_parser("register", help="register the tuner as VKDNWEvolution (nnictl algo register)")
    sub.add_parser("report", help="top architectures of an experiment (EXPERIMENT_ID --help)", add_help=False)
    sub.add_parser("build-nb201-db", help="offline NAS-Bench-201 sqlite for nni.nas.benchmark", add_help=False)
    args, rest = parser.parse_known_args(argv)
    with console(f"vkdnw-nni {args.command}"):
        return _run(parser, args, rest)


def _run(parser: argparse.ArgumentParser, args, rest: list[str]) -> int:
    """One ``vkdnw-nni`` command."""
    if args.command == "report":
        from .report import main as report_main

        return report_main(rest)
    if args.command == "build-nb201-db":
        from .nb201_db import main as db_main

        return db_main(rest)
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.command == "search-space":
        from .spaces import search_space_json, space_kwargs

        print(json.dumps(search_space_json(args.space, **space_kwargs(args.space, num_classes=args.num_classes)),
                         indent=1))
        return 0
    if args.command in ("check", "create"):
        try:
            check_config(args.config)
        except ConfigError as exc:
            print(f"vkdnw-nni {args.command}: error: {exc}", file=sys.stderr)
            return 2
        if args.command == "check":
            print(f"{args.config}: OK")
            return 0
        from .loopback import loopback_env

        return subprocess.call(["nnictl", "create", "--config", args.config, "--port", str(args.port)],
                               env=loopback_env())
    if args.command == "register":
        from .tuner import register_tuner

        register_tuner()
        print("registered tuner VKDNWEvolution")
        return 0
    return 2


if __name__ == "__main__":
    sys.exit(main())
