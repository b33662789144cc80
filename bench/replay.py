#!/usr/bin/env python3
"""A replay of the weekly job (dev_check.py replay) on a year of 15-minute bars, four ways.

    .venv/bin/python bench/replay.py [--bars 35040] [--weeks 26] [--tune] [--out FILE]
    .venv/bin/python bench/replay.py --quick [--out FILE]   # 5 weeks of bars, 2 runs: it runs

Each way runs in its own child process (so peak RSS is its own), with base.yaml's models; the
training window is what fits: the candles' days minus the replayed weeks and one more. Tuning
is off unless --tune (26 tuned weeks take ~26 x the tuning budget). The candles are
bench/candles.py's GARCH-like bars with a planted signal (the next move follows the volume,
SIGNAL_ACCURACY of the time) from SIGNAL_ON[0] to SIGNAL_ON[1] of their span and none before
or after, so weeks whose window holds it can promote and the ways are compared on promotions
and live sets, not only on rejections (the old candles held no signal: nothing was promoted).

1. plain loop: each week's training task called in a plain loop, then the same gate replay,
   on one CPU; no compute layer, no Dask.
2. 1 worker in process: `run_replay` on the compute layer's in-process path (the default).
3. Dask, 1 worker: the same on a 1-worker LocalCluster; against 1: the Dask path's overhead
   (goal <= 1.1x).
4. Dask, 2 workers: a 2-worker LocalCluster on both cores; 2 against 3 and against 1: the
   speed-up (goal >= 1.7x).
Peak RSS is sampled per process (the child, and each Dask worker), against 1 GiB each. Every
way's week records are compared with the plain loop's, field by field (src/replay/compare.py:
all but the training's wall time and the pickle's sha256); the JSON lists the promoted weeks
and, per way, whether every record is identical and which fields of which weeks differ.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import psutil  # noqa: E402

from bench.full_run import child_env  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402

MIB = 1024 * 1024
MODES = ("plain_loop", "in_process", "dask_1_worker", "dask_2_workers")
SIGNAL_ACCURACY = 0.85
SIGNAL_ON = (0.35, 0.75)  # fractions of the candles' span
SIGNAL_SEED = 5
QUICK_BARS, QUICK_WEEKS = 96 * 7 * 5, 2
_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)


class _PeakPerProcess(threading.Thread):
    """Peak RSS of a process and of each of its descendants, sampled every `poll_s`."""

    def __init__(self, pid: int, poll_s: float = 0.2):
        super().__init__(daemon=True)
        self.root = psutil.Process(pid)
        self.poll_s = poll_s
        self.peaks: dict[int, int] = {}
        self.names: dict[int, str] = {}
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            with contextlib.suppress(*_GONE):
                for process in [self.root, *self.root.children(recursive=True)]:
                    with contextlib.suppress(*_GONE):
                        rss = process.memory_info().rss
                        self.peaks[process.pid] = max(self.peaks.get(process.pid, 0), rss)
                        self.names.setdefault(process.pid, " ".join(process.cmdline()[-2:]))
            self.stop.wait(self.poll_s)


def _settings(days: int, tune: bool):
    from src.config import load_settings, with_overrides

    return with_overrides(load_settings(), data={"days": days}, tuning={"enabled": tune})


def _child(mode: str, csv: Path, out: Path, weeks: int, days: int, tune: bool) -> dict:
    """One way of running the replay, timed; printed as JSON for the parent."""
    from src.compute import Compute
    from src.compute.opening import local_cluster
    from src.data.sources import CandleSet, read_candle_file
    from src.replay import replay_weeks, run_replay
    from src.replay.decisions import replay_decisions
    from src.replay.store import ReplayStore
    from src.replay.summary import summarise
    from src.replay.training import train_week

    settings = _settings(days, tune)
    candle_set = CandleSet(read_candle_file(csv), "generated", "BTC/JPY", "15m")
    started = time.perf_counter()
    startup_s = 0.0
    if mode == "plain_loop":
        weeks_run = replay_weeks(candle_set.candles.index, settings.schedule, days, weeks)
        store = ReplayStore(out)
        for week in weeks_run:
            store.save_candidate(week, *train_week(week, (settings, candle_set)))
        records = replay_decisions(settings, candle_set.candles, weeks_run, store, lambda m: None)
        summary = summarise(records, settings.trading.bootstrap_samples, settings.training.seed)
    elif mode == "in_process":
        summary = run_replay(settings, candle_set, weeks, out, Compute(), lambda m: None).summary
    else:
        workers = 1 if mode == "dask_1_worker" else 2
        with local_cluster(workers, settings.compute.memory_limit_mib) as client:
            startup_s = time.perf_counter() - started
            compute = Compute(client, f"LocalCluster of {workers}")
            summary = run_replay(settings, candle_set, weeks, out, compute, lambda m: None).summary
    return {
        "wall_s": round(time.perf_counter() - started, 1),
        "cluster_startup_s": round(startup_s, 1),
        "weekly_job_total": summary["totals"]["weekly_job"],
        "promotions": summary["promotions"],
    }


def planted_candles(bars: int):
    """bench/candles.py's bars, the planted signal on for the SIGNAL_ON part of their span."""
    import numpy as np

    from bench.candles import generate_candles, plant_volume_signal

    base = generate_candles(bars, 15)
    position = np.arange(bars) / bars
    on = (position >= SIGNAL_ON[0]) & (position < SIGNAL_ON[1])
    candles = plant_volume_signal(base, np.where(on, SIGNAL_ACCURACY, 0.5), SIGNAL_SEED)
    signal = {
        "base": "bench/candles.py generate_candles (GARCH(1,1), seeded)",
        "accuracy": SIGNAL_ACCURACY,
        "on_from": candles.index[on][0].isoformat(),
        "on_until": candles.index[on][-1].isoformat(),
    }
    return candles, signal


def _compare_weeks(tmp: Path) -> dict:
    """Each way's week records against the plain loop's; the promoted weeks of each."""
    from src.replay.compare import RUN_SPECIFIC_FIELDS, differing_fields, week_results

    results = {mode: week_results(tmp / mode) for mode in MODES}
    reference = results[MODES[0]]
    differences = {mode: differing_fields(reference, results[mode]) for mode in MODES[1:]}
    return {
        "compared_with": MODES[0],
        "fields_left_out": sorted(RUN_SPECIFIC_FIELDS),
        "weeks": len(reference),
        "promoted_weeks": {
            mode: [week for week, record in records.items() if record["outcome"]["promoted"]]
            for mode, records in results.items()
        },
        "identical": {mode: not found for mode, found in differences.items()},
        "differing_fields": {mode: found for mode, found in differences.items() if found},
    }


def _ratios(results: dict) -> dict:
    loop_s, one_s = results["plain_loop"]["wall_s"], results["in_process"]["wall_s"]
    dask_one_s, dask_two_s = results["dask_1_worker"]["wall_s"], results["dask_2_workers"]["wall_s"]
    return {
        "dask_1_worker_over_plain_loop": round(dask_one_s / loop_s, 3),
        "in_process_over_plain_loop": round(one_s / loop_s, 3),
        "overhead_goal": 1.1,
        "speedup_2_workers_over_in_process": round(one_s / dask_two_s, 3),
        "speedup_2_over_1_dask_workers": round(dask_one_s / dask_two_s, 3),
        "speedup_goal": 1.7,
        "peak_rss_goal_mib": 1024,
    }


def run_child(mode: str, command: list[str], cpus) -> dict:
    """Run a bench's child `command` pinned to `cpus`; its last stdout line (JSON) with the
    peak RSS of the child and of each Dask worker process under it."""
    child = subprocess.Popen(
        command, cwd=REPO_ROOT, env=child_env(), stdout=subprocess.PIPE, text=True,
        preexec_fn=lambda: os.sched_setaffinity(0, cpus),
    )  # fmt: skip
    poller = _PeakPerProcess(child.pid)
    poller.start()
    stdout, _ = child.communicate()
    poller.stop.set()
    poller.join()
    if child.returncode != 0:
        raise SystemExit(f"{mode} failed with exit code {child.returncode}")
    result = json.loads(stdout.strip().splitlines()[-1])
    main_peak = poller.peaks.pop(child.pid, 0)
    result["peak_rss_mib_main"] = round(main_peak / MIB, 1)
    # The LocalCluster's worker processes (each under its nanny), largest first; not the
    # multiprocessing resource tracker.
    workers = sorted(
        (peak for pid, peak in poller.peaks.items() if "spawn_main" in poller.names[pid]),
        reverse=True,
    )
    result["peak_rss_mib_per_worker_process"] = [round(peak / MIB, 1) for peak in workers]
    return result


def _run_mode(mode: str, csv: Path, tmp: Path, weeks: int, days: int, tune: bool, cpus) -> dict:
    command = [
        sys.executable, __file__, "--child", mode, "--csv", str(csv), "--out-dir",
        str(tmp / mode), "--weeks", str(weeks), "--days", str(days),
        *(["--tune"] if tune else []),
    ]  # fmt: skip
    return run_child(mode, command, cpus)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=35_040)
    parser.add_argument("--weeks", type=int, default=26)
    parser.add_argument("--tune", action="store_true")
    parser.add_argument(
        "--quick", action="store_true",
        help=f"{QUICK_BARS} bars, {QUICK_WEEKS} weeks; writes only the --out given",
    )  # fmt: skip
    parser.add_argument("--out", type=Path, help="default: bench/replay_results.json")
    parser.add_argument("--child", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--csv", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--out-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--days", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.quick:
        args.bars, args.weeks = QUICK_BARS, QUICK_WEEKS
    elif args.out is None:
        args.out = Path(REPO_ROOT, "bench", "replay_results.json")
    return args


def main() -> int:
    args = _arguments()
    if args.child:
        print(json.dumps(_child(args.child, args.csv, args.out_dir, args.weeks, args.days,
                                args.tune)))  # fmt: skip
        return 0

    stamp = Stamp.start()
    candles, signal = planted_candles(args.bars)
    span_days = (candles.index[-1] - candles.index[0]).days
    days = span_days - 7 * (args.weeks + 1) - 1
    if days < 7:
        raise SystemExit(f"{args.bars} bars span {span_days} days: too few for {args.weeks} weeks")
    all_cpus = os.sched_getaffinity(0)
    one_cpu = {min(all_cpus)}
    results = {
        "bars": args.bars, "timeframe": "15m", "weeks": args.weeks, "window_days": days,
        "tuning": args.tune, "candles": signal,
    }  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        csv = Path(tmp, "candles.csv")
        candles.to_csv(csv)
        for mode in MODES:
            cpus = all_cpus if mode == "dask_2_workers" else one_cpu
            results[mode] = _run_mode(mode, csv, Path(tmp), args.weeks, days, args.tune, cpus)
            print(f"[{time.strftime('%H:%M:%S')}] {mode}: {results[mode]}", flush=True)
        results["week_records"] = _compare_weeks(Path(tmp))
    results["identical_week_records_every_way"] = all(results["week_records"]["identical"].values())
    results.update(_ratios(results))
    if args.out is not None:
        write_results(args.out, results, stamp)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
