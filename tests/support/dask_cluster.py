"""A real Dask cluster on 127.0.0.1: `dask scheduler` and `dask worker` as separate processes,
started as the README tells a user to (allowed-failures 0, one thread per worker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from src.config import REPO_ROOT

DASK = Path(sys.executable).with_name("dask")
# What the README's cluster commands set: a task whose worker dies fails at once (the study
# records it) instead of being retried on another worker.
CLUSTER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "0"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass
class DaskCluster:
    address: str
    scheduler: subprocess.Popen
    workers: list[subprocess.Popen] = field(default_factory=list)

    def kill_worker(self, pid: int) -> None:
        """SIGKILL the `dask worker` command (its nanny and the worker process it runs)."""
        for worker in self.workers:
            if pid in (worker.pid, *_children(worker.pid)):
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(timeout=30)
                return
        raise AssertionError(f"pid {pid} is none of this cluster's workers")

    def stop(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=30)


def _children(pid: int) -> list[int]:
    listed = subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True, check=False
    ).stdout
    return [int(line) for line in listed.split()]


def _spawn(*args: str, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(DASK), *args],
        cwd=REPO_ROOT,
        env={**os.environ, **CLUSTER_ENV},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group, so a kill takes the nanny's child too
    )


def start_cluster(
    n_workers: int, logs: Path, timeout_s: float = 60.0, memory_limit: str = "1GiB"
) -> DaskCluster:
    from distributed import Client

    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    scheduler = _spawn(
        "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard",
        log=logs / "scheduler.log",
    )  # fmt: skip
    cluster = DaskCluster(address, scheduler)
    for number in range(n_workers):
        cluster.workers.append(
            _spawn(
                "worker", address, "--nthreads", "1", "--no-dashboard", "--name", f"w{number}",
                "--memory-limit", memory_limit, log=logs / f"worker-{number}.log",
            )  # fmt: skip
        )
    deadline = time.monotonic() + timeout_s
    try:
        with Client(address, timeout=f"{timeout_s}s") as client:
            client.wait_for_workers(n_workers, timeout=max(deadline - time.monotonic(), 1))
    except Exception:
        cluster.stop()
        raise
    return cluster
