"""Offline NAS-Bench-201 database for ``nni.nas.benchmark.nasbench201`` (NNI's own peewee schema).

NNI's download of ``nasbench201-b2b60732.db`` is broken; this writes the same tables from the shared
NB201 table (``vkdnw-nni build-nb201-db --out PATH``), and :func:`use_nb201_db` points NNI's queries
at it (NNI checks the file's hash against its download). One 200-epoch config per (architecture,
dataset), seed 0 = the seed mean: ``valid_acc`` / ``test_acc`` are the :data:`DATASETS` columns,
``ori_test_acc`` is ``c10_test`` on cifar10 and the mean of both halves otherwise; ``flops`` is MFLOPs
(Conv2d + Linear MACs of one image); ``train_acc``, ``latency`` and timings are -1, losses NULL, and
there are no intermediate stats.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from vkdnw_plugin.options import OneLineParser

DATASETS = {  # NNI dataset -> (valid column, test column, params column, classes, resolution)
    "cifar10": ("c10_valid", "c10_test", "params_mb_c10", 10, 32),
    "cifar100": ("c100_valid_derived", "c100_test", "params_mb_c100", 100, 32),
    "imagenet16-120": ("in16_valid_derived", "in16_test", "params_mb_in16", 120, 16),
}


def _nni_benchmark():
    """``(schema, utils)`` modules of NNI's NB201 benchmark (NNI 3.0 or 2.10)."""
    try:
        from nni.nas.benchmark import utils
        from nni.nas.benchmark.nasbench201 import schema
    except ImportError:
        from nni.nas.benchmarks import utils  # type: ignore[no-redef]
        from nni.nas.benchmarks.nasbench201 import model as schema  # type: ignore[no-redef]
    return schema, utils


def _flops_model(classes: int, resolution: int):
    """MFLOPs of an arch = base + n_conv3x3 · c3 + n_conv1x1 · c1 (exact: every edge of a stage sees one shape)."""
    from vkdnw_plugin.proxies.flops import count_macs
    from vkdnw_plugin.spaces.nb201 import NB201Arch, nb201_network

    def flops(ops):
        return count_macs(nb201_network(NB201Arch(tuple(ops)), classes), (1, 3, resolution, resolution)) / 1e6

    base = flops(["none"] * 6)
    c3 = flops(["nor_conv_3x3"] + ["none"] * 5) - base
    c1 = flops(["nor_conv_1x1"] + ["none"] * 5) - base
    return lambda arch: base + c3 * arch.count("nor_conv_3x3") + c1 * arch.count("nor_conv_1x1")


def build_nb201_db(out: str | os.PathLike, table: str | os.PathLike | None = None, progress: bool = True) -> Path:
    """Write the database to ``out`` (overwritten) from the NB201 table; returns its path."""
    from peewee import chunked
    from playhouse.sqlite_ext import SqliteExtDatabase

    from vkdnw_plugin.groundtruth import load_nb201_table
    from vkdnw_plugin.spaces.nb201 import parse_arch

    schema, _ = _nni_benchmark()
    Nb201TrialConfig, Nb201TrialStats, proxy = schema.Nb201TrialConfig, schema.Nb201TrialStats, schema.proxy

    frame = load_nb201_table(table)
    out = Path(out).expanduser()
    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.unlink()
    db = SqliteExtDatabase(str(out))
    proxy.initialize(db)
    db.create_tables([Nb201TrialConfig, Nb201TrialStats, schema.Nb201IntermediateStats])

    with db.atomic():
        for dataset, (valid_col, test_col, params_col, classes, resolution) in DATASETS.items():
            flops_of = _flops_model(classes, resolution)
            configs = [{"arch": parse_arch(row.arch_str).nni(), "num_epochs": 200, "num_channels": 16,
                        "num_cells": 5, "dataset": dataset} for row in frame.itertuples(index=False)]
            for batch in chunked(configs, 500):
                Nb201TrialConfig.insert_many(batch).execute()
            first_id = Nb201TrialConfig.select().where(Nb201TrialConfig.dataset == dataset).order_by(
                Nb201TrialConfig.id).first().id
            stats = []
            for offset, row in enumerate(frame.itertuples(index=False)):
                valid, test = float(getattr(row, valid_col)), float(getattr(row, test_col))
                ori = test if dataset == "cifar10" else (valid + test) / 2
                stats.append({
                    "config": first_id + offset, "seed": 0, "train_acc": -1.0, "valid_acc": valid,
                    "test_acc": test, "ori_test_acc": ori, "train_loss": None, "valid_loss": None,
                    "test_loss": None, "ori_test_loss": None, "parameters": float(getattr(row, params_col)),
                    "latency": -1.0, "flops": flops_of(parse_arch(row.arch_str).ops), "training_time": -1.0,
                    "valid_evaluation_time": -1.0, "test_evaluation_time": -1.0, "ori_test_evaluation_time": -1.0,
                })  # fmt: skip
            for batch in chunked(stats, 500):
                Nb201TrialStats.insert_many(batch).execute()
            if progress:
                print(f"{dataset}: {len(stats)} architectures", file=sys.stderr)
    db.close()
    proxy.initialize(None)
    return out


def use_nb201_db(path: str | os.PathLike) -> None:
    """Point ``nni.nas.benchmark.nasbench201`` queries at ``path`` instead of NNI's download."""
    from playhouse.sqlite_ext import SqliteExtDatabase

    schema, utils = _nni_benchmark()
    proxy = schema.proxy
    path = Path(path).expanduser()
    if not path.is_file():
        raise FileNotFoundError(f"NB201 database {path} not found; build it with `vkdnw-nni build-nb201-db --out {path}`")
    db = SqliteExtDatabase(str(path), autoconnect=True)
    utils._loaded_benchmarks["nasbench201"] = db
    proxy.initialize(db)


def main(argv=None) -> int:
    parser = OneLineParser(prog="vkdnw-nni build-nb201-db", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, help="sqlite file to write")
    parser.add_argument("--table", default=None, help="NB201 table (default: $VKDNW_NB201_TABLE or shared copy)")
    args = parser.parse_args(argv)
    path = build_nb201_db(args.out, args.table)
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
