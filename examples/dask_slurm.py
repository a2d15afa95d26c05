"""Score all 15,625 NAS-Bench-201 cells over seeds 1-5 (78,125 networks) on a SLURM cluster, through Dask
workers started as SLURM jobs by dask-jobqueue.

Run it on the login node, in an environment the compute nodes share (the jobs start their workers with
this same Python, so they get the same vkdnw-plugin version; a mismatch is refused before scoring):

    pip install "vkdnw-plugin[dask]" dask-jobqueue
    python examples/dask_slurm.py --queue cpu --account myproject [--jobs 10] [--cores 32] [--walltime 04:00:00]
                                  [--dataset cifar10] [--cache nb201_all.sqlite] [--out nb201_all]

Each job runs ``--cores`` single-threaded worker processes (one network per core, one torch thread
each, so no core is oversubscribed). The scheduler runs in this process; results go into the SQLite
cache here as they arrive, so rerunning the command after an interruption resumes where it stopped.
Against a Dask cluster started some other way, the command line does the same:

    vkdnw evaluate --archs all --seeds 1..5 --scheduler tcp://SCHEDULER:8786 --cache nb201_all.sqlite --out nb201_all
"""

import argparse
from pathlib import Path

from dask_jobqueue import SLURMCluster

from vkdnw_plugin.cache import ResultCache
from vkdnw_plugin.evaluate import EvaluateConfig, evaluate
from vkdnw_plugin.groundtruth import ground_truth
from vkdnw_plugin.vkdnw_options import VKDNWOptions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--queue", required=True, help="SLURM partition (#SBATCH -p)")
    parser.add_argument("--account", help="SLURM account (#SBATCH -A)")
    parser.add_argument("--jobs", type=int, default=10, help="SLURM jobs, each one node's worth of workers")
    parser.add_argument("--cores", type=int, default=32, help="cores per job = single-threaded workers per job")
    parser.add_argument("--walltime", default="04:00:00")
    parser.add_argument("--dataset", default="cifar10")
    parser.add_argument("--cache", default="nb201_all.sqlite")
    parser.add_argument("--out", default="nb201_all")
    args = parser.parse_args()

    cluster = SLURMCluster(
        queue=args.queue,
        account=args.account,
        cores=args.cores,
        processes=args.cores,  # one thread per worker process
        memory=f"{2 * args.cores} GB",  # 2 GB per worker: one NB201 network at batch 64 needs well under 1 GB
        walltime=args.walltime,
        nanny=False,  # a nanny sets MALLOC_TRIM_THRESHOLD_ for its worker, which made scoring about 2x slower
        local_directory="$TMPDIR",
    )
    cluster.scale(jobs=args.jobs)
    try:
        accuracy = ground_truth("nb201", args.dataset, "all")
        config = EvaluateConfig(dataset=args.dataset, proxies=["vkdnw_single", "vkdnw_agg", "flops"], archs=list(accuracy.index),
                                seeds=[1, 2, 3, 4, 5], options=VKDNWOptions(threads=1), scheduler=cluster.scheduler_address)  # fmt: skip
        cache = ResultCache(args.cache)
        try:
            evaluate(config, cache, accuracy, Path(args.out))
        finally:
            cache.close()
    finally:
        cluster.close()


if __name__ == "__main__":
    main()
