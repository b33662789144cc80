"""The compute options under hostile input (issue 25, items 1-4), run as a user runs them: a
scheduler address that is not one, a server of another kind on the port, --workers beyond the
machine, a cluster that loses its last worker, and workers that die on every trial; the cluster
cases against real `dask scheduler` / `dask worker` processes on 127.0.0.1."""

from __future__ import annotations

import http.server
import os
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import yaml

from tests.support.bad_input import assert_bad_input
from tests.support.dask_cluster import DaskCluster, start_cluster

TIMEOUT_S = 2  # compute.cluster_timeout_s in these runs: how long a cluster may not answer


def _configure(cli, **sections) -> None:
    """Set fields of the copy's base.yaml, e.g. compute={"cluster_timeout_s": 2}."""
    path = cli.root / "config" / "core" / "base.yaml"
    config = yaml.safe_load(path.read_text())
    for section, values in sections.items():
        config[section].update(values)
    path.write_text(yaml.safe_dump(config))


@pytest.fixture
def quick_cli(repo_copy):
    _configure(repo_copy, compute={"cluster_timeout_s": TIMEOUT_S})
    return repo_copy


# -- 1. a scheduler that is not one ------------------------------------------------------------
@pytest.mark.parametrize(
    ("address", "given_by", "message"),
    [
        ("notanaddress", "--scheduler", r"scheduler address 'notanaddress' is not tcp://HOST:PORT"),
        ("http://127.0.0.1:8787", "--scheduler", r"'http://127\.0\.0\.1:8787' is not tcp://HOST"),
        ("tcp://127.0.0.1:99999", "--scheduler", r"'tcp://127\.0\.0\.1:99999' is not tcp://HOST"),
        ("garbage::::", "DASK_SCHEDULER_ADDRESS", r"'garbage::::' is not tcp://HOST:PORT"),
    ],
)  # fmt: skip
def test_an_address_of_no_scheduler_form_is_refused_before_any_candles(
    cli, tmp_path, monkeypatch, address, given_by, message
):
    never_read = tmp_path / "candles.csv"  # judged before any candles are read
    args = ["--source", str(never_read), "--models-dir", str(tmp_path / "models"), "--tune"]
    if given_by == "--scheduler":
        args += ["--scheduler", address]
    else:
        monkeypatch.setenv("DASK_SCHEDULER_ADDRESS", address)

    completed = cli.create_ml_models(*args)

    assert_bad_input(completed, message + r".*pass the address `dask scheduler` prints")


class _Greeter(socket.socket):
    """A TCP service that greets each connection with a line, as SSH does."""

    def serve(self) -> None:
        while True:
            try:
                connection, _ = self.accept()
            except OSError:  # closed
                return
            connection.sendall(b"SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n")


@pytest.fixture
def web_server() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), http.server.SimpleHTTPRequestHandler
    )
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()


@pytest.fixture
def greeter() -> Iterator[int]:
    service = _Greeter()
    service.bind(("127.0.0.1", 0))
    service.listen()
    threading.Thread(target=service.serve, daemon=True).start()
    yield service.getsockname()[1]
    service.close()


@pytest.mark.timeout(120)  # before the fix the web server case hung for minutes
def test_a_web_server_or_another_service_on_the_port_is_no_scheduler(
    quick_cli, tmp_path, web_server, greeter
):
    for port, message in (
        (web_server, rf"no Dask scheduler answers at tcp://127\.0\.0\.1:{web_server}: no Dask "
                     rf"handshake within {TIMEOUT_S} s .*web server"),
        (greeter, rf"tcp://127\.0\.0\.1:{greeter} answers, but not as a Dask scheduler "
                  r"\(its first bytes b'SSH-2\.0-' are no Dask handshake\)"),
    ):  # fmt: skip
        completed = quick_cli.create_ml_models(
            "--source", str(tmp_path / "never-read.csv"), "--models-dir", str(tmp_path / "m"),
            "--tune", "--scheduler", f"tcp://127.0.0.1:{port}",
        )  # fmt: skip
        assert_bad_input(completed, message)


# -- 2. --workers beyond the machine, and no cluster when nothing runs in parallel -------------
def test_workers_beyond_the_memory_limit_are_refused_before_any_candles(cli, tmp_path):
    completed = cli.create_ml_models(
        "--source", str(tmp_path / "never-read.csv"), "--models-dir", str(tmp_path / "models"),
        "--tune", "--workers", "1000",
    )  # fmt: skip
    assert_bad_input(
        completed,
        r"1000 workers x compute\.memory_limit_mib 1024 MiB = 1,024,000 MiB, above "
        r"limits\.max_rss_mib 1,024 MiB .*pass --workers 1",
    )


def test_workers_beyond_the_cpus_are_refused_before_any_candles(repo_copy, tmp_path):
    _configure(repo_copy, compute={"memory_limit_mib": 400}, limits={"max_rss_mib": 10**7})
    cpus = len(os.sched_getaffinity(0))
    completed = repo_copy.create_ml_models(
        "--source", str(tmp_path / "never-read.csv"), "--models-dir", str(tmp_path / "models"),
        "--tune", "--workers", str(cpus + 1),
    )  # fmt: skip
    assert_bad_input(completed, rf"--workers {cpus + 1} .* more than the {cpus} CPU\(s\) this run")


def test_without_tuning_no_cluster_is_connected(cli, tmp_path):
    never_read = tmp_path / "candles.csv"
    completed = cli.create_ml_models(
        "--source", str(never_read), "--models-dir", str(tmp_path / "models"),
        "--no-tune", "--scheduler", "tcp://127.0.0.1:9",  # nothing listens there
    )  # fmt: skip

    # It went on to read the candles (missing here) instead of failing to connect.
    assert_bad_input(completed, rf"{never_read}: candle file not found")
    assert "compute: nothing runs in parallel with tuning off; no cluster is used" in (
        completed.stdout
    )


# -- 3. a cluster that loses its last worker --------------------------------------------------
@pytest.fixture
def one_worker(tmp_path) -> Iterator[DaskCluster]:
    cluster = start_cluster(1, tmp_path)
    yield cluster
    cluster.stop()


def _kill_the_worker_mid_trial(cluster: DaskCluster, killed: list[int]) -> None:
    from distributed import Client

    with Client(cluster.address) as watcher:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            running = [key for keys in watcher.processing().values() for key in keys]
            if any(str(key).startswith("run_trial") for key in running):
                cluster.kill_worker(cluster.workers[0].pid)
                killed.append(cluster.workers[0].pid)
                return
            time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_a_cluster_that_loses_its_last_worker_stops_with_exit_2(
    quick_cli, one_worker, random_walk_csv, tmp_path
):
    models = tmp_path / "models"
    killed: list[int] = []
    killer = threading.Thread(target=_kill_the_worker_mid_trial, args=(one_worker, killed))
    killer.start()
    completed = quick_cli.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(models),
        "--tune", "--scheduler", one_worker.address,
    )  # fmt: skip
    killer.join()

    assert killed, "the worker was never busy"
    assert_bad_input(
        completed,
        rf"no worker left on the Dask cluster at {one_worker.address} for {TIMEOUT_S} s, with "
        rf"\d+ task\(s\) waiting; start workers with `dask worker {one_worker.address}`",
    )
    assert not (models / "training").exists()


# -- 4. workers that die on every trial -------------------------------------------------------
@pytest.fixture
def starved_worker(tmp_path) -> Iterator[DaskCluster]:
    """A worker whose memory limit its first trial's imports already pass: killed by its nanny
    (and restarted) on every trial."""
    cluster = start_cluster(1, tmp_path, memory_limit="200MiB")
    yield cluster
    cluster.stop()


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_a_search_whose_every_trial_failed_is_an_error_not_an_untuned_run(
    quick_cli, starved_worker, random_walk_csv, tmp_path
):
    models = tmp_path / "models"
    completed = quick_cli.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(models),
        "--tune", "--tune-trials", "1", "--scheduler", starved_worker.address,
    )  # fmt: skip

    assert_bad_input(
        completed,
        r"every (lightgbm|xgboost|random_forest) trial that ran on the Dask cluster at .* failed "
        r"\(1; the first: its worker died while running it \(KilledWorker\)\); workers that "
        r"die may need more memory: raise compute\.memory_limit_mib",
    )
    assert not (models / "training").exists()
