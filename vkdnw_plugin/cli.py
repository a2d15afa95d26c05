"""``vkdnw`` console script: ``score`` one architecture, ``evaluate`` a search space, ``configs`` (copy the
shipped NNI/NASLib configs), ``nni-report``."""

from __future__ import annotations

import argparse
import json
import statistics
import sys

import torch
from tqdm import tqdm

from .ranking import AGG_COMPONENTS
from .vkdnw import MODES, N_QUANTILES, TENSOR_POLICIES, reference_setup, vkdnw_score

SPACES = ("nb201", "nas-bench-macro")
# The authors' NB201 code samples the first tensors and uses deciles; their MobileNetV2 code
# samples tensors at random and adds min and max.
SPACE_DEFAULTS = {"nb201": ("first", 9), "nas-bench-macro": ("random", 11)}


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def resolve_device(name: str) -> torch.device:
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise CliError(f"--device {name}: CUDA is not available in this torch build ({torch.__version__}) or no GPU is visible")
    try:
        return torch.device(name)
    except RuntimeError:
        raise CliError(f"--device {name!r}: expected cpu, cuda or cuda:N") from None


def space_builder(space: str, arch: str, dataset: str):
    """``(build, canonical arch text, num_classes, resolution)`` for one architecture of a space."""
    if space == "nb201":
        from .spaces.nb201 import dataset_shape, nb201_network, parse_arch

        parsed = parse_arch(arch)
        num_classes, resolution = dataset_shape(dataset)
        return (lambda: nb201_network(parsed, num_classes=num_classes)), parsed.arch_str, num_classes, resolution
    from .spaces.mbv2 import nas_bench_macro_network, parse_code

    parse_code(arch)
    if dataset != "cifar10":
        raise CliError(f"--dataset {dataset!r}: NAS-Bench-Macro is a CIFAR-10 benchmark; use cifar10")
    return (lambda: nas_bench_macro_network(arch, num_classes=10)), arch, 10, 32


def cmd_score(args) -> int:
    policy, quantiles = SPACE_DEFAULTS[args.space]
    policy = args.tensor_policy or policy
    quantiles = args.quantiles or quantiles
    device = resolve_device(args.device)
    build, arch_text, num_classes, resolution = space_builder(args.space, args.arch, args.dataset)
    if args.batch < 1:
        raise CliError(f"--batch {args.batch}: must be a positive integer")
    runs = []
    for seed in tqdm(args.seeds, desc="seeds", disable=None if len(args.seeds) > 1 else True, file=sys.stderr):
        model, inputs = reference_setup(build, seed, (args.batch, 3, resolution, resolution), device)
        result = vkdnw_score(model, inputs, mode=args.mode, tensor_policy=policy, n_quantiles=quantiles)
        runs.append(
            {"seed": seed, "entropy": result.entropy, "dim": result.dim, "score": result.score,
             "valid": result.valid, "reason": result.reason, "seconds": round(result.seconds, 3)}
        )  # fmt: skip
    valid = [r for r in runs if r["valid"]]
    mean = {
        key: statistics.fmean(r[key] for r in valid) if valid else float("nan") for key in ("entropy", "dim", "score")
    }
    report = {
        "space": args.space, "arch": arch_text, "dataset": args.dataset, "mode": args.mode,
        "batch": args.batch, "tensor_policy": policy, "n_quantiles": quantiles, "runs": runs, "mean": mean,
    }  # fmt: skip
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"{arch_text}  {args.dataset}  mode={args.mode}  batch={args.batch}")
    print(f"{'seed':>6} {'entropy':>10} {'dim':>6} {'score':>12} {'seconds':>8}  note")
    for r in runs:
        print(f"{r['seed']:>6} {r['entropy']:>10.6f} {r['dim']:>6} {r['score']:>12.6f} {r['seconds']:>8.2f}  {r['reason']}")
    print(f"{'mean':>6} {mean['entropy']:>10.6f} {mean['dim']:>6.0f} {mean['score']:>12.6f}")
    return 0


def parse_seeds(text: str) -> list[int]:
    """``1..5`` → [1, 2, 3, 4, 5]; ``0,3`` → [0, 3]."""
    try:
        if ".." in text:
            low, high = text.split("..")
            return list(range(int(low), int(high) + 1))
        return [int(s) for s in text.split(",")]
    except ValueError:
        raise CliError(f"--seeds {text!r}: expected A..B or comma-separated integers") from None


def cmd_evaluate(args) -> int:
    from pathlib import Path

    from .benchmarks import load_nb201_table, select_archs
    from .cache import ResultCache
    from .evaluate import DERIVED, EvaluateConfig, available_proxies, evaluate, import_scores, is_imported
    from .spaces.nb201 import dataset_shape

    dataset_shape(args.dataset)
    known = available_proxies()
    proxies = [p.strip() for p in args.proxies.split(",") if p.strip()]
    unknown = [p for p in proxies if p not in known]
    if unknown:
        raise CliError(f"--proxies: unknown {', '.join(unknown)}; expected any of {', '.join(known)}")
    modes = [m.strip() for m in args.mode.split(",")]
    bad = [m for m in modes if m not in MODES]
    if bad:
        raise CliError(f"--mode: unknown {', '.join(bad)}; expected reference, exact or reference,exact")
    table = load_nb201_table(args.table)
    archs = list(select_archs(table, args.archs, seed=args.sample_seed).arch_str)
    imported = {}
    for source in args.import_scores or []:
        imported.update(import_scores(source, args.dataset))
    components = tuple(c.strip() for c in args.agg_components.split(",") if c.strip())
    per_network = [p for p in known if p not in DERIVED]
    bad = [c for c in components if c not in per_network and c not in imported]
    if not components:
        raise CliError("--agg-components: no component given")
    if bad:
        hint = " (imported columns need --import-scores)" if any(is_imported(c) for c in bad) else ""
        raise CliError(f"--agg-components: unknown {', '.join(bad)}{hint}; expected proxies of "
                       f"{', '.join(per_network)} or imported columns like suite0:jacov")  # fmt: skip
    config = EvaluateConfig(
        dataset=args.dataset, proxies=proxies, archs=archs, seeds=parse_seeds(args.seeds), modes=modes,
        batch=args.batch, workers=args.workers, threads=args.threads, imported=imported, agg_components=components,
    )  # fmt: skip
    cache = ResultCache(args.cache)
    try:
        metrics = evaluate(config, cache, table, Path(args.out), n_boot=args.bootstrap)
    finally:
        cache.close()
    print(metrics[["n", "kt", "spr", "ndcg", "regret@1", "regret@10"]].round(4).to_string())
    print(f"wrote {args.out}/report.md, metrics.csv, scores.csv and plots")
    return 0


def cmd_configs(args) -> int:
    import shutil
    from pathlib import Path

    from .paths import configs_dir

    source = configs_dir()
    files = sorted(p for p in source.iterdir() if p.suffix in (".yml", ".yaml", ".json"))
    if args.out is None:
        print("\n".join(str(p) for p in files))
        return 0
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    existing = [p.name for p in files if (out / p.name).exists()]
    if existing and not args.force:
        raise CliError(f"--out {out}: would overwrite {', '.join(existing)}; pass --force")
    for path in files:
        shutil.copy2(path, out / path.name)
    print(f"copied {len(files)} configs to {out}")
    return 0


def nni_report(argv) -> int:
    """``vkdnw nni-report ...`` is ``vkdnw_nni.report.main`` (its own options, ``--help`` included)."""
    try:
        from vkdnw_nni.report import main as report_main
    except ImportError as error:
        print(f"vkdnw nni-report: error: {error}", file=sys.stderr)
        return 2
    return report_main(argv)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="vkdnw", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser("score", help="VKDNW of one architecture over several seeds")
    score.add_argument("--space", choices=SPACES, default="nb201")
    score.add_argument("--arch", required=True, help="NB201 arch string, index or NASLib tuple; NAS-Bench-Macro code")
    score.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or ImageNet16-120")
    score.add_argument("--seeds", type=int, nargs="+", default=[0])
    score.add_argument("--mode", choices=MODES, default="reference")
    score.add_argument("--batch", type=int, default=64)
    score.add_argument("--device", default="cpu")
    score.add_argument("--tensor-policy", choices=TENSOR_POLICIES, help="default: first (nb201), random (nas-bench-macro)")
    score.add_argument("--quantiles", type=int, choices=N_QUANTILES, help="default: 9 (nb201), 11 (nas-bench-macro)")
    score.add_argument("--json", action="store_true", help="print one JSON document")
    score.set_defaults(run=cmd_score)

    ev = commands.add_parser("evaluate", help="score many NB201 networks with many proxies and compare with ground truth")
    ev.add_argument("--space", choices=("nb201",), default="nb201")
    ev.add_argument("--dataset", default="cifar10", help="cifar10, cifar100 or ImageNet16-120")
    ev.add_argument("--proxies", default="vkdnw_single,vkdnw_agg,flops", help="comma-separated; see error text for the list")
    ev.add_argument("--archs", default="sample:100", help="all, unique, sample:N (seeded, from the unique set), sample:N@all")
    ev.add_argument("--sample-seed", type=int, default=0)
    ev.add_argument("--seeds", default="0", help="network init/input seeds: A..B or a,b,c (scores are averaged)")
    ev.add_argument("--mode", default="reference", help="reference, exact or reference,exact (shares one Jacobian)")
    ev.add_argument("--batch", type=int, default=64)
    ev.add_argument("--workers", type=int, default=1, help="worker processes; torch threads are split between them")
    ev.add_argument("--threads", type=int, help="torch threads per worker (default: CPU cores / workers)")
    ev.add_argument("--cache", default="vkdnw_cache.sqlite", help="SQLite cache: results are written as they complete")
    ev.add_argument("--out", default="vkdnw_eval", help="output folder")
    ev.add_argument("--table", help="NB201 table csv (default: $VKDNW_NB201_TABLE or the shared copy)")
    ev.add_argument("--import-scores", action="append", help="NASLib zc json or Suite-Zero csv/dataset; repeatable")
    ev.add_argument("--bootstrap", type=int, default=200, help="bootstrap resamples for the confidence intervals")
    ev.add_argument("--agg-components", default=",".join(AGG_COMPONENTS),
                    help="VKDNW_agg's components: proxies, or imported columns such as suite0:jacov (NASLib's "
                         "jacov on real images, as the authors' jacov); default the paper's five")  # fmt: skip
    ev.set_defaults(run=cmd_evaluate)

    configs = commands.add_parser("configs", help="list the shipped NNI/NASLib configs, or copy them to --out DIR")
    configs.add_argument("--out", help="folder to copy them to (e.g. configs, then: nnictl create --config configs/vkdnw_nb201.yml)")
    configs.add_argument("--force", action="store_true", help="overwrite files already in --out")
    configs.set_defaults(run=cmd_configs)

    commands.add_parser("nni-report", help="top architectures of a finished NNI experiment (EXPERIMENT_ID --help; [nni] extra)")
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["nni-report"]:
        return nni_report(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except (CliError, ValueError, FileNotFoundError, ImportError) as error:
        print(f"vkdnw {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"vkdnw {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
