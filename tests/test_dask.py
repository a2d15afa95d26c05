"""``vkdnw evaluate --scheduler``: a real ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1
(a worker and then the client SIGKILLed mid-run), ``local:N``, bad addresses, the workers' version check
and a network whose scoring raises; results are compared with a local-worker run of the same command."""

import contextlib
import json
import math
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed (pip install vkdnw-plugin[dask])")

from vkdnw_plugin import __version__
from vkdnw_plugin.cache import ResultCache
from vkdnw_plugin.evaluate import EvaluateConfig, Task, _score_network, run_scoring
from vkdnw_plugin.executors import CONNECT_TIMEOUT, DaskExecutor, _run_task, check_reachable, parse_scheduler
from vkdnw_plugin.options import OptionError
from vkdnw_plugin.vkdnw_options import VKDNWOptions

NETWORKS = 8
ARGS = ["evaluate", "--archs", f"sample:{NETWORKS}", "--batch", "4", "--proxies", "vkdnw_single,flops", "--bootstrap", "10"]
ROWS = NETWORKS * 2  # vkdnw_single[reference], flops
ARCH = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
ARCHS = [ARCH, ARCH.replace("skip_connect", "avg_pool_3x3"), ARCH.replace("skip_connect", "none")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def evaluate_command(folder, *extra) -> list[str]:
    return [sys.executable, "-m", "vkdnw_plugin.cli", *ARGS, "--cache", str(folder / "cache.sqlite"), "--out", str(folder / "out"), *extra]


def stored(path) -> list[tuple]:
    """Cached rows ``(arch, proxy, seed, mode, value, fields without the timing)``, sorted."""
    if not path.exists():
        return []
    db = sqlite3.connect(path)
    try:
        rows = db.execute("SELECT arch, proxy, seed, mode, value, fields FROM results").fetchall()
    except sqlite3.DatabaseError:
        return []
    finally:
        db.close()
    return sorted((*key, value, json.dumps({k: v for k, v in json.loads(fields).items() if k != "seconds"}, sort_keys=True))
                  for *key, value, fields in rows)  # fmt: skip


def wait_until(condition, run: subprocess.Popen, what: str, timeout: float = 120):
    """``condition()``'s first true value while ``run`` is still going; fails when ``run`` ended first."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        assert run.poll() is None, f"the run finished before {what}; make the test workload larger"
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    pytest.fail(f"timed out waiting for {what}")


@pytest.fixture(scope="module")
def env(shared):
    return {**os.environ, "VKDNW_SHARED": str(shared), "OMP_NUM_THREADS": "1"}


@pytest.fixture(scope="module")
def reference(env, tmp_path_factory):
    """The same evaluation with local workers: (cached rows, scores.csv text, metrics.csv text)."""
    folder = tmp_path_factory.mktemp("local")
    done = subprocess.run(evaluate_command(folder), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    return stored(folder / "cache.sqlite"), (folder / "out/scores.csv").read_text(), (folder / "out/metrics.csv").read_text()


def same_results(folder, reference) -> None:
    rows, scores, metrics = reference
    assert len(rows) == ROWS and stored(folder / "cache.sqlite") == rows
    assert (folder / "out/scores.csv").read_text() == scores
    assert (folder / "out/metrics.csv").read_text() == metrics


@pytest.fixture(scope="module")
def cluster(env, tmp_path_factory):
    """``(address, worker processes)``: ``dask scheduler`` and two ``dask worker --nthreads 1 --no-nanny``
    on 127.0.0.1 at free ports, all killed at teardown."""
    folder = tmp_path_factory.mktemp("cluster")
    address = f"tcp://127.0.0.1:{free_port()}"
    local = ["--host", "127.0.0.1", "--no-dashboard"]
    commands = [[sys.executable, "-m", "distributed.cli.dask_scheduler", *local, "--port", address.rsplit(":", 1)[1]]]
    commands += [[sys.executable, "-m", "distributed.cli.dask_worker", address, *local, "--nthreads", "1", "--no-nanny",
                  "--local-directory", str(folder / f"worker{i}")] for i in range(2)]  # fmt: skip
    processes = []
    try:
        for i, command in enumerate(commands):
            with open(folder / f"dask{i}.log", "w") as log:
                processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT))
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(2, timeout=60)
        yield address, processes[1:]
    finally:
        for process in processes:
            process.kill()
        for process in processes:
            process.wait(timeout=30)


def test_killed_worker_then_killed_client_lose_nothing_and_match_local_workers(cluster, env, reference, tmp_path):
    address, workers = cluster
    folder = tmp_path / "dask"
    folder.mkdir()
    cache = folder / "cache.sqlite"
    with distributed.Client(address, set_as_default=False) as client:
        pids = client.run(os.getpid)
        command = evaluate_command(folder, "--scheduler", address)
        run = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            busy = wait_until(lambda: len(stored(cache)) >= 2 and [w for w, keys in client.processing().items() if keys], run, "a worker was busy")
            victim = next(w for w in workers if w.pid == pids[busy[0]])
            victim.send_signal(signal.SIGKILL)
            victim.wait(timeout=30)
            wait_until(lambda: len(stored(cache)) >= 6, run, "3 networks were stored after the worker was killed")
        finally:
            run.kill()  # the client: SIGKILL
            run.wait(timeout=30)
        before = stored(cache)
        assert 6 <= len(before) < ROWS
        again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr
    assert set(before) <= set(stored(cache))
    same_results(folder, reference)
    complete = len({(arch, seed) for arch, proxy, seed, *_ in before if sum(1 for r in before if (r[0], r[2]) == (arch, seed)) == 2})
    assert f"**networks scored this run**: {NETWORKS - complete}" in (folder / "out/report.md").read_text()


def test_local_cluster_matches_local_workers(reference, tmp_path, capsys):
    archs = sorted({row[0] for row in reference[0]})[:3]
    config = EvaluateConfig(dataset="cifar10", proxies=["vkdnw_single", "flops"], archs=archs, seeds=[0],
                            options=VKDNWOptions(batch=4), scheduler="local:2")  # fmt: skip
    cache = ResultCache(tmp_path / "cache.sqlite")
    try:
        assert run_scoring(config, cache) == 3
    finally:
        cache.close()
    assert stored(tmp_path / "cache.sqlite") == [row for row in reference[0] if row[0] in archs]
    assert "net/min" in capsys.readouterr().err


@pytest.mark.parametrize("text", ["tcp://127.0.0.1", "127.0.0.1:8786", "http://127.0.0.1:8786", "tcp://:8786", "tcp://127.0.0.1:99999",
                                  "tcp://127.0.0.1:8786/x", "local:0", "local:two", "local:", ""])  # fmt: skip
def test_malformed_scheduler_is_named(text):
    with pytest.raises(OptionError, match="expected tcp://HOST:PORT"):
        parse_scheduler(text)


def test_missing_distributed_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)
    with pytest.raises(ImportError, match=r"--scheduler needs dask.distributed .*: pip install vkdnw-plugin\[dask\]"):
        DaskExecutor("local:1", threads=1)


def test_scheduler_forms():
    assert parse_scheduler("local:3") == ("local", 3)
    assert parse_scheduler("tcp://10.0.0.5:8786") == ("tcp", "tcp://10.0.0.5:8786")
    with pytest.raises(OptionError, match="cannot be combined with --scheduler"):
        EvaluateConfig(dataset="cifar10", proxies=["flops"], archs=ARCHS, seeds=[0], workers=2, scheduler="local:2")


@pytest.mark.parametrize("kind", ["malformed", "refused"])
def test_bad_scheduler_exits_2_with_one_line_within_10_s(env, tmp_path, kind):
    address = "tcp://127.0.0.1" if kind == "malformed" else f"tcp://127.0.0.1:{free_port()}"
    started = time.perf_counter()
    done = subprocess.run(evaluate_command(tmp_path, "--scheduler", address), env=env, capture_output=True, text=True, timeout=60)
    elapsed = time.perf_counter() - started
    assert done.returncode == 2
    assert done.stderr.startswith(f"vkdnw evaluate: error: --scheduler {address}: ") and done.stderr.count("\n") == 1, done.stderr
    assert elapsed < 10, f"{elapsed:.1f} s"
    assert not (tmp_path / "cache.sqlite").exists()


def serve(behaviour):
    """A 127.0.0.1 server that is no Dask scheduler: ``silent`` accepts and never answers, ``http``
    answers like a web server. Returns its address and a function that stops it."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    server.settimeout(0.2)
    stop = threading.Event()

    def loop():
        while not stop.is_set():
            with contextlib.suppress(socket.timeout):
                conn, _ = server.accept()
                if behaviour == "http":
                    conn.sendall(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                    conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()

    def close():
        stop.set()
        thread.join()
        server.close()

    return f"tcp://127.0.0.1:{server.getsockname()[1]}", close


@pytest.mark.parametrize("behaviour, problem", [("silent", f"nothing answered within {CONNECT_TIMEOUT} s"), ("http", "no Dask scheduler answered")])
def test_server_that_is_no_scheduler_is_refused_in_time(behaviour, problem):
    address, close = serve(behaviour)
    started = time.perf_counter()
    try:
        with pytest.raises(OptionError, match=problem):
            check_reachable(distributed, address)
    finally:
        close()
    assert time.perf_counter() - started < CONNECT_TIMEOUT + 2


def test_workers_without_the_package_or_with_another_version_are_named_before_scoring(cluster, tmp_path):
    address = cluster[0]
    config = EvaluateConfig(dataset="cifar10", proxies=["flops"], archs=ARCHS, seeds=[0], options=VKDNWOptions(batch=4), scheduler=address)
    cache = ResultCache(tmp_path / "cache.sqlite")
    with distributed.Client(address, set_as_default=False) as client:
        victim = sorted(client.scheduler_info()["workers"])[0]
        client.run(lambda: sys.modules.__setitem__("vkdnw_plugin", None), workers=[victim])
        try:
            with pytest.raises(OptionError, match=f"worker {victim} cannot import vkdnw_plugin"):
                run_scoring(config, cache, progress=False)
        finally:
            client.run(lambda: sys.modules.pop("vkdnw_plugin"), workers=[victim])
        old = client.run(lambda: __import__("vkdnw_plugin").__version__, workers=[victim])[victim]
        client.run(lambda: setattr(__import__("vkdnw_plugin"), "__version__", "0.0.0"), workers=[victim])
        try:
            with pytest.raises(OptionError) as raised:
                run_scoring(config, cache, progress=False)
        finally:
            client.run(lambda: setattr(__import__("vkdnw_plugin"), "__version__", old), workers=[victim])
    assert raised.value.cli_message() == (f"--scheduler {address}: worker {victim} has vkdnw-plugin 0.0.0, this client {__version__}; "
                                          "install the same version on every worker")  # fmt: skip
    assert cache.is_empty()
    cache.close()


def task(arch: str, wanted) -> Task:
    """One NB201 CIFAR-10 network at batch 4, seed 0, as ``vkdnw evaluate`` sends it."""
    return Task(arch, "nb201", "cifar10", VKDNWOptions(batch=4).for_space("nb201"), wanted)


def test_task_on_a_worker_with_another_version_is_refused(cluster):
    with distributed.Client(cluster[0], set_as_default=False) as client:
        future = client.submit(_run_task, _score_network, 1, "0.0.0", task(ARCH, [("flops", "-")]), pure=False)
        with pytest.raises(ValueError, match=f"has vkdnw-plugin {__version__}, the client 0.0.0; install the same version"):
            future.result()


def test_raising_network_on_a_dask_worker_comes_back_invalid_with_the_reason(cluster):
    wanted = [("vkdnw_single", "reference"), ("flops", "-")]
    items = [task("not-an-arch", wanted), task(ARCH, wanted)]
    with DaskExecutor(cluster[0], threads=1) as executor:
        results = {arch: rows for arch, seed, rows, caught in executor.imap_unordered(_score_network, items)}
    assert [row[:2] for row in results["not-an-arch"]] == wanted
    for _, _, value, fields in results["not-an-arch"]:
        assert math.isnan(value) and not fields["valid"] and fields["reason"].startswith("scoring raised OptionError: arch='not-an-arch'")
    assert all(math.isfinite(row[2]) for row in results[ARCH])


def test_raising_network_is_recorded_invalid_and_the_run_goes_on(tmp_path, monkeypatch):
    from vkdnw_plugin import evaluate

    score_rows = evaluate._score_rows

    def flaky(item):
        if item[0] == ARCH:
            raise RuntimeError("out of\nmemory")
        return score_rows(item)

    monkeypatch.setattr(evaluate, "_score_rows", flaky)
    config = EvaluateConfig(dataset="cifar10", proxies=["flops"], archs=ARCHS, seeds=[0], options=VKDNWOptions(batch=4))
    cache = ResultCache(tmp_path / "cache.sqlite")
    try:
        with pytest.warns(RuntimeWarning, match="recorded as invalid"):
            assert run_scoring(config, cache, progress=False) == 3
        rows = {row["arch"]: row for row in cache.rows("nb201", "cifar10", 4, config.options.cache_options())}
    finally:
        cache.close()
    assert math.isnan(rows[ARCH]["value"]) and rows[ARCH]["fields"] == {"valid": False, "reason": "scoring raised RuntimeError: out of memory"}
    assert all(math.isfinite(rows[arch]["value"]) for arch in ARCHS[1:])
