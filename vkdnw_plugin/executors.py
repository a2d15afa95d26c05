"""Where scoring tasks run: local worker processes or a Dask cluster, behind one interface.

:func:`make_executor` returns an executor; ``with executor:`` holds its processes or cluster
connection, and ``executor.imap_unordered(fn, items)`` yields ``fn(item)`` for every item in the order
they complete, so the caller can store each result the moment it arrives. ``fn`` must be a
module-level function (it is pickled by reference to the workers).

Every task runs with ``threads`` torch threads; Dask workers get one task per worker thread, so a
worker with ``nthreads`` threads uses ``nthreads × threads`` cores.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import multiprocessing
import signal
import socket
import warnings
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

from . import __version__
from .options import OptionError, OversubscriptionWarning, check_count, check_workers_threads

CONNECT_TIMEOUT = 3  # seconds for a Dask scheduler to answer, so that a bad address fails within 10 s in all
RETRIES = 2  # further tries of a Dask task that raised (a task lost with its worker is rerun by the scheduler)
SCHEDULER_FORMS = "expected tcp://HOST:PORT (a running Dask scheduler) or local:N (a LocalCluster of N workers)"
log = logging.getLogger(__name__)


def set_torch_threads(threads: int) -> None:
    """Torch intra-op threads of this process (of the calling thread under OpenMP)."""
    import torch

    torch.set_num_threads(threads)


def _ignore_ctrl_c() -> None:
    """A worker process of this machine leaves Ctrl-C to the main process (which stops it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _init_pool_worker(threads: int) -> None:
    _ignore_ctrl_c()
    set_torch_threads(threads)


class LocalExecutor:
    """``workers`` spawned processes with ``threads`` torch threads each; one worker (or one item)
    runs in this process."""

    def __init__(self, workers: int, threads: int):
        self.workers, self.threads = check_count("workers", workers), check_count("threads", threads)
        self.pool = None

    def __enter__(self) -> LocalExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def imap_unordered(self, fn: Callable, items: list) -> Iterator:
        """``fn(item)`` for each item, in completion order."""
        workers = min(self.workers, len(items))
        if workers <= 1:
            set_torch_threads(self.threads)
            yield from map(fn, items)
            return
        self.pool = multiprocessing.get_context("spawn").Pool(workers, _init_pool_worker, (self.threads,))
        yield from self.pool.imap_unordered(fn, items)

    def close(self) -> None:
        """Stop the worker processes (unfinished items are dropped)."""
        if self.pool is not None:
            self.pool.terminate()
            self.pool = None


def parse_scheduler(text: str) -> tuple[str, int | str]:
    """``("local", N)`` for ``local:N``, ``("tcp", "tcp://HOST:PORT")`` for a scheduler address; an
    :class:`OptionError` naming ``scheduler`` otherwise. Nothing is contacted."""
    if not isinstance(text, str):
        raise OptionError("scheduler", text, SCHEDULER_FORMS)
    if text.startswith("local:"):
        count = text.removeprefix("local:")
        if not count.isdigit() or int(count) < 1:
            raise OptionError("scheduler", text, f"{count!r} is not a positive number of workers; {SCHEDULER_FORMS}")
        return "local", int(count)
    parts = urlsplit(text)
    try:
        port = parts.port
    except ValueError:
        port = None
    if parts.scheme != "tcp" or not parts.hostname or port is None or parts.path or parts.query or parts.fragment:
        raise OptionError("scheduler", text, SCHEDULER_FORMS)
    return "tcp", text


def _check_without_workers(scheduler: str, workers: int) -> None:
    """``--workers`` stays 1 with a scheduler (a cluster brings its own workers)."""
    if workers != 1:
        raise OptionError("workers", workers, f"local worker processes cannot be combined with --scheduler {scheduler}; "
                          "use --scheduler local:N for N Dask workers on this machine")  # fmt: skip


def check_scheduler(scheduler: str | None, workers: int, threads: int) -> None:
    """``scheduler`` (``None``: local worker processes) parses and comes without ``workers``;
    ``local:N`` warns like ``N`` local workers when ``N × threads`` exceeds the CPU cores."""
    if scheduler is None:
        return
    kind, target = parse_scheduler(scheduler)
    _check_without_workers(scheduler, workers)
    if kind == "local":
        check_workers_threads(target, threads)


def _distributed():
    """The ``distributed`` module, or an ImportError saying how to install it."""
    try:
        import distributed
    except ImportError as error:
        raise ImportError(f"--scheduler needs dask.distributed ({error}): pip install vkdnw-plugin[dask]") from None
    return distributed


def _run_task(fn: Callable, threads: int, version: str, item):
    """On a Dask worker: ``fn(item)`` with ``threads`` torch threads, refused (ValueError) when the
    worker's vkdnw-plugin is not the client's ``version`` (a worker that joined after the check of
    :func:`check_workers`; its scores would be cached under the client's version)."""
    if __version__ != version:
        from distributed import get_worker

        address = get_worker().address
        raise ValueError(f"Dask worker {address} has vkdnw-plugin {__version__}, the client {version}; install the same version on every worker")
    set_torch_threads(threads)
    return fn(item)


def _probe_workers(client) -> dict[str, dict]:
    """Per worker address: ``version`` of vkdnw-plugin (``None`` with the import ``error`` when it
    cannot be imported), usable CPU ``cores``, and the ``malloc_trim`` environment variable. The probe
    is a local function, so it is pickled by value and runs on workers that lack the package."""

    def probe():
        import os

        found = {"cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
                 "malloc_trim": os.environ.get("MALLOC_TRIM_THRESHOLD_"), "version": None, "error": ""}  # fmt: skip
        try:
            from vkdnw_plugin import __version__ as version
        except ImportError as error:
            return {**found, "error": str(error)}
        return {**found, "version": version}

    return client.run(probe)


def check_workers(client, scheduler: str, threads: int) -> None:
    """Before scoring: every worker has this vkdnw-plugin version (an :class:`OptionError` naming the
    first that has not). Warns (:class:`OversubscriptionWarning`) when a worker's threads × ``threads``
    exceed its cores, and (``RuntimeWarning``) about workers whose nanny set ``MALLOC_TRIM_THRESHOLD_``
    (Dask's default), which fixes glibc's mmap threshold and slows scoring down (benchmarks/results/dask_overhead.md)."""
    nthreads = {address: info["nthreads"] for address, info in client.scheduler_info()["workers"].items()}
    probed = sorted(_probe_workers(client).items())
    for address, found in probed:
        if found["version"] is None:
            raise OptionError("scheduler", scheduler, f"worker {address} cannot import vkdnw_plugin ({found['error']}); "
                              f"install vkdnw-plugin {__version__} on every worker")  # fmt: skip
        if found["version"] != __version__:
            raise OptionError("scheduler", scheduler, f"worker {address} has vkdnw-plugin {found['version']}, this client {__version__}; "
                              "install the same version on every worker")  # fmt: skip
        tasks, cores = nthreads.get(address, 1), found["cores"]
        if tasks * threads > cores:
            message = (f"Dask worker {address}: {tasks} task thread(s) x {threads} torch thread(s) = {tasks * threads} on {cores} "
                       f"CPU cores; start workers with --nthreads {max(1, cores // threads)} or fewer")  # fmt: skip
            warnings.warn(message, OversubscriptionWarning, stacklevel=2)
    trimmed = [address for address, found in probed if found["malloc_trim"] is not None]
    if trimmed:
        warnings.warn(f"{len(trimmed)} of {len(probed)} Dask workers run with MALLOC_TRIM_THRESHOLD_ set (the nanny's default), which "
                      "makes scoring about 2x slower; start them with --no-nanny, or set distributed.nanny.pre-spawn-environ."
                      "MALLOC_TRIM_THRESHOLD_ to null in their Dask config", RuntimeWarning, stacklevel=2)  # fmt: skip


async def _identity(distributed, address: str) -> dict:
    """What the Dask server at ``address`` says it is (``{"type": "Scheduler", ...}``)."""
    comm = await distributed.comm.connect(address, timeout=CONNECT_TIMEOUT)
    try:
        await comm.write({"op": "identity"})
        return await comm.read()
    finally:
        comm.abort()


def _one_line(error: BaseException) -> str:
    """``TypeName: message`` on one line, at most 200 characters of message."""
    return f"{type(error).__name__}: {' '.join(str(error).split())[:200]}"


def check_reachable(distributed, scheduler: str) -> None:
    """An :class:`OptionError` within :data:`CONNECT_TIMEOUT` seconds unless a Dask scheduler answers
    at ``scheduler`` (checked over connections of its own, so a failure leaves nothing behind; a
    refused connection fails at once, where Dask would retry it until its timeout)."""
    address = urlsplit(scheduler)
    try:
        socket.create_connection((address.hostname, address.port), timeout=CONNECT_TIMEOUT).close()
        reply = asyncio.run(asyncio.wait_for(_identity(distributed, scheduler), CONNECT_TIMEOUT))
    except asyncio.TimeoutError:
        problem = f"nothing answered within {CONNECT_TIMEOUT} s"
    except OSError as error:
        problem = f"cannot connect ({_one_line(error)})"
    except Exception as error:  # another kind of server answers with bytes that are no Dask message
        problem = f"no Dask scheduler answered there ({_one_line(error)})"
    else:
        kind = reply.get("type") if isinstance(reply, dict) else type(reply).__name__
        if kind == "Scheduler":
            return
        problem = f"a {kind} answered there, not a Dask scheduler"
    raise OptionError("scheduler", scheduler, problem)


def _local_cluster(distributed, workers: int):
    """A ``LocalCluster`` of ``workers`` single-threaded processes on 127.0.0.1, with its HTTP server
    on a free port (no clash with another cluster's 8787) and without the nanny's
    ``MALLOC_TRIM_THRESHOLD_`` (see :func:`check_workers`)."""
    import dask

    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
        return distributed.LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None,
                                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"}, silence_logs=logging.ERROR)  # fmt: skip


class DaskExecutor:
    """Tasks on a Dask cluster: a running scheduler (``tcp://HOST:PORT``) or a ``LocalCluster`` of
    ``N`` single-threaded worker processes on 127.0.0.1 (``local:N``). Connecting waits for a first
    worker, then checks every worker's vkdnw-plugin version."""

    def __init__(self, scheduler: str, threads: int):
        distributed = _distributed()
        kind, target = parse_scheduler(scheduler)
        self.scheduler, self.threads = scheduler, check_count("threads", threads)
        self.cluster = _local_cluster(distributed, target) if kind == "local" else None
        if kind == "tcp":
            check_reachable(distributed, scheduler)
        self.client = distributed.Client(self.cluster or target, set_as_default=False)
        try:
            if self.cluster is not None:
                self.client.run(_ignore_ctrl_c)  # on the workers' main threads
            self._wait_for_workers()
            check_workers(self.client, scheduler, threads)
        except BaseException:
            self.close()
            raise

    def _wait_for_workers(self) -> None:
        """Block until a worker has joined (a job-queue cluster's jobs may still be queued)."""
        if not self.client.scheduler_info()["workers"]:
            log.info("waiting for a first Dask worker to join %s", self.scheduler)
            self.client.wait_for_workers(1)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def imap_unordered(self, fn: Callable, items: list) -> Iterator:
        """``fn(item)`` for each item, in completion order. A task whose worker dies is rerun on
        another worker by the scheduler; each item's result is yielded exactly once."""
        task = functools.partial(_run_task, fn, self.threads, __version__)
        futures = _distributed().as_completed(self.client.map(task, items, retries=RETRIES, pure=False), loop=self.client.loop)
        for future in futures:
            yield future.result()
            future.release()

    def close(self) -> None:
        """Cancel what is left, disconnect, and stop a ``local:N`` cluster."""
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None


def make_executor(scheduler: str | None, workers: int, threads: int) -> LocalExecutor | DaskExecutor:
    """Local worker processes (``scheduler`` ``None``) or a Dask cluster (``tcp://HOST:PORT`` or
    ``local:N``), each task with ``threads`` torch threads. Checked here, warned about (oversubscribed
    cores) by :func:`check_scheduler` and :func:`~vkdnw_plugin.options.check_workers_threads`."""
    if scheduler is None:
        return LocalExecutor(workers, threads)
    _check_without_workers(scheduler, workers)
    return DaskExecutor(scheduler, threads)
