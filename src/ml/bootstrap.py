"""90% intervals for holdout figures from a moving-block bootstrap.

Holdout rows are not independent (returns cluster, positions last several bars), so rows are
resampled in blocks of consecutive rows: ceil(n ** (1/3)) of them, a common rule for the
moving-block bootstrap. Seeded, so the same inputs give the same intervals.

A difference between two things measured on the same rows (the policy against buy-and-hold,
the ensemble against a trivial rule, the live set against a challenger) is resampled *paired*:
each resample scores both sides on the same rows, so what they share cancels and the interval
is that of the difference itself, not of either side alone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from src.registry.trading_record import BootstrapRecord, Interval

_CHUNK = 100  # resamples per batch: bounds memory to ~100 x n rows on the 1 GiB box


def block_length(n_rows: int) -> int:
    return max(1, math.ceil(n_rows ** (1 / 3)))


def _block_starts(n_rows: int, samples: int, seed: int):
    """Batches of each resample's block starts, `samples` resamples in all."""
    rng, length = np.random.default_rng(seed), block_length(n_rows)
    blocks = math.ceil(n_rows / length)
    for first in range(0, samples, _CHUNK):
        yield rng.integers(0, n_rows - length + 1, size=(min(_CHUNK, samples - first), blocks))


def _resamples(n_rows: int, samples: int, seed: int):
    """Batches of resampled row positions: each resample's blocks, the last cut at n_rows."""
    length = block_length(n_rows)
    for starts in _block_starts(n_rows, samples, seed):
        rows = starts[:, :, None] + np.arange(length)
        yield rows.reshape(len(starts), -1)[:, :n_rows]


def _confusion(y_true: np.ndarray, y_pred: np.ndarray):
    def count(truth: int, call: int) -> np.ndarray:
        return np.sum((y_pred == call) & (y_true == truth), axis=1, dtype="float64")

    return count(1, 1), count(0, 0), count(0, 1), count(1, 0)  # tp, tn, fp, fn


def _mcc(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Matthews correlation per row of the 2-D arrays (0 where undefined, as scikit-learn)."""
    tp, tn, fp, fn = _confusion(y_true, y_pred)
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return np.divide(tp * tn - fp * fn, denominator, out=np.zeros_like(tp), where=denominator > 0)


def _balanced_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Mean recall over the classes present, per row of the 2-D arrays (as scikit-learn)."""
    tp, tn, fp, fn = _confusion(y_true, y_pred)
    present = (tp + fn > 0).astype("float64") + (tn + fp > 0)
    recall_up = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
    recall_down = np.divide(tn, tn + fp, out=np.zeros_like(tn), where=tn + fp > 0)
    return (recall_up + recall_down) / np.maximum(present, 1.0)


SKILL_METRICS = {"mcc": _mcc, "balanced_accuracy": _balanced_accuracy}


def _interval(values: list[np.ndarray], level: float) -> Interval:
    tails = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]
    low, high = np.percentile(np.concatenate(values), tails)
    return Interval(low=float(low), high=float(high))


def two_standard_errors(metric: str, n_rows: int) -> float:
    """Two standard errors of a skill metric measured on `n_rows` rows without skill.

    MCC's standard error is about 1/sqrt(n), balanced accuracy's 0.5/sqrt(n): a difference
    within two of them is indistinguishable from noise.
    """
    return float(2.0 / np.sqrt(max(n_rows, 1)) * (1.0 if metric == "mcc" else 0.5))


@dataclass(frozen=True)
class HoldoutRows:
    """What the holdout intervals resample, one entry per decision row."""

    y_true: np.ndarray
    y_pred: np.ndarray  # the ensemble's calls
    policy_net: np.ndarray  # the policy's net return of each row, its costs included
    # Buy-and-hold's log growth after costs per row (src/ml/backtest.py's hold_log_growth), its
    # entry and exit costs at the rows where it pays them, as the policy's are.
    hold_log_growth: np.ndarray
    skill_metric: str = "mcc"
    baseline_name: str | None = None  # the best trivial rule, scored on the same resamples
    baseline_pred: np.ndarray | None = None


def bootstrap_intervals(
    rows: HoldoutRows, samples: int, seed: int, level: float = 0.9
) -> BootstrapRecord:
    """Intervals for the holdout MCC, the policy's compounded net return, its excess over
    buy-and-hold and the ensemble's gain over the best trivial rule, all from one set of
    resamples."""
    y_true, y_pred = np.asarray(rows.y_true), np.asarray(rows.y_pred)
    policy_log = np.log1p(np.asarray(rows.policy_net, dtype="float64"))
    hold_log = np.asarray(rows.hold_log_growth, dtype="float64")
    skill = SKILL_METRICS[rows.skill_metric]
    mcc, net, excess, gain = [], [], [], []
    for resample in _resamples(len(y_true), samples, seed):
        mcc.append(_mcc(y_true[resample], y_pred[resample]))
        policy = np.expm1(policy_log[resample].sum(axis=1))
        held = np.expm1(hold_log[resample].sum(axis=1))
        net.append(policy)
        excess.append(policy - held)
        if rows.baseline_pred is not None:
            ensemble = skill(y_true[resample], y_pred[resample])
            gain.append(ensemble - skill(y_true[resample], rows.baseline_pred[resample]))
    return BootstrapRecord(
        samples=samples,
        block_length=block_length(len(y_true)),
        seed=seed,
        level=level,
        net_return=_interval(net, level),
        mcc=_interval(mcc, level),
        excess_over_buy_and_hold=_interval(excess, level),
        best_baseline=rows.baseline_name,
        gain_over_best_baseline=_interval(gain, level) if gain else None,
    )


def paired_difference_interval(
    y_true: np.ndarray,
    first_pred: np.ndarray,
    second_pred: np.ndarray,
    metric: str,
    samples: int,
    seed: int,
    level: float = 0.9,
) -> Interval:
    """An interval for `metric`(first) - `metric`(second) on the same rows, each resample
    scoring both."""
    y_true, first, second = (np.asarray(a) for a in (y_true, first_pred, second_pred))
    score = SKILL_METRICS[metric]
    differences = [
        score(y_true[rows], first[rows]) - score(y_true[rows], second[rows])
        for rows in _resamples(len(y_true), samples, seed)
    ]
    return _interval(differences, level)


def total_return_interval(
    net_returns: np.ndarray, samples: int, seed: int, level: float = 0.9
) -> Interval:
    """An interval for the compounded total of per-period `net_returns` (e.g. one per week),
    resampled in moving blocks as the holdout's rows are."""
    log_growth = np.log1p(np.asarray(net_returns, dtype="float64"))
    totals = [
        np.expm1(log_growth[rows].sum(axis=1))
        for rows in _resamples(len(log_growth), samples, seed)
    ]
    return _interval(totals, level)


def excess_interval(
    policy_net: np.ndarray, hold_log_growth: np.ndarray, samples: int, seed: int,
    level: float = 0.9,
) -> Interval:
    """`bootstrap_intervals`' excess over buy-and-hold, from the same resamples, in time
    proportional to the blocks rather than the rows: a resample's total is the sum of its
    blocks' totals, read off prefix sums. The paper trader judges its live set at every bar."""
    policy_log = np.log1p(np.asarray(policy_net, dtype="float64"))
    n_rows, length = len(policy_log), block_length(len(policy_log))
    last_block = n_rows - (math.ceil(n_rows / length) - 1) * length  # the cut one's rows
    policy_prefix = np.r_[0.0, np.cumsum(policy_log)]
    hold_prefix = np.r_[0.0, np.cumsum(np.asarray(hold_log_growth, dtype="float64"))]

    def totals(prefix: np.ndarray, starts: np.ndarray) -> np.ndarray:
        full = prefix[starts[:, :-1] + length] - prefix[starts[:, :-1]]
        cut = prefix[starts[:, -1] + last_block] - prefix[starts[:, -1]]
        return full.sum(axis=1) + cut

    excess = [
        np.expm1(totals(policy_prefix, starts)) - np.expm1(totals(hold_prefix, starts))
        for starts in _block_starts(n_rows, samples, seed)
    ]
    return _interval(excess, level)

