#!/usr/bin/env python3
"""The least `compute.memory_limit_mib` a LocalCluster worker can run a tuning trial in.

    .venv/bin/python bench/worker_memory.py [--bars 35040] [--out bench/worker_memory_results.json]

On the weekly job's window (a year of 15m bars, bench/candles.py), on one-worker LocalClusters
started as the CLI starts them (src/compute) with room to spare, the worker's peak RSS
(`ru_maxrss`) is read: after each model's trial alone on a fresh worker, with the untuned values
(trial 0 of every search) and with every range of tuning.search_space at its high end; then
after all six in one worker, as a worker of a search runs trial after trial. A spawned worker
imports the main script's modules first (here this one's, in the CLI a script's: the same
libraries). The nanny kills a worker at 95% of its limit, so the least limit is the largest
peak / 0.95, rounded up to 16 MiB. It is then checked both ways: the six trials in one worker
at that limit complete, and at the old minimum (256 MiB) they do not.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import resource  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.candles import generate_candles  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402
from src.compute import Compute, ComputeError, TaskFailure  # noqa: E402
from src.compute.opening import local_cluster  # noqa: E402
from src.config import MODEL_NAMES, Choice, load_settings  # noqa: E402
from src.ml.evaluation import purged_time_series_cv  # noqa: E402
from src.ml.training import training_window  # noqa: E402
from src.tuning.trial import CVData, TrialTask, run_trial  # noqa: E402

TERMINATE_FRACTION = 0.95  # Dask's distributed.worker.memory.terminate, which src/compute keeps
ROOMY_MIB = 4096
OLD_MINIMUM_MIB = 256


def _peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _high_ends(space: dict) -> dict:
    return {
        param: dimension.choices[-1] if isinstance(dimension, Choice) else dimension.high
        for param, dimension in space.items()
    }


def _task(settings, name: str, at_high_end: bool) -> TrialTask:
    defaults = getattr(settings.training.models, name)
    sampled = _high_ends(getattr(settings.tuning.search_space, name)) if at_high_end else {}
    return TrialTask(name, {**defaults, **sampled}, {}, {}, [], settings.tuning.startup_trials)


def _cv_data(settings, bars: int) -> CVData:
    training = settings.training
    X, y = training_window(generate_candles(bars, 15), settings)
    folds = list(purged_time_series_cv(training.cv.n_splits, training.cv.gap).split(X))
    return CVData(X, y, folds, training.seed, training.n_jobs)


def _on_one_worker(tasks: list[TrialTask], data: CVData, limit_mib: int):
    """The tasks on a fresh one-worker LocalCluster of `limit_mib`: their results, the worker's
    peak RSS before them and after them (nan when no worker is left to ask)."""
    with local_cluster(1, limit_mib) as client:
        compute = Compute(client, f"on a 1-worker LocalCluster of {limit_mib} MiB")
        idle_mib = max(client.run(_peak_rss_mib).values())
        results = compute.map(run_trial, tasks, compute.share(data))
        peaks = client.run(_peak_rss_mib)
    return results, idle_mib, max(peaks.values()) if peaks else math.nan


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=35_040)
    parser.add_argument(
        "--out", type=Path, default=Path(REPO_ROOT, "bench", "worker_memory_results.json")
    )
    args = parser.parse_args()
    stamp = Stamp.start()
    settings = load_settings()
    data = _cv_data(settings, args.bars)
    peaks = {}
    for name in MODEL_NAMES:
        for at_high_end in (False, True):
            label = f"{name} {'high ends' if at_high_end else 'trial 0'}"
            started = time.perf_counter()
            results, idle, peak = _on_one_worker(
                [_task(settings, name, at_high_end)], data, ROOMY_MIB
            )
            if isinstance(results[0], TaskFailure):
                raise SystemExit(f"{label} failed with {ROOMY_MIB} MiB: {results[0].error}")
            peaks[label] = {"worker_idle_mib": round(idle, 1), "peak_rss_mib": round(peak, 1)}
            print(f"{label}: worker peak {peak:.0f} MiB ({time.perf_counter() - started:.0f} s)")
    sequence = [_task(settings, name, high) for name in MODEL_NAMES for high in (False, True)]
    _, idle, peak = _on_one_worker(sequence, data, ROOMY_MIB)
    peaks["all six in one worker"] = {
        "worker_idle_mib": round(idle, 1),
        "peak_rss_mib": round(peak, 1),
    }
    print(f"all six in one worker: worker peak {peak:.0f} MiB")
    largest = max(p["peak_rss_mib"] for p in peaks.values())
    least = math.ceil(largest / TERMINATE_FRACTION / 16) * 16
    at_least = _outcomes(sequence, data, least)
    at_old = _outcomes(sequence, data, OLD_MINIMUM_MIB)
    results = {
        "bars": args.bars,
        "timeframe": "15m",
        "training_rows": len(data.y),
        "peaks": peaks,
        "least_memory_limit_mib": least,
        "six_trials_at_least": at_least,
        f"six_trials_at_{OLD_MINIMUM_MIB}_mib": at_old,
    }
    write_results(args.out, results, stamp)
    print(json.dumps(results, indent=2))
    return 0


def _outcomes(tasks: list[TrialTask], data: CVData, limit_mib: int) -> list[str] | str:
    """Each task's state at `limit_mib`, or why the cluster itself gave up."""
    try:
        results, _, _ = _on_one_worker(tasks, data, limit_mib)
    except ComputeError as exc:
        return f"no result: {exc}"
    return [f"failed: {r.error}" if isinstance(r, TaskFailure) else "complete" for r in results]


if __name__ == "__main__":
    sys.exit(main())
