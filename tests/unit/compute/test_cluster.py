"""The compute layer in this process and on a LocalCluster (a real cluster of `dask scheduler` and
`dask worker` processes runs a study in tests/unit/tuning/test_on_a_cluster.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from src.compute import (
    Compute,
    ComputeError,
    TaskCut,
    TaskFailure,
    check_local_workers,
    open_compute,
)
from src.compute.cluster import _WorkerWatch
from src.config import REPO_ROOT


def _square_plus(number: int, offset: int) -> int:
    if number == 3:
        raise ValueError("three is refused")
    return number * number + offset


def test_in_process_runs_every_task_in_order_and_returns_failures():
    compute = Compute()
    assert compute.workers == 1
    results = compute.map(_square_plus, [1, 2, 3, 4], compute.share(10))
    assert results == [11, 14, TaskFailure("ValueError: three is refused"), 26]


def test_a_local_cluster_gives_the_same_results_in_the_same_order():
    with open_compute(workers=2, memory_limit_mib=512) as compute:
        assert compute.workers == 2
        results = compute.map(_square_plus, list(range(1, 9)), compute.share(10))
    assert results[2] == TaskFailure("ValueError: three is refused")
    others = [result for number, result in enumerate(results, start=1) if number != 3]
    assert others == [number * number + 10 for number in (1, 2, 4, 5, 6, 7, 8)]


def test_no_scheduler_at_the_address_is_a_clear_error():
    unreachable = open_compute(scheduler_address="tcp://127.0.0.1:9", timeout_s=1)
    with pytest.raises(ComputeError, match="no Dask scheduler answers at tcp://127.0.0.1:9"):
        unreachable.__enter__()


def _sleep(seconds: float, shared) -> float:
    time.sleep(seconds)
    return seconds


def test_each_result_is_reported_as_soon_as_its_task_is_back_failures_not():
    reported: list[tuple[int, int]] = []
    results = Compute().map(_square_plus, [1, 3, 2], 0,
                            on_result=lambda i, r: reported.append((i, r)))  # fmt: skip
    assert reported == [(0, 1), (2, 4)]  # in this process: in order, after each task
    assert results == [None, TaskFailure("ValueError: three is refused"), None]  # let go
    reported.clear()
    with open_compute(workers=2, memory_limit_mib=512) as compute:
        # The first task outlasts the second (one on each worker): the second is reported while
        # the first still runs.
        def at(index: int, result: float) -> None:
            reported.append((index, time.monotonic()))

        results = compute.map(_sleep, [3.0, 0.0], None, on_result=at)
        ended = time.monotonic()
    assert results == [None, None]
    assert [index for index, _ in reported] == [1, 0]
    assert ended - reported[0][1] > 1.0


def test_a_map_cuts_what_its_time_budget_ends_before():
    assert Compute().map(_square_plus, [1, 2], 0, budget_s=0) == [TaskCut(), TaskCut()]
    with open_compute(workers=2, memory_limit_mib=512) as compute:
        results = compute.map(_sleep, [0.0, 600.0, 600.0], None, budget_s=2.0)
    assert results == [0.0, TaskCut(), TaskCut()]


@pytest.mark.parametrize(
    ("workers", "memory_limit_mib", "max_rss_mib", "message"),
    [
        (3, 512, 1024, r"3 workers x compute\.memory_limit_mib 512 MiB = 1,536 MiB, above "
                       r"limits\.max_rss_mib 1,024 MiB .*pass --workers 2"),
        (10_000, 368, 10**9, r"--workers 10000 \(compute\.workers\) is more than the \d+ CPU"),
    ],
)  # fmt: skip
def test_local_workers_beyond_the_memory_limit_or_the_cpus_are_refused(
    workers, memory_limit_mib, max_rss_mib, message
):
    with pytest.raises(ComputeError, match=message):
        check_local_workers(workers, memory_limit_mib, max_rss_mib)
    check_local_workers(1, 4096, 1024)  # one worker runs in this process: no cluster to bound


def test_a_local_cluster_that_cannot_start_is_a_compute_error():
    # Spawned workers re-run the parent's main script, and a script read from stdin cannot be:
    # every worker fails to start, as when the machine has no memory or processes left.
    script = (
        "from src.compute import ComputeError, open_compute\n"
        "try:\n"
        "    with open_compute(workers=2, memory_limit_mib=400):\n"
        "        pass\n"
        "except ComputeError as exc:\n"
        "    print(exc)\n"
    )
    completed = subprocess.run(
        [sys.executable, "-"], input=script, capture_output=True, text=True, timeout=120,
        cwd=REPO_ROOT, env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )  # fmt: skip
    assert "could not start a LocalCluster of 2 worker processes" in completed.stdout, (
        completed.stdout + completed.stderr
    )


def _watch_over(workers_per_poll: list[set[str]], ended_per_poll: list[int]) -> list[str | None]:
    """The watch's verdict at each poll, one poll a second, starting with worker w0."""
    watch = _WorkerWatch(frozenset({"w0"}), "on a test cluster", timeout_s=10.0)
    polls = zip(workers_per_poll, ended_per_poll, strict=True)
    return [
        watch.update(frozenset(workers), ended, now=float(second))
        for second, (workers, ended) in enumerate(polls)
    ]


def test_workers_restarted_again_and_again_with_no_task_ending_stop_the_map():
    # A nanny restarting a worker its memory limit kills at once: the cluster is never empty
    # for 10 s and no task fails, so only the count of workers lost can end the wait.
    verdicts = _watch_over([{"w1"}, {"w2"}, {"w3"}, {"w4"}], [0, 0, 0, 0])

    assert verdicts[:2] == [None, None]
    assert verdicts[2] == "3 workers lost on a test cluster in a row with no task ending"


def test_workers_lost_while_tasks_still_end_are_not_a_restart_loop():
    # Each death fails its task (allowed-failures 0): the caller records it and goes on.
    verdicts = _watch_over([{"w1"}, {"w2"}, {"w3"}, {"w4"}, {"w5"}], [1, 2, 3, 4, 5])

    assert verdicts == [None] * 5


def test_a_cluster_empty_for_its_timeout_stops_the_map():
    verdicts = _watch_over([set()] * 12, [0] * 12)

    assert verdicts[:10] == [None] * 10
    assert verdicts[10] == "no worker left on a test cluster for 10 s"
