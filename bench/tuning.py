#!/usr/bin/env python3
"""What tuning costs and what it buys, on a year of 15-minute bars (bench/candles.py), in one run.

    .venv/bin/python bench/tuning.py [--bars 35040] [--trials 8] [--weekly-trials N]
                                     [--out bench/tuning_results.json]

1. The weekly CLI with tuning at base.yaml's defaults (or --weekly-trials per model, for the
   quick mode), pinned to one CPU: wall and peak RSS against SPEC §11 (45 min, 1 GiB).
2. Optuna's overhead: a study of `--trials` trials per model in this process (one CPU), then the
   very same fits (each trial's parameters, the folds it ran) in a plain loop; goal <= 1.1x.
3. Two workers against one: the same study on a 2-worker LocalCluster (both cores) and in this
   process; goal >= 1.7x. The cluster's start-up is reported apart.
4. What moved: the ensemble's out-of-fold log loss and holdout MCC, tuned against untuned.
"""

from __future__ import annotations

import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
ALL_CPUS = os.sched_getaffinity(0)
ONE_CPU = {min(ALL_CPUS)}

import argparse  # noqa: E402
import json  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.metrics import log_loss, matthews_corrcoef  # noqa: E402

from bench.candles import generate_candles  # noqa: E402
from bench.full_run import run_weekly_cli  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402
from src.compute import Compute, open_compute  # noqa: E402
from src.config import load_settings, with_overrides  # noqa: E402
from src.data.sources import CandleSet  # noqa: E402
from src.ml.ensemble import blend  # noqa: E402
from src.ml.evaluation import purged_time_series_cv  # noqa: E402
from src.ml.models import build_model  # noqa: E402
from src.ml.training import train_models, training_window  # noqa: E402
from src.tuning import tune  # noqa: E402

MIB = 1024 * 1024


@contextmanager
def _cpus(cpus: set[int]):
    """Run the block (and the children it starts) on `cpus`."""
    before = os.sched_getaffinity(0)
    os.sched_setaffinity(0, cpus)
    try:
        yield
    finally:
        os.sched_setaffinity(0, before)


def _timed(call):
    started = time.perf_counter()
    result = call()
    return result, time.perf_counter() - started


def weekly_run(csv_path: Path, workdir: Path, progress, trials: int | None) -> dict:
    extra_args = ("--tune",) + (() if trials is None else ("--tune-trials", str(trials)))
    with _cpus(ONE_CPU):
        full = run_weekly_cli(csv_path, "15m", workdir / "models", extra_args=extra_args)
    if full.exit_code != 0:
        raise SystemExit(f"the weekly CLI failed ({full.exit_code}):\n{full.stderr_tail}")
    metadata_path = workdir / "models" / "training" / "training_metadata.json"
    metadata = json.loads(metadata_path.read_text())
    tuning = metadata["tuning"]
    progress(f"weekly run with tuning: {full.wall_s:.0f} s, {full.peak_rss_bytes / MIB:.0f} MiB")
    return {
        "wall_s": round(full.wall_s, 1),
        "peak_rss_mib": round(full.peak_rss_bytes / MIB, 1),
        "tuning_wall_s": round(tuning["wall_seconds"], 1),
        "trials": {name: m["trials"] for name, m in tuning["models"].items()},
        "pruned": {name: m["pruned"] for name, m in tuning["models"].items()},
        "stopped_by": {name: m["stopped_by"] for name, m in tuning["models"].items()},
        "cv_log_loss_untuned_vs_best": {
            name: [m["default_cv_log_loss"], m["best_cv_log_loss"]]
            for name, m in tuning["models"].items()
        },
        "chosen_params": {name: m["chosen_params"] for name, m in tuning["models"].items()},
        "limits": {"wall_s": 45 * 60, "peak_rss_mib": 1024},
    }


def _plain_loop(settings, X, y, record: dict) -> None:
    """Each recorded trial's fits, folds and scores, with no Optuna and no compute layer."""
    training = settings.training
    folds = list(purged_time_series_cv(training.cv.n_splits, training.cv.gap).split(X))
    for name, model in record["models"].items():
        defaults = getattr(training.models, name)
        for trial in model["history"]:
            for train_rows, test_rows in folds[: trial["folds_run"]]:
                fitted = build_model(name, {**defaults, **trial["params"]}, training.seed)
                fitted.fit(X.iloc[train_rows], y.iloc[train_rows])
                p_up = fitted.predict_proba(X.iloc[test_rows])[:, 1]
                log_loss(y.iloc[test_rows], np.clip(p_up, 1e-15, 1 - 1e-15), labels=[0, 1])


def overhead_and_speedup(settings, candles, progress) -> dict:
    X, y = training_window(candles, settings)
    with _cpus(ONE_CPU):
        one, one_s = _timed(lambda: tune(settings, candles, Compute(), progress=lambda _: None))
        _, loop_s = _timed(lambda: _plain_loop(settings, X, y, one.record))
    progress(f"{one_s:.0f} s in a study, {loop_s:.0f} s in a plain loop")
    with _cpus(ALL_CPUS):
        started = time.perf_counter()
        with open_compute(workers=2, memory_limit_mib=1024) as compute:
            startup_s = time.perf_counter() - started
            two, two_s = _timed(lambda: tune(settings, candles, compute, progress=lambda _: None))
    progress(f"{two_s:.0f} s on 2 workers (+{startup_s:.1f} s start-up)")
    same = all(
        one.record["models"][name]["chosen_params"] == model["chosen_params"]
        for name, model in two.record["models"].items()
    )
    return {
        "trials_per_model": settings.tuning.n_trials,
        "study_in_process_s": round(one_s, 1),
        "plain_loop_s": round(loop_s, 1),
        "overhead_ratio": round(one_s / loop_s, 3),
        "overhead_goal": 1.1,
        "two_workers_s": round(two_s, 1),
        "cluster_startup_s": round(startup_s, 1),
        "speedup_2_over_1": round(one_s / two_s, 3),
        "speedup_goal": 1.7,
        "same_choice_on_1_and_2_workers": same,
    }


def _scores(candle_set, settings) -> dict:
    run = train_models(candle_set, settings, progress=lambda _: None)
    oof = blend(run.cv.oof_p_up, run.ensemble.weights_)
    y_train = run.labels.iloc[: run.split.train_end].to_numpy()
    scored = ~np.isnan(oof)
    hold_y = run.labels.iloc[run.split.holdout_start :]
    hold_pred = (run.holdout_p_up["ensemble"] > 0.5).astype(int)
    return {
        "ensemble_oof_log_loss": round(
            float(log_loss(y_train[scored], np.clip(oof[scored], 1e-15, 1 - 1e-15))), 5
        ),
        "ensemble_holdout_mcc": round(float(matthews_corrcoef(hold_y, hold_pred)), 4),
        "ensemble_holdout_log_loss": round(run.ensemble_metrics["log_loss"], 5),
    }


def what_moved(candle_set, settings, chosen: dict) -> dict:
    models = settings.training.models.model_dump()
    tuned_models = {name: {**models[name], **chosen.get(name, {})} for name in models}
    tuned = with_overrides(settings, training={"models": tuned_models})
    with _cpus(ONE_CPU):
        return {"untuned": _scores(candle_set, settings), "tuned": _scores(candle_set, tuned)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bars", type=int, default=35_040)
    parser.add_argument("--trials", type=int, default=8, help="per model, for parts 2 and 3")
    parser.add_argument(
        "--weekly-trials", type=int, metavar="N", help="per model, for part 1 (quick mode)"
    )
    parser.add_argument("--out", type=Path, default=Path(REPO_ROOT, "bench", "tuning_results.json"))
    args = parser.parse_args()
    stamp = Stamp.start()

    def progress(message: str) -> None:
        print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)

    settings = with_overrides(load_settings(), tuning={"enabled": True})
    candles = generate_candles(args.bars, 15)
    candle_set = CandleSet(candles, "generated", "BTC/JPY", "15m")
    with tempfile.TemporaryDirectory() as tmp:
        csv_path = Path(tmp, "candles.csv")
        candles.to_csv(csv_path)
        weekly = weekly_run(csv_path, Path(tmp), progress, args.weekly_trials)
    small = with_overrides(settings, tuning={"n_trials": args.trials})
    results = {
        "bars": args.bars,
        "timeframe": "15m",
        "weekly_run_with_tuning_one_cpu": weekly,
        "overhead_and_speedup": overhead_and_speedup(small, candles, progress),
        "tuned_vs_untuned": what_moved(candle_set, settings, weekly["chosen_params"]),
    }
    write_results(args.out, results, stamp)
    print(json.dumps({k: v for k, v in results.items() if k != "weekly_run_with_tuning_one_cpu"},
                     indent=2))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
