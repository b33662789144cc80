#!/usr/bin/env python3
"""Peak memory of the weekly run against the estimate the CLI checks before fitting.

    .venv/bin/python bench/memory.py [--sizes 17520 105120 210240] [--ceiling-mib 1024]
                                     [--no-tune | --tune-trials N] [--skip-refusal]
                                     [--out bench/memory_results.json]

Each size (5m candles from bench/candles.py) runs the real CLI in a child process, as configured
(tuned) or with --no-tune, inside a memory cgroup limited to --ceiling-mib when one can be made
here (a real ceiling: exceeding it is an OOM kill), and compares the measured peak RSS with
`src.ml.memory.estimate_peak`. Then a window whose estimate is above limits.max_rss_mib runs the
same way: it must be refused (exit 2) up front (--skip-refusal, for the quick mode, leaves that
out: writing its CSV alone takes seconds). Finally the line through the peaks of the two largest
sizes is printed: the constants of src/ml/memory.py for that kind of run (tuned or untuned),
re-measured when the run's memory changes. See bench/README.md.
"""

from __future__ import annotations

import os
import sys

# One CPU and one thread per library, as run_bench.py, before numpy or a model library loads.
PINNED_CPU = min(os.sched_getaffinity(0))
os.sched_setaffinity(0, {PINNED_CPU})
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.full_run import SINGLE_THREAD_ENV  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402

os.environ.update(SINGLE_THREAD_ENV)

import argparse  # noqa: E402
import contextlib  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.candles import generate_candles  # noqa: E402
from bench.full_run import run_weekly_cli  # noqa: E402
from src.config import load_settings  # noqa: E402
from src.ml import memory  # noqa: E402
from tests.support.memory_ceiling import CeilingUnavailable, memory_ceiling  # noqa: E402

MIB = 2**20
TOLERANCE = 0.15  # |estimate - measured| / measured, the target at every size


def _ceiling(limit_mib: int, name: str):
    """The cgroup ceiling, or a null context saying why there is none."""
    try:
        return memory_ceiling(limit_mib * MIB, name)
    except CeilingUnavailable as exc:
        print(f"NO REAL CEILING: {exc}; peaks are measured without one", flush=True)
        return contextlib.nullcontext(None)


def _run(n_bars: int, workdir: Path, ceiling_mib: int, limit_mib: int, cli_args: tuple) -> dict:
    csv_path = workdir / f"candles_{n_bars}_5m.csv"
    generate_candles(n_bars, 5).to_csv(csv_path)
    models_dir = workdir / f"models_{n_bars}"
    try:
        with _ceiling(ceiling_mib, f"bench-memory-{n_bars}") as ceiling:
            enter = ceiling.enter if ceiling else None
            run = run_weekly_cli(csv_path, "5m", models_dir, extra_args=cli_args, preexec_fn=enter)
            cgroup_peak = ceiling.peak_bytes() if ceiling else None
            oom_kills = ceiling.oom_kills() if ceiling else None
    finally:
        csv_path.unlink()
    estimate = memory.estimate_peak(n_bars, limit_mib, "--no-tune" not in cli_args)
    measured_mib = run.peak_rss_bytes / MIB
    return {
        "n_bars": n_bars,
        "timeframe": "5m",
        "days": n_bars * 5 / 1440,
        "exit_code": run.exit_code,
        "wall_s": run.wall_s,
        "peak_rss_mib": measured_mib,
        "peak_rss_polled_mib": run.peak_rss_polled_bytes / MIB,
        "peak_rss_wait4_mib": run.peak_rss_wait4_bytes / MIB,
        "cgroup_peak_mib": None if cgroup_peak is None else cgroup_peak / MIB,
        "ceiling_mib": ceiling_mib if oom_kills is not None else None,
        "oom_kills": oom_kills,
        "estimate_mib": estimate.peak_mib,
        "estimate_error": estimate.peak_mib / measured_mib - 1.0,
        "refused": run.exit_code == 2,
        "stderr_tail": run.stderr_tail,
    }


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", type=int, default=[17_520, 105_120, 210_240])
    parser.add_argument("--ceiling-mib", type=int, default=1024)
    tuning = parser.add_mutually_exclusive_group()
    tuning.add_argument("--no-tune", action="store_true", help="the untuned line")
    tuning.add_argument("--tune-trials", type=int, metavar="N", help="trials per model (quick)")
    parser.add_argument("--skip-refusal", action="store_true", help="no too-large window")
    parser.add_argument(
        "--out", type=Path, default=Path(REPO_ROOT) / "bench" / "memory_results.json"
    )
    args = parser.parse_args()
    if len(set(args.sizes)) < 2:
        parser.error("give at least two different --sizes (the slope needs two)")
    return args


def main() -> int:
    args = _arguments()
    stamp, started = Stamp.start(), time.perf_counter()
    limit_mib = load_settings().limits.max_rss_mib
    tuned = not args.no_tune
    trials = () if args.tune_trials is None else ("--tune-trials", str(args.tune_trials))
    cli_args = ("--tune", *trials) if tuned else ("--no-tune",)
    too_large = int(memory.estimate_peak(0, limit_mib, tuned).rows_that_fit * 1.2)
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-memory-") as workdir:
        for n_bars in [*args.sizes, *([] if args.skip_refusal else [too_large])]:
            print(f"{time.perf_counter() - started:7.1f}s  {n_bars:,} x 5m", flush=True)
            runs.append(_run(n_bars, Path(workdir), args.ceiling_mib, limit_mib, cli_args))
    sized = runs[: len(args.sizes)]
    refusal = None if args.skip_refusal else runs[-1]
    line = _line_through_largest(sized)
    targets = _targets(sized, refusal)
    _print(runs, targets, refusal, line, tuned)
    report = {
        "environment": {"pinned_cpu": PINNED_CPU, "thread_env": SINGLE_THREAD_ENV},
        "tuned": tuned,
        "cli_args": list(cli_args),
        # The constants src/ml/memory.py holds now, for both kinds of run, beside this run's line.
        "constants": {
            "untuned": [memory.IMPORT_FLOOR_MIB, memory.MIB_PER_10K_ROWS],
            "tuned": [memory.TUNED_IMPORT_FLOOR_MIB, memory.TUNED_MIB_PER_10K_ROWS],
        },
        "fit_of_this_run": line,
        "limit_mib": limit_mib,
        "runs": runs,
        "targets": targets,
        "bench_total_seconds": time.perf_counter() - started,
    }
    write_results(args.out, report, stamp)
    print(f"\nJSON: {args.out}")
    return 0 if all(value is not False for value in targets.values()) else 1


def _line_through_largest(sized: list[dict]) -> dict:
    """The slope where the data dominates the peak, which is what decides near the limit
    (smaller windows peak on fixed costs)."""
    small, large = sorted(sized, key=lambda run: run["n_bars"])[-2:]
    slope = (large["peak_rss_mib"] - small["peak_rss_mib"]) / (
        (large["n_bars"] - small["n_bars"]) / 1e4
    )
    floor = small["peak_rss_mib"] - slope * small["n_bars"] / 1e4
    return {"IMPORT_FLOOR_MIB": floor, "MIB_PER_10K_ROWS": slope}


def _targets(sized: list[dict], refusal: dict | None) -> dict:
    """Each target met (True), missed (False) or not measured (None: no refusal run)."""
    return {
        "within_15_percent": all(abs(run["estimate_error"]) <= TOLERANCE for run in sized),
        "finished_under_ceiling": all(
            run["exit_code"] == 0 and not run["oom_kills"] for run in sized
        ),
        "refused_up_front": None
        if refusal is None
        else refusal["refused"] and refusal["wall_s"] < 60,
    }


def _print(runs: list[dict], targets: dict, refusal: dict | None, line: dict, tuned: bool):
    print(f"\n{'bars (5m)':>10} {'days':>6} {'exit':>4} {'wall s':>7} {'peak RSS':>9} "
          f"{'cgroup':>8} {'estimate':>9} {'error':>7}")  # fmt: skip
    for run in runs:
        cgroup = "-" if run["cgroup_peak_mib"] is None else f"{run['cgroup_peak_mib']:.0f}"
        print(
            f"{run['n_bars']:>10,} {run['days']:>6.0f} {run['exit_code']:>4} "
            f"{run['wall_s']:>7.1f} {run['peak_rss_mib']:>9.0f} {cgroup:>8} "
            f"{run['estimate_mib']:>9.0f} {run['estimate_error']:>+7.1%}"
        )
    verdict = {True: "MET", False: "MISS", None: "NOT MEASURED"}
    ceiling = runs[0]["ceiling_mib"]
    print(f"\nestimate within {TOLERANCE:.0%} of the measured peak at every size: "
          f"{verdict[targets['within_15_percent']]}")  # fmt: skip
    print(f"every size finished under a real {ceiling} MiB ceiling: "
          f"{verdict[targets['finished_under_ceiling']] if ceiling else 'NO CEILING'}")  # fmt: skip
    if refusal is not None:
        print(f"{refusal['n_bars']:,} bars refused up front (exit 2 in {refusal['wall_s']:.1f} s, "
              f"peak {refusal['peak_rss_mib']:.0f} MiB): "
              f"{verdict[targets['refused_up_front']]}")  # fmt: skip
    kind = "TUNED_" if tuned else ""
    print(f"line through the two largest sizes: {kind}IMPORT_FLOOR_MIB = "
          f"{line['IMPORT_FLOOR_MIB']:.0f}, {kind}MIB_PER_10K_ROWS = "
          f"{line['MIB_PER_10K_ROWS']:.2f} (src/ml/memory.py has "
          f"{getattr(memory, kind + 'IMPORT_FLOOR_MIB'):.0f} and "
          f"{getattr(memory, kind + 'MIB_PER_10K_ROWS'):.2f})")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
