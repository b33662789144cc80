#!/usr/bin/env python3
"""What the money side of a training run costs: the policy sweep and the block bootstrap.

    .venv/bin/python bench/trading_cost.py [--out bench/trading_results.json] [--scale S]

On generated candles (bench/candles.py) and a P(up) with a weak planted edge, at the holdout
and out-of-fold sizes of a year of 15m and of 5m bars: wall time of `choose_policy` (every
threshold pair, vectorised) and of `bootstrap_intervals` (1,000 block resamples: the MCC, the
policy's net, its paired excess over buy-and-hold and the paired gain over a trivial rule),
each beside the raw-library way of doing the same work (a loop calling scikit-learn's
matthews_corrcoef twice per resample; one Python pass per bar of the hysteresis rule for the
sweep), measured in the same run; and the spread estimate of the candles (src/ml/costs.py).
Pinned to one CPU, as bench/run_bench.py. --scale shrinks both cases (e.g. 0.02 for the
quick mode).
"""

from __future__ import annotations

import os
import sys

PINNED_CPU = min(os.sched_getaffinity(0))
os.sched_setaffinity(0, {PINNED_CPU})
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)

import argparse  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
from sklearn.metrics import matthews_corrcoef  # noqa: E402

from bench.candles import generate_candles  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402
from src.config import TradingConfig  # noqa: E402
from src.ml.backtest import next_bars  # noqa: E402
from src.ml.bootstrap import (  # noqa: E402
    HoldoutRows,
    _resamples,
    block_length,
    bootstrap_intervals,
)
from src.ml.costs import estimate_costs  # noqa: E402
from src.ml.policy import TradingPolicy, candidate_policies, choose_policy  # noqa: E402

SAMPLES = 1_000
COST = 0.0014
# (label, bars in the candles, minutes per bar): holdout = 20% of a year, OOF ~ 65%.
CASES = (("1 year of 15m", 35_040, 15), ("1 year of 5m", 105_120, 5))


def _timed(call, repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


def _inputs(n_bars: int, minutes: int, seed: int = 0):
    candles = generate_candles(n_bars, minutes)
    moves = np.r_[np.diff(np.log(candles["close"].to_numpy())), 0.0]
    rng = np.random.default_rng(seed)
    p_up = np.clip(0.5 + 0.05 * np.sign(moves) + rng.normal(0, 0.08, n_bars), 0.01, 0.99)
    return candles, p_up


def _sweep_by_hand(p_up: np.ndarray, bars, policies: list[TradingPolicy]) -> None:
    """The sweep without numpy's help: the one-bar rule in a Python loop per bar."""
    for policy in policies:
        held, equity = 0, 1.0
        for p, move in zip(p_up, np.nan_to_num(bars.next_return), strict=True):
            new = policy.next_position(p, held)
            equity *= 1.0 + new * move - COST * abs(new - held)
            held = new


def _bootstrap_by_hand(rows: HoldoutRows, samples: int) -> None:
    resamples = (row for batch in _resamples(len(rows.y_true), samples, 0) for row in batch)
    for resample in resamples:
        y_true = rows.y_true[resample]
        matthews_corrcoef(y_true, rows.y_pred[resample])
        matthews_corrcoef(y_true, rows.baseline_pred[resample])
        np.prod(1.0 + rows.policy_net[resample]) - np.exp(rows.hold_log_growth[resample].sum())


def measure(label: str, n_bars: int, minutes: int) -> dict:
    candles, p_up = _inputs(n_bars, minutes)
    oof_rows, holdout_rows = int(n_bars * 0.65), int(n_bars * 0.2)
    oof_bars = next_bars(candles, candles.index[:oof_rows])
    hold = slice(n_bars - holdout_rows - 1, n_bars - 1)
    hold_bars = next_bars(candles, candles.index[hold])
    y_true = (np.nan_to_num(hold_bars.next_return) > 0).astype("int64")
    y_pred = (p_up[hold] > 0.5).astype("int64")
    moves = np.nan_to_num(hold_bars.next_return)
    rows = HoldoutRows(
        y_true=y_true,
        y_pred=y_pred,
        policy_net=moves * (y_pred * 2 - 1),
        hold_log_growth=np.log1p(moves),
        baseline_name="reversal",
        baseline_pred=np.r_[1, 1 - y_true[:-1]],
    )

    sweep_s = _timed(
        lambda: choose_policy(p_up[:oof_rows], oof_bars, COST, False, 20, "bench"), repeat=1
    )
    policies = candidate_policies(False)
    few = policies[:: max(1, len(policies) // 8)]  # the loop is slow: time 1/8 and scale up
    loop_s = _timed(lambda: _sweep_by_hand(p_up[:oof_rows], oof_bars, few), 1)
    loop_s *= len(policies) / len(few)
    bootstrap_s = _timed(lambda: bootstrap_intervals(rows, SAMPLES, 0))
    subset = SAMPLES // 10  # likewise for the sklearn loop
    naive_s = _timed(lambda: _bootstrap_by_hand(rows, subset), 1) * 10
    spread_s = _timed(lambda: estimate_costs(candles, TradingConfig()))
    return {
        "case": label,
        "n_bars": n_bars,
        "oof_rows": oof_rows,
        "holdout_rows": holdout_rows,
        "threshold_pairs": len(policies),
        "choose_policy_s": sweep_s,
        "python_loop_sweep_s": loop_s,
        "sweep_ratio": sweep_s / loop_s,
        "bootstrap_samples": SAMPLES,
        "block_length": block_length(holdout_rows),
        "bootstrap_s": bootstrap_s,
        "sklearn_loop_bootstrap_s": naive_s,
        "bootstrap_ratio": bootstrap_s / naive_s,
        "spread_estimate_s": spread_s,
        "spread_estimate_candles": n_bars,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    default_out = Path(REPO_ROOT) / "bench" / "trading_results.json"
    parser.add_argument("--out", type=Path, default=default_out)
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of each case's bars")
    args = parser.parse_args()
    stamp = Stamp.start()
    results = [
        measure(label if args.scale == 1 else f"{int(bars * args.scale)} {minutes}m bars",
                int(bars * args.scale), minutes)
        for label, bars, minutes in CASES
    ]  # fmt: skip
    header = f"{'':16}{'OOF':>8}{'sweep s':>9}{'loop s':>9}{'ratio':>7}"
    print(header + f"{'holdout':>9}{'boot s':>8}{'sklearn s':>10}{'ratio':>7}")
    for row in results:
        print(
            f"{row['case']:16}{row['oof_rows']:>8}{row['choose_policy_s']:>9.2f}"
            f"{row['python_loop_sweep_s']:>9.1f}{row['sweep_ratio']:>7.3f}"
            f"{row['holdout_rows']:>9}{row['bootstrap_s']:>8.2f}"
            f"{row['sklearn_loop_bootstrap_s']:>10.2f}{row['bootstrap_ratio']:>7.3f}"
        )
    write_results(args.out, {"pinned_cpu": PINNED_CPU, "cases": results}, stamp)
    print(f"JSON: {os.path.relpath(args.out, REPO_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
