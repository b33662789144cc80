#!/usr/bin/env python3
"""Benchmark of the weekly retrain against the SPEC §11 limits and against the raw libraries.

    .venv/bin/python bench/run_bench.py [--sizes 35040 105120] [--tune-trials N]
                                        [--out bench/results.json]

A size is a number of bars, optionally with a timeframe ("105120:5m"); by default up to 35,040
bars (one year) are 15m bars and larger sizes 5m bars. Each size runs the weekly CLI twice: as
configured (tuning at base.yaml's defaults, or --tune-trials per model), the run the limits
apply to, and untuned, the run compared with the same fits done raw. See bench/README.md.
"""

from __future__ import annotations

import os
import sys

# Pin to one CPU and one thread per library before numpy, LightGBM or XGBoost start a pool; the
# CLI child inherits both the affinity and the environment.
PINNED_CPU = min(os.sched_getaffinity(0))
os.sched_setaffinity(0, {PINNED_CPU})
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.full_run import SINGLE_THREAD_ENV  # noqa: E402  (no numpy behind this import)
from bench.stamp import Stamp, write_results  # noqa: E402

os.environ.update(SINGLE_THREAD_ENV)

import argparse  # noqa: E402
import platform  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from dataclasses import asdict  # noqa: E402
from importlib import import_module  # noqa: E402
from pathlib import Path  # noqa: E402

from bench.candles import generate_candles  # noqa: E402
from bench.features_vs_talib import measure_features  # noqa: E402
from bench.floor import measure_floor  # noqa: E402
from bench.full_run import pickle_sizes, run_weekly_cli  # noqa: E402
from bench.latency import measure_latency  # noqa: E402
from bench.report import print_table, targets  # noqa: E402
from src.config import load_settings  # noqa: E402
from src.data.sources import read_candle_file  # noqa: E402
from src.features.feature_manager import FeatureManager  # noqa: E402
from src.ml.labels import build_dataset  # noqa: E402
from src.registry.store import Registry  # noqa: E402

ONE_YEAR_15M = 35_040
INFERENCE_BARS = 500


def parse_size(text: str) -> tuple[int, str]:
    bars, _, timeframe = text.partition(":")
    n_bars = int(bars)
    return n_bars, timeframe or ("15m" if n_bars <= ONE_YEAR_15M else "5m")


def _weekly_run(csv_path: Path, timeframe: str, models_dir: Path, extra_args: tuple) -> dict:
    full = run_weekly_cli(csv_path, timeframe, models_dir, extra_args=extra_args)
    if full.exit_code != 0:
        print(full.stderr_tail, file=sys.stderr)
        raise SystemExit(f"the weekly CLI exited {full.exit_code} on {csv_path}")
    return {**asdict(full), "peak_rss_bytes": full.peak_rss_bytes}


def bench_size(
    n_bars: int, timeframe: str, settings, workdir: Path, progress, tune_args: tuple
) -> dict:
    started = time.perf_counter()
    minutes = int(timeframe.removesuffix("m"))
    csv_path = workdir / f"candles_{n_bars}_{timeframe}.csv"
    generate_candles(n_bars, minutes).to_csv(csv_path)
    models_dir, tuned_dir = workdir / f"models_{n_bars}", workdir / f"models_{n_bars}_tuned"

    progress(f"[{n_bars} x {timeframe}] 1/5 weekly run as configured, tuned (CLI child process)")
    tuned = _weekly_run(csv_path, timeframe, tuned_dir, tune_args)
    progress(f"[{n_bars} x {timeframe}] 2/5 the same run untuned (CLI child process)")
    # Untuned: the ratio below compares the run's 18 fits with the same fits done raw.
    full = _weekly_run(csv_path, timeframe, models_dir, ("--no-tune",))

    candles = read_candle_file(csv_path)  # exactly the candles the CLI read
    label = settings.training.label
    X, y = build_dataset(candles, label.horizon, label.threshold)
    progress(f"[{n_bars} x {timeframe}] 3/5 floor: the same fits, raw libraries")
    floor = measure_floor(X.to_numpy(), y.to_numpy(), settings)
    progress(f"[{n_bars} x {timeframe}] 4/5 FeatureManager vs TA-Lib")
    features_timing = measure_features(candles)
    # What inference computes on each call: the few hundred latest bars FeatureManager asks for.
    inference_timing = measure_features(candles.iloc[-INFERENCE_BARS:])
    progress(f"[{n_bars} x {timeframe}] 5/5 predict_proba latency of the untuned set")
    model_set = Registry(models_dir).load()
    features = FeatureManager().generate_features(candles)
    latency = measure_latency(model_set.ensemble, model_set.models, features)

    return {
        "n_bars": n_bars,
        "timeframe": timeframe,
        "full_run_tuned": tuned,
        "full_run": full,
        "floor": asdict(floor),
        "full_over_floor_fit": full["wall_s"] / floor.fit_s,
        "full_over_floor_fit_predict": full["wall_s"] / (floor.fit_s + floor.predict_s),
        "full_over_floor_fit_cpu": full["cpu_s"] / floor.fit_cpu_s,
        # Share of wall time each side had the CPU: well under 1 means other processes competed
        # for the pinned CPU, and the wall ratio above is then less telling than the CPU one.
        "full_run_cpu_share": full["cpu_s"] / full["wall_s"],
        "floor_cpu_share": floor.fit_cpu_s / floor.fit_s,
        "features": {
            **asdict(features_timing),
            "ratio": features_timing.ratio,
            "wall_ratio": features_timing.wall_ratio,
        },
        "features_inference": {
            "n_bars": INFERENCE_BARS,
            **asdict(inference_timing),
            "ratio": inference_timing.ratio,
        },
        "latency": {
            **asdict(latency),
            "median_ratio": latency.median_ratio,
            "p99_ratio": latency.p99_ratio,
        },
        # What the weekly job ships: the tuned set's pickles.
        "pickle_bytes": pickle_sizes(tuned_dir),
        "bench_seconds": time.perf_counter() - started,
    }


def environment() -> dict:
    libraries = ("numpy", "pandas", "sklearn", "lightgbm", "xgboost", "talib", "psutil", "scipy")
    return {
        "pinned_cpu": PINNED_CPU,
        "affinity": sorted(os.sched_getaffinity(0)),
        "thread_env": SINGLE_THREAD_ENV,
        "python": platform.python_version(),
        "machine": platform.machine(),
        "processor": platform.processor() or platform.uname().machine,
        "libraries": {name: import_module(name).__version__ for name in libraries},
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", nargs="+", default=["35040", "105120"])
    parser.add_argument(
        "--tune-trials", type=int, metavar="N", help="trials per model of the tuned run (quick)"
    )
    parser.add_argument("--out", type=Path, default=Path(REPO_ROOT) / "bench" / "results.json")
    args = parser.parse_args()
    stamp, started = Stamp.start(), time.perf_counter()
    settings = load_settings()
    trials = () if args.tune_trials is None else ("--tune-trials", str(args.tune_trials))
    tune_args = ("--tune", *trials)

    def progress(message: str) -> None:
        print(f"{time.perf_counter() - started:7.1f}s  {message}", flush=True)

    results = []
    with tempfile.TemporaryDirectory(prefix="bench-") as workdir:
        for size in args.sizes:
            n_bars, timeframe = parse_size(size)
            bench = bench_size(n_bars, timeframe, settings, Path(workdir), progress, tune_args)
            results.append(bench)
    report = {
        "environment": environment(),
        "sizes": results,
        "targets": targets(results),
        # Max RSS of any child so far; the per-run wait4 figures above are the ones to read.
        "rusage_children_maxrss_bytes": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
        * 1024,
        "bench_total_seconds": time.perf_counter() - started,
    }
    print_table(report, stamp)
    write_results(args.out, report, stamp)
    print(f"\nJSON: {args.out}")
    return 0 if all(t["met"] for t in report["targets"] if t["kind"] == "limit") else 1


if __name__ == "__main__":
    sys.exit(main())
