#!/usr/bin/env python3
"""A setup sweep (dev_check.py sweep) of 8 setups x 26 weeks, on 1 and on 2 local workers.

    .venv/bin/python bench/sweep.py [--weeks 26] [--days 14] [--out FILE]
    .venv/bin/python bench/sweep.py --quick [--out FILE]   # 2 setups x 3 weeks, 7 days: it runs

The grid is GRID (8 setups), every setup with base.yaml's models, tuning off, a --days window,
on bench/replay.py's candles (bench/candles.py's GARCH-like bars with a planted signal on for
part of their span). Each way runs in its own child process pinned to its CPUs, its peak RSS
and each Dask worker's sampled as bench/replay.py samples them:
1. in process: the compute layer's default, one CPU;
2. 2 workers: a 2-worker LocalCluster on both CPUs; speed-up = 1's wall time over 2's.
The task time is the mean training time of the (setup x week) tasks, from their records; with
the serial part (each setup's replay after the trainings, in the sweep's own process) and the
2-worker run's efficiency it projects the workers a larger sweep needs (docs/sweep.md). The
two summaries are compared whole: the sweep's results must not depend on the number of workers.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import argparse  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.replay import planted_candles, run_child  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402

MODES = ("in_process", "dask_2_workers")
GRID = ["training.label.horizon=1,4", "training.label.threshold=0,round_trip",
        "trading.allow_short=false,true"]  # fmt: skip
QUICK_GRID, QUICK_WEEKS, QUICK_DAYS = ["training.label.horizon=1,4"], 3, 7
# What docs/sweep.md projects: a 40-setup sweep over 26 weeks, finished within an hour.
PROJECTED_SETUPS, PROJECTED_WEEKS, PROJECTED_HOURS = 40, 26, 1.0


def _child(mode: str, csv: Path, out: Path, weeks: int, days: int, grid: list[str]) -> dict:
    from src.compute import Compute
    from src.compute.opening import local_cluster
    from src.config import load_settings, with_overrides
    from src.data.sources import CandleSet, read_candle_file
    from src.sweep.grid import parse_grid, setups
    from src.sweep.run import run_sweep

    settings = with_overrides(load_settings(), data={"days": days}, tuning={"enabled": False})
    made = setups(settings, parse_grid(grid))
    candle_set = CandleSet(read_candle_file(csv), "generated", "BTC/JPY", "15m")
    started = time.perf_counter()

    def sweep(compute):
        return run_sweep(settings, made, [candle_set] * len(made), weeks, out, compute,
                         lambda message: None)  # fmt: skip

    if mode == "in_process":
        summary = sweep(Compute()).summary
    else:
        with local_cluster(2, settings.compute.memory_limit_mib) as client:
            summary = sweep(Compute(client, "LocalCluster of 2")).summary
    task_s = [
        json.loads(path.read_text())["train_seconds"] for path in out.glob("setups/*/weeks/*.json")
    ]
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "tasks": len(task_s),
        "mean_task_s": round(sum(task_s) / len(task_s), 2),
        "summary": summary,
    }


def _run_mode(mode: str, csv: Path, tmp: Path, args, cpus) -> dict:
    command = [
        sys.executable, __file__, "--child", mode, "--csv", str(csv), "--out-dir",
        str(tmp / mode), "--weeks", str(args.weeks), "--days", str(args.days),
        *(["--quick"] if args.quick else []),
    ]  # fmt: skip
    return run_child(mode, command, cpus)


def _projection(results: dict) -> dict:
    """Workers that finish PROJECTED_SETUPS x PROJECTED_WEEKS tasks in PROJECTED_HOURS.

    Measured: a task's training time, and the rest of the in-process wall time per task (each
    setup's replay of the gate and the trading, which runs in the process that started the
    sweep, whatever the workers); the share of a worker's time the 2-worker run kept training
    (its parallel part's speed-up over 2). The trainings get the hour minus the serial part."""
    one, two = results["in_process"], results["dask_2_workers"]
    tasks = one["tasks"]
    serial_s = (one["wall_s"] - tasks * one["mean_task_s"]) / tasks
    parallel_two_s = two["wall_s"] - tasks * serial_s
    efficiency = min(1.0, tasks * one["mean_task_s"] / (2 * parallel_two_s))
    projected = PROJECTED_SETUPS * PROJECTED_WEEKS
    room_s = PROJECTED_HOURS * 3600 - projected * serial_s
    workers = (
        math.ceil(projected * one["mean_task_s"] / (efficiency * room_s)) if room_s > 0 else None
    )
    return {"setups": PROJECTED_SETUPS, "weeks": PROJECTED_WEEKS, "tasks": projected,
            "hours": PROJECTED_HOURS, "task_s": one["mean_task_s"],
            "serial_s_per_task": round(serial_s, 3), "serial_s": round(projected * serial_s),
            "worker_efficiency": round(efficiency, 3), "workers": workers}  # fmt: skip


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--days", type=int, default=14)
    parser.add_argument("--quick", action="store_true", help="2 setups x 3 weeks, 7-day windows")
    parser.add_argument("--out", type=Path, help="default: bench/sweep_results.json")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.weeks, args.days = QUICK_WEEKS, QUICK_DAYS
    elif args.out is None:
        args.out = Path(REPO_ROOT, "bench", "sweep_results.json")
    return args


def main() -> int:
    args = _arguments()
    grid = QUICK_GRID if args.quick else GRID
    if args.child:
        print(json.dumps(_child(args.child, args.csv, args.out_dir, args.weeks, args.days, grid)))
        return 0
    stamp = Stamp.start()
    candles, signal = planted_candles(96 * (args.days + 7 * (args.weeks + 2)))
    all_cpus = os.sched_getaffinity(0)
    results = {"grid": grid, "weeks": args.weeks, "window_days": args.days, "timeframe": "15m",
               "tuning": False, "candles": signal}  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp, "candles.csv")
        candles.to_csv(csv)
        for mode in MODES:
            cpus = all_cpus if mode == "dask_2_workers" else {min(all_cpus)}
            results[mode] = _run_mode(mode, csv, Path(tmp), args, cpus)
            print(f"[{time.strftime('%H:%M:%S')}] {mode}: {results[mode]['wall_s']} s", flush=True)
    summaries = [results[mode].pop("summary") for mode in MODES]
    results["identical_summaries"] = summaries[0] == summaries[1]
    results["setups"] = len(summaries[0]["setups"])
    results["p_value"] = summaries[0]["p_value"]
    results["sentence"] = summaries[0]["sentence"]
    results["speedup_2_workers_over_in_process"] = round(
        results["in_process"]["wall_s"] / results["dask_2_workers"]["wall_s"], 3
    )
    results["projection"] = _projection(results)
    if args.out is not None:
        write_results(args.out, results, stamp)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
