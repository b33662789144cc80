#!/usr/bin/env python3
"""The live bot's cost: ONNX + FeatureStream against today's pickles + FeatureManager.

    .venv/bin/python bench/inference.py [--out bench/inference_results.json] [--starts 5]
                                        [--bars 35040] [--tune-trials N]

On generated BTC/JPY candles (bench/candles.py): two years of 15m bars (--bars each); the weekly
CLI trains a set on the first year (its ONNX export checked on that year's holdout), tuned as
configured (--tune-trials per model for the quick mode); the second year is the "live" one,
never trained on. Measured in one run, pinned to one CPU, one thread per library:

1. Cold start, interpreter start -> first position, in child processes (bench/cold_start.py),
   interleaved, `--starts` each: the ONNX path restoring a saved stream (what a restarted bot
   does), the ONNX path seeding its stream from 500 bars of CSV, and today's path (Registry
   unpickling, FeatureManager on those 500 bars plus the new candle). Wall time from Popen to
   the printed position; peak RSS is the child's own VmHWM (see bench/cold_start.py).
2. One bar, in this process: `FeatureStream.update` + the ONNX ensemble's P(up) + the policy
   rule, for every bar of the live year (p50, p99), and today's per-bar work (FeatureManager on
   the latest 500 bars + `ModelSet.position`) on 300 bars of it.
3. Equality on the live year: the stream's rows against FeatureManager on the whole history
   (max relative difference per column), the ONNX P(up) against the pickled ensemble's
   (max |dp| over the 35,040 bars).
"""

from __future__ import annotations

import os
import sys

PINNED_CPU = min(os.sched_getaffinity(0))
os.sched_setaffinity(0, {PINNED_CPU})
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

from bench.full_run import SINGLE_THREAD_ENV, child_env, run_weekly_cli  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402

os.environ.update(SINGLE_THREAD_ENV)

import argparse  # noqa: E402
import json  # noqa: E402
import statistics  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from bench.candles import generate_candles  # noqa: E402
from src.features.contract import FEATURE_NAMES  # noqa: E402
from src.features.feature_manager import FeatureManager  # noqa: E402
from src.inference import FeatureStream, LivePredictor  # noqa: E402
from src.registry.signing import SIGNING_KEY_ENV  # noqa: E402
from src.registry.store import Registry  # noqa: E402

YEAR = 35_040  # 15m bars
HISTORY_BARS = 500  # what today's path recomputes per call (FeatureManager's advice)
PICKLE_BARS = 300  # bars timed on today's path (~15 ms each)
GOALS = {"cold_start_s": 0.3, "peak_rss_mib": 100.0, "one_bar_p50_us": 100.0}


def _records(candles) -> list[dict]:
    frame = candles.reset_index()
    frame["timestamp"] = frame["timestamp"].map(lambda moment: moment.isoformat())
    return frame.to_dict("records")


def _cold_start(mode: str, models_dir: Path, source: Path, candle: Path) -> dict:
    env = {**child_env(), "PYTHONPATH": REPO_ROOT, SIGNING_KEY_ENV: ""}
    command = [sys.executable, str(Path(REPO_ROOT, "bench", "cold_start.py")), mode]
    started = time.perf_counter()
    child = subprocess.Popen(
        [*command, str(models_dir), str(source), str(candle)],
        cwd=REPO_ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    line = child.stdout.readline()
    first_position_s = time.perf_counter() - started
    if child.wait() != 0:
        raise SystemExit(f"cold start ({mode}) failed: {child.stderr.read()[-2000:]}")
    position, peak_kib = (int(field) for field in line.split())
    return {"s": first_position_s, "rss_mib": peak_kib / 1024, "position": position}


def measure_cold_starts(models_dir: Path, work: Path, candles, starts: int) -> dict:
    history = candles.iloc[-HISTORY_BARS - 1 : -1]
    history.to_csv(work / "history.csv")
    candle = _records(candles.iloc[-1:])[0]
    (work / "candle.json").write_text(json.dumps(candle))
    FeatureStream.from_candles(history).save(work / "stream.json")
    sources = {"onnx": work / "stream.json", "seeded": work / "history.csv"}
    sources["pickle"] = work / "history.csv"
    runs = {mode: [] for mode in sources}
    for _ in range(starts):  # interleaved, so drift in machine load hits every mode alike
        for mode, source in sources.items():
            runs[mode].append(_cold_start(mode, models_dir, source, work / "candle.json"))
    positions = {mode: {run["position"] for run in values} for mode, values in runs.items()}
    assert len(set().union(*positions.values())) == 1, f"the paths disagree: {positions}"
    return {
        mode: {
            "median_s": statistics.median(run["s"] for run in values),
            "min_s": min(run["s"] for run in values),
            "peak_rss_mib": max(run["rss_mib"] for run in values),
            "runs": len(values),
        }
        for mode, values in runs.items()
    }


def _percentiles(samples_s: list[float]) -> dict:
    micros = np.array(samples_s) * 1e6
    return {"p50_us": float(np.percentile(micros, 50)), "p99_us": float(np.percentile(micros, 99))}


def measure_one_bar(models_dir: Path, history, live) -> tuple[dict, dict]:
    """Per-bar latency of both paths; the ONNX path's rows and P(up) for the equality check."""
    predictor = LivePredictor.load(models_dir)
    stream = FeatureStream.from_candles(history)
    records = _records(live)
    update_s, predict_s, total_s, rows, p_up, held = [], [], [], [], [], 0
    for candle in records:
        started = time.perf_counter()
        row = stream.update(candle)
        updated = time.perf_counter()
        probability = predictor.p_up(row)
        held = predictor.policy.next_position(probability, held)  # = predictor.position
        done = time.perf_counter()
        update_s.append(updated - started)
        predict_s.append(done - updated)
        total_s.append(done - started)
        rows.append(row.values)
        p_up.append(probability)

    model_set = Registry(models_dir).load()
    manager = FeatureManager()
    both = pd.concat([history.iloc[-HISTORY_BARS:], live.iloc[:PICKLE_BARS]])
    pickle_s, pickle_held = [], 0
    for end in range(HISTORY_BARS, HISTORY_BARS + PICKLE_BARS):
        started = time.perf_counter()
        features = manager.generate_features(both.iloc[end - HISTORY_BARS + 1 : end + 1])
        pickle_held = model_set.position(features, pickle_held)
        pickle_s.append(time.perf_counter() - started)
    latency = {
        "onnx_path": {**_percentiles(total_s), "bars": len(total_s)},
        "of_which_stream_update": _percentiles(update_s),
        "of_which_onnx_p_up_and_rule": _percentiles(predict_s),
        "pickle_path": {**_percentiles(pickle_s), "bars": len(pickle_s)},
    }
    latency["p50_ratio_onnx_over_pickle"] = (
        latency["onnx_path"]["p50_us"] / latency["pickle_path"]["p50_us"]
    )
    return latency, {"rows": np.array(rows), "p_up": np.array(p_up)}


def measure_equality(models_dir: Path, candles, live, onnx: dict) -> dict:
    batch = FeatureManager().generate_features(candles).loc[live.index]
    expected = batch.to_numpy()
    scale = np.maximum(np.abs(expected), np.finfo(float).tiny)
    relative = np.abs(onnx["rows"] - expected) / scale
    pickled = Registry(models_dir).load().ensemble.predict_proba(batch)[:, 1]
    return {
        "bars": len(live),
        "feature_max_rel_diff": dict(
            zip(FEATURE_NAMES, relative.max(axis=0).tolist(), strict=True)
        ),
        "p_up_max_abs_diff": float(np.max(np.abs(onnx["p_up"] - pickled))),
        "p_up_range": [float(pickled.min()), float(pickled.max())],
    }


def _print(results: dict) -> None:
    cold, bar, equal = results["cold_start"], results["one_bar"], results["equality"]
    print("\nCold start (interpreter start -> first position), median of", cold["onnx"]["runs"])
    for mode in ("onnx", "seeded", "pickle"):
        figures = cold[mode]
        print(f"  {mode:7s} {figures['median_s']:6.3f} s (min {figures['min_s']:.3f})"
              f"  peak RSS {figures['peak_rss_mib']:6.1f} MiB")  # fmt: skip
    onnx, pickled = cold["onnx"], cold["pickle"]
    print(f"  ratio onnx/pickle: {onnx['median_s'] / pickled['median_s']:.2f} (time), "
          f"{onnx['peak_rss_mib'] / pickled['peak_rss_mib']:.2f} (RSS)")  # fmt: skip
    print("One bar (candle -> position)")
    parts = ("onnx_path", "of_which_stream_update", "of_which_onnx_p_up_and_rule", "pickle_path")
    for name in parts:
        print(f"  {name:28s} p50 {bar[name]['p50_us']:9.1f} us  p99 {bar[name]['p99_us']:9.1f} us")
    print(f"  ratio p50 onnx/pickle: {bar['p50_ratio_onnx_over_pickle']:.4f}")
    print(f"Equality on {equal['bars']} live bars: max |dp| {equal['p_up_max_abs_diff']:.2e}, "
          f"max feature rel diff {max(equal['feature_max_rel_diff'].values()):.2e}")  # fmt: skip
    checks = {
        "cold_start_s": cold["onnx"]["median_s"],
        "peak_rss_mib": cold["onnx"]["peak_rss_mib"],
        "one_bar_p50_us": bar["onnx_path"]["p50_us"],
    }
    for name, value in checks.items():
        verdict = "MET" if value <= GOALS[name] else "MISS"
        print(f"  {verdict:4s} {name} {value:.3f} (goal <= {GOALS[name]:g})")
    results["goals"] = {name: {"value": v, "goal": GOALS[name]} for name, v in checks.items()}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    out = Path(REPO_ROOT, "bench", "inference_results.json")
    parser.add_argument("--out", type=Path, default=out)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--bars", type=int, default=YEAR, help="bars of each of the two years")
    parser.add_argument("--tune-trials", type=int, metavar="N", help="per model (quick mode)")
    args = parser.parse_args()
    stamp = Stamp.start()
    trials = () if args.tune_trials is None else ("--tune-trials", str(args.tune_trials))
    with tempfile.TemporaryDirectory() as temp:
        work = Path(temp)
        candles = generate_candles(2 * args.bars, 15)
        trained, live = candles.iloc[: args.bars], candles.iloc[args.bars :]
        trained.to_csv(work / "year1.csv")
        print("training on the first year (weekly CLI) ...", flush=True)
        tuned = ("--tune", *trials)
        run = run_weekly_cli(work / "year1.csv", "15m", work / "models", extra_args=tuned)
        if run.exit_code != 0:
            raise SystemExit(f"the weekly CLI exited {run.exit_code}: {run.stderr_tail}")
        models_dir = work / "models"
        metadata = json.loads((models_dir / "training" / "training_metadata.json").read_text())
        print("cold starts ...", flush=True)
        cold = measure_cold_starts(models_dir, work, candles, args.starts)
        print("one bar at a time over the live year ...", flush=True)
        one_bar, onnx = measure_one_bar(models_dir, trained, live)
        results = {
            "cold_start": cold,
            "one_bar": one_bar,
            "equality": measure_equality(models_dir, candles, live, onnx),
            "export_check": metadata["onnx"],
            "ensemble_weights": metadata["ensemble_metrics"]["weights"],
        }
    _print(results)
    results["environment"] = {
        "pinned_cpu": PINNED_CPU,
        "libraries": {n: version(n) for n in ("numpy", "onnxruntime", "scikit-learn")},
    }
    write_results(args.out, results, stamp)
    print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
