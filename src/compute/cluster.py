"""Where independent tasks run: in this process, on a LocalCluster, or on an existing cluster.

Every parallel feature (tuning trials, replay weeks) hands its tasks to `Compute.map`, which
returns one result per task in the tasks' order, so what a caller computes from them does not
depend on how many workers ran them or which finished first.

A task that raises, or whose worker dies under it, comes back as a `TaskFailure` instead of
stopping the others. Clusters this module starts let a task fail on its first dead worker
(Dask's `allowed-failures` = 0): the caller records it and decides whether to retry.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class ComputeError(RuntimeError):
    """The cluster cannot be reached or started; the message says which and what to do."""


@dataclass(frozen=True)
class TaskFailure:
    """A task that did not return: its exception, or the death of the worker running it."""

    error: str


def _describe(exc: BaseException) -> str:
    if type(exc).__name__ == "KilledWorker":
        return "its worker died while running it (KilledWorker)"
    return f"{type(exc).__name__}: {exc}"


class Compute:
    """Runs `fn(item, shared)` for each item; `client` None means in this process, in order."""

    def __init__(self, client=None, where: str = "in this process (1 worker)"):
        self.client = client
        self.where = where

    @property
    def workers(self) -> int:
        if self.client is None:
            return 1
        return len(self.client.scheduler_info(n_workers=-1)["workers"])

    def share(self, value: Any) -> Any:
        """A handle to `value` every task receives as `shared`, fetched by a worker once.

        A task rather than scattered data: Dask cannot rebuild scattered data whose workers all
        died, but it reruns this task wherever it is needed again.
        """
        if self.client is None:
            return value
        return self.client.submit(_identity, value, pure=False)

    def map(
        self, fn: Callable[[Any, Any], Any], items: Sequence[Any], shared: Any = None
    ) -> list[Any]:
        """`fn(item, shared)` for every item, as results or `TaskFailure`s in the items' order."""
        if self.client is None:
            return [_run_here(fn, item, shared) for item in items]
        from distributed import as_completed

        futures = [self.client.submit(fn, item, shared, pure=False) for item in items]
        for _ in as_completed(futures):  # unlike wait(), does not raise on a cancelled task
            pass
        return [_outcome(future) for future in futures]


def _identity(value):
    return value


def _run_here(fn, item, shared):
    try:
        return fn(item, shared)
    except Exception as exc:  # noqa: BLE001 - a failed task is a result the caller records
        return TaskFailure(_describe(exc))


def _outcome(future):
    if future.status == "finished":
        return future.result()
    if future.status == "cancelled":
        return TaskFailure("the scheduler cancelled it (its inputs were lost)")
    return TaskFailure(_describe(future.exception()))


@contextmanager
def open_compute(
    workers: int = 1, memory_limit_mib: int = 1024, scheduler_address: str | None = None
) -> Iterator[Compute]:
    """In-process for one worker, a LocalCluster of `workers` single-threaded processes with
    `memory_limit_mib` each, or the cluster at `scheduler_address` (its own workers)."""
    if scheduler_address:
        with _client(scheduler_address) as client:
            yield Compute(client, f"on the Dask cluster at {scheduler_address}")
        return
    if workers == 1:
        yield Compute()
        return
    with _local_cluster(workers, memory_limit_mib) as client:
        yield Compute(client, f"on a LocalCluster of {workers} single-threaded worker processes")


@contextmanager
def _client(address: str):
    from distributed import Client

    try:
        client = Client(address, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ComputeError(
            f"no Dask scheduler answers at {address} ({exc}); start one with `dask scheduler` "
            f"and workers with `dask worker {address}`, or drop --scheduler/{SCHEDULER_ENV}"
        ) from exc
    with client:
        yield client


@contextmanager
def _local_cluster(workers: int, memory_limit_mib: int):
    import dask
    from distributed import Client, LocalCluster

    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            memory_limit=f"{memory_limit_mib}MiB",
            dashboard_address=None,
            silence_logs=logging.CRITICAL,  # failures are returned and recorded, not logged
        )
    with cluster, Client(cluster) as client:
        yield client
