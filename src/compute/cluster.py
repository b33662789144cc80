"""Where independent tasks run: in this process, on a LocalCluster, or on an existing cluster.

Every parallel feature (tuning trials, replay weeks) hands its tasks to `Compute.map`, which
returns one result per task in the tasks' order, so what a caller computes from them does not
depend on how many workers ran them or which finished first.

A task that raises, or whose worker dies under it, comes back as a `TaskFailure` instead of
stopping the others. Clusters opening.py starts let a task fail on its first dead worker
(Dask's `allowed-failures` = 0): the caller records it and decides whether to retry. A map given
a time budget cuts the tasks still running when it ends (`TaskCut`); a cluster left without any
worker for `timeout_s`, or whose workers keep dying before any task ends, is an error, not a
wait without end.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from src.compute.errors import ComputeError

_POLL_S = 0.25  # how often a map looks at its tasks and the cluster's workers
_DONE = ("finished", "error", "cancelled")
_LOSSES_WITHOUT_PROGRESS = 3  # workers lost while no task ends: a restart loop, not bad luck


@dataclass(frozen=True)
class TaskFailure:
    """A task that did not return: its exception, or the death of the worker running it."""

    error: str


@dataclass(frozen=True)
class TaskCut(TaskFailure):
    """A task the map's time budget ended before it finished (cancelled, or never started)."""

    error: str = "cut: the time budget ended before it finished"


def _describe(exc: BaseException) -> str:
    if type(exc).__name__ == "KilledWorker":
        return "its worker died while running it (KilledWorker)"
    return f"{type(exc).__name__}: {exc}"


class Compute:
    """Runs `fn(item, shared)` for each item; `client` None means in this process, in order."""

    def __init__(
        self,
        client=None,
        where: str = "in this process (1 worker)",
        timeout_s: float = 10.0,
        no_worker_hint: str = "start workers",
    ):
        self.client = client
        self.where = where
        self.timeout_s = timeout_s  # how long the cluster may be without a worker
        self.no_worker_hint = no_worker_hint  # what to do when it is without one for longer

    @property
    def workers(self) -> int:
        if self.client is None:
            return 1
        return len(self._workers())

    def share(self, value: Any) -> Any:
        """A handle to `value` every task receives as `shared`, fetched by a worker once.

        A task rather than scattered data: Dask cannot rebuild scattered data whose workers all
        died, but it reruns this task wherever it is needed again.
        """
        if self.client is None:
            return value
        return self.client.submit(_identity, value, pure=False)

    def map(
        self,
        fn: Callable[[Any, Any], Any],
        items: Sequence[Any],
        shared: Any = None,
        budget_s: float | None = None,
        on_result: Callable[[int, Any], None] | None = None,
    ) -> list[Any]:
        """`fn(item, shared)` for every item, as results or `TaskFailure`s in the items' order.

        `budget_s`: the tasks not done that many seconds from now are cut (`TaskCut`): a
        cluster's are cancelled, in this process those not yet started are skipped.
        `on_result(index, result)`: called with each task's result (not a failure) as soon as it
        is back, in the order they finish, so a caller can keep each before the others end; the
        result is then let go (None in the list returned), so a long map holds at most the
        results not yet handed over, here and on the workers."""
        deadline = math.inf if budget_s is None else time.monotonic() + budget_s
        if self.client is None:
            results = []
            for index, item in enumerate(items):
                result = _run_here(fn, item, shared) if time.monotonic() < deadline else TaskCut()
                if on_result is not None and not isinstance(result, TaskFailure):
                    on_result(index, result)
                    result = None
                results.append(result)
            return results
        futures = [self.client.submit(fn, item, shared, pure=False) for item in items]
        cut, finished = self._wait(futures, deadline, on_result)
        outcomes = [TaskCut() if future.key in cut else None for future in futures]
        for index, future in enumerate(futures):
            if outcomes[index] is None:
                outcomes[index] = finished[index] if index in finished else _outcome(future)
        return outcomes

    def _wait(self, futures: list, deadline: float, on_result) -> tuple[set, dict[int, Any]]:
        """Wait for `futures` until the deadline, handing each finished one's result to
        `on_result` (and releasing it) as it ends; the keys of those it cancelled, and the
        results by index (None for those handed over)."""
        watch = _WorkerWatch(self._workers(), self.where, self.timeout_s)
        finished: dict[int, Any] = {}

        def hand_over_finished() -> None:
            for index, future in enumerate(futures):
                if on_result is None or index in finished or future.status != "finished":
                    continue
                on_result(index, future.result())
                future.release()  # the worker may drop it
                finished[index] = None

        while pending := [
            future
            for index, future in enumerate(futures)
            if index not in finished and future.status not in _DONE
        ]:
            hand_over_finished()
            now = time.monotonic()
            if now >= deadline:
                self.client.cancel(pending)
                return {future.key for future in pending}, finished
            problem = watch.update(self._workers(), len(futures) - len(pending), now)
            if problem:
                self.client.cancel(pending)
                raise ComputeError(
                    f"{problem}, with {len(pending)} task(s) waiting; {self.no_worker_hint}"
                )
            time.sleep(_POLL_S)
        hand_over_finished()
        return set(), finished

    def _workers(self) -> frozenset[str]:
        try:
            return frozenset(self.client.scheduler_info(n_workers=-1)["workers"])
        except (OSError, TimeoutError) as exc:
            raise ComputeError(
                f"the Dask scheduler stopped answering ({exc}) while running tasks {self.where}; "
                "restart it and its workers, or run without --scheduler"
            ) from exc


@dataclass
class _WorkerWatch:
    """What a map has seen of the cluster's workers: since when it has had none, and how many it
    lost since a task last ended. A nanny that restarts a worker its memory limit kills before a
    task reaches it neither leaves the cluster empty for long nor fails a task; counting the
    workers lost is what ends that loop."""

    seen: frozenset[str]
    where: str
    timeout_s: float
    ended: int = 0  # tasks finished, failed or cancelled
    lost: int = 0  # workers gone since a task last ended
    without_workers_since: float | None = None

    def update(self, workers: frozenset[str], ended: int, now: float) -> str | None:
        """Why the map should stop, or None."""
        if ended > self.ended:
            self.ended, self.lost = ended, 0
        self.lost += len(self.seen - workers)
        self.seen = workers
        if self.lost >= _LOSSES_WITHOUT_PROGRESS:
            return f"{self.lost} workers lost {self.where} in a row with no task ending"
        if workers:
            self.without_workers_since = None
        elif self.without_workers_since is None:
            self.without_workers_since = now
        elif now - self.without_workers_since >= self.timeout_s:
            return f"no worker left {self.where} for {self.timeout_s:g} s"
        return None


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
