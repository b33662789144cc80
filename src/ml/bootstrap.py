"""90% intervals for holdout figures from a moving-block bootstrap.

Holdout rows are not independent (returns cluster, positions last several bars), so rows are
resampled in blocks of consecutive rows: ceil(n ** (1/3)) of them, a common rule for the
moving-block bootstrap. Seeded, so the same inputs give the same intervals.
"""

from __future__ import annotations

import math

import numpy as np

from src.registry.metadata import BootstrapRecord, Interval

_CHUNK = 100  # resamples per batch: bounds memory to ~100 x n rows on the 1 GiB box


def block_length(n_rows: int) -> int:
    return max(1, math.ceil(n_rows ** (1 / 3)))


def _resampled_rows(rng: np.random.Generator, n_rows: int, length: int, count: int):
    blocks = math.ceil(n_rows / length)
    starts = rng.integers(0, n_rows - length + 1, size=(count, blocks))
    return (starts[:, :, None] + np.arange(length)).reshape(count, -1)[:, :n_rows]


def _mcc(y_true: np.ndarray, y_pred: np.ndarray) -> np.ndarray:
    """Matthews correlation per row of the 2-D arrays (0 where undefined, as scikit-learn)."""
    tp = np.sum((y_pred == 1) & (y_true == 1), axis=1, dtype="float64")
    tn = np.sum((y_pred == 0) & (y_true == 0), axis=1, dtype="float64")
    fp = np.sum((y_pred == 1) & (y_true == 0), axis=1, dtype="float64")
    fn = np.sum((y_pred == 0) & (y_true == 1), axis=1, dtype="float64")
    denominator = np.sqrt((tp + fp) * (tp + fn) * (tn + fp) * (tn + fn))
    return np.divide(tp * tn - fp * fn, denominator, out=np.zeros_like(tp), where=denominator > 0)


def bootstrap_intervals(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    net_returns: np.ndarray,
    samples: int,
    seed: int,
    level: float = 0.9,
) -> BootstrapRecord:
    """Intervals for the holdout MCC and the compounded net return of per-row `net_returns`."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    log_growth = np.log1p(np.asarray(net_returns, dtype="float64"))
    n_rows, length = len(y_true), block_length(len(y_true))
    rng = np.random.default_rng(seed)
    mcc, net = [], []
    for first in range(0, samples, _CHUNK):
        rows = _resampled_rows(rng, n_rows, length, min(_CHUNK, samples - first))
        mcc.append(_mcc(y_true[rows], y_pred[rows]))
        net.append(np.expm1(log_growth[rows].sum(axis=1)))
    tails = [(1 - level) / 2 * 100, (1 + level) / 2 * 100]

    def interval(values: list[np.ndarray]) -> Interval:
        low, high = np.percentile(np.concatenate(values), tails)
        return Interval(low=float(low), high=float(high))

    return BootstrapRecord(
        samples=samples,
        block_length=length,
        seed=seed,
        level=level,
        net_return=interval(net),
        mcc=interval(mcc),
    )


def total_return_interval(
    net_returns: np.ndarray, samples: int, seed: int, level: float = 0.9
) -> Interval:
    """An interval for the compounded total of per-period `net_returns` (e.g. one per week),
    resampled in moving blocks as the holdout's rows are."""
    log_growth = np.log1p(np.asarray(net_returns, dtype="float64"))
    n_rows = len(log_growth)
    rows = _resampled_rows(np.random.default_rng(seed), n_rows, block_length(n_rows), samples)
    totals = np.expm1(log_growth[rows].sum(axis=1))
    low, high = np.percentile(totals, [(1 - level) / 2 * 100, (1 + level) / 2 * 100])
    return Interval(low=float(low), high=float(high))
