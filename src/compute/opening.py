"""Opening a `Compute`: in this process, on a LocalCluster started here, or on an existing
cluster by address; and the checks that refuse local workers the machine cannot hold."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from src.compute.address import check_scheduler
from src.compute.cluster import Compute
from src.compute.errors import ComputeError
from src.config import SCHEDULER_ENV


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity, which a container or taskset narrows)."""
    return len(os.sched_getaffinity(0))


def check_local_workers(workers: int, memory_limit_mib: int, max_rss_mib: int) -> None:
    """Refuse a LocalCluster the machine cannot hold: more worker processes than usable CPUs
    (they would only take turns, each holding its memory), or more memory in all than
    `limits.max_rss_mib` (each worker may grow to `compute.memory_limit_mib`)."""
    if workers <= 1:
        return
    if workers * memory_limit_mib > max_rss_mib:
        raise ComputeError(
            f"{workers} workers x compute.memory_limit_mib {memory_limit_mib} MiB = "
            f"{workers * memory_limit_mib:,} MiB, above limits.max_rss_mib {max_rss_mib:,} MiB "
            f"(the machine's memory); pass --workers {max(max_rss_mib // memory_limit_mib, 1)}, "
            "lower compute.memory_limit_mib, or raise limits.max_rss_mib on a larger machine"
        )
    cpus = usable_cpus()
    if workers > cpus:
        raise ComputeError(
            f"--workers {workers} (compute.workers) is more than the {cpus} CPU(s) this run may "
            f"use; pass --workers {cpus} or fewer"
        )


@contextmanager
def open_compute(
    workers: int = 1,
    memory_limit_mib: int = 1024,
    scheduler_address: str | None = None,
    timeout_s: float = 10.0,
) -> Iterator[Compute]:
    """In-process for one worker, a LocalCluster of `workers` single-threaded processes with
    `memory_limit_mib` each, or the cluster at `scheduler_address` (its own workers).

    `timeout_s` bounds the wait for a scheduler to answer and for a cluster without workers to
    get one back."""
    if scheduler_address:
        with _client(scheduler_address, timeout_s) as client:
            where = f"on the Dask cluster at {scheduler_address}"
            hint = (
                f"start workers with `dask worker {scheduler_address}`, or drop "
                f"--scheduler/{SCHEDULER_ENV}"
            )
            yield Compute(client, where, timeout_s, hint)
        return
    if workers == 1:
        yield Compute()
        return
    with local_cluster(workers, memory_limit_mib) as client:
        where = f"on a LocalCluster of {workers} single-threaded worker processes"
        hint = (
            f"its workers keep dying, e.g. above compute.memory_limit_mib ({memory_limit_mib} "
            "MiB each): raise it, or pass --workers 1"
        )
        yield Compute(client, where, timeout_s, hint)


@contextmanager
def _client(address: str, timeout_s: float):
    from distributed import Client

    check_scheduler(address, timeout_s)
    try:
        client = Client(address, timeout=f"{timeout_s}s")
    except (OSError, TimeoutError) as exc:
        raise ComputeError(
            f"no Dask scheduler answers at {address} ({exc}); start one with `dask scheduler` "
            f"and workers with `dask worker {address}`, or drop --scheduler/{SCHEDULER_ENV}"
        ) from exc
    with client:
        yield client


# Each worker runs one task at a time. Dask's defaults spill its stored data to disk from 60% of
# its memory limit and pause it from 80%: a worker whose libraries alone pass 80% would then
# wait forever with the task queued. Only the kill at 95% stays: the task fails, the caller
# records it.
_WORKER_MEMORY = {
    "distributed.scheduler.allowed-failures": 0,
    "distributed.worker.memory.target": False,
    "distributed.worker.memory.spill": False,
    "distributed.worker.memory.pause": False,
}


@contextmanager
def local_cluster(workers: int, memory_limit_mib: int):
    """A client of the LocalCluster `open_compute` starts for `workers` > 1 (benches measure its
    workers)."""
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set(_WORKER_MEMORY):
        try:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                memory_limit=f"{memory_limit_mib}MiB",
                dashboard_address=None,
                silence_logs=logging.CRITICAL,  # failures are returned and recorded, not logged
            )
        except (RuntimeError, OSError, TimeoutError) as exc:  # e.g. "Nanny failed to start"
            raise ComputeError(
                f"could not start a LocalCluster of {workers} worker processes ({exc}); run "
                "with --workers 1, or see whether the machine has the memory and processes left"
            ) from exc
    with cluster, Client(cluster) as client:
        yield client
