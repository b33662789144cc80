"""Block-bootstrap intervals of the holdout figures: seeded, blocked, and around the estimate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import matthews_corrcoef

from src.ml.bootstrap import _mcc, block_length, bootstrap_intervals


@pytest.fixture(scope="module")
def holdout():
    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 2, 1_200)
    y_pred = np.where(rng.random(1_200) < 0.6, y_true, 1 - y_true)  # MCC about 0.2
    net = rng.normal(0.0002, 0.003, 1_200)
    return y_true, y_pred, net


def test_the_vectorised_mcc_is_scikit_learns(holdout):
    y_true, y_pred, _ = holdout
    rows = np.random.default_rng(1).integers(0, len(y_true), (5, len(y_true)))

    expected = [matthews_corrcoef(y_true[r], y_pred[r]) for r in rows]

    np.testing.assert_allclose(_mcc(y_true[rows], y_pred[rows]), expected, atol=1e-12)
    assert _mcc(np.ones((1, 4), int), np.ones((1, 4), int))[0] == 0.0  # undefined: 0, as sklearn


def test_intervals_are_seeded_and_hold_the_point_estimates(holdout):
    y_true, y_pred, net = holdout

    first = bootstrap_intervals(y_true, y_pred, net, samples=500, seed=3)
    again = bootstrap_intervals(y_true, y_pred, net, samples=500, seed=3)

    assert first == again
    assert first.mcc.low < matthews_corrcoef(y_true, y_pred) < first.mcc.high
    assert first.net_return.low < np.prod(1 + net) - 1 < first.net_return.high
    assert first.block_length == block_length(1_200) == 11 and first.level == 0.9


def test_blocks_keep_runs_of_returns_together(monkeypatch):
    # Returns that come in runs of 50 equal values: resampling single rows understates the spread
    # of the total; blocks keep some of the clustering, so their interval is wider.
    runs = np.repeat(np.random.default_rng(4).choice([-0.01, 0.01], 24), 50)
    labels = np.zeros(len(runs), int)

    blocked = bootstrap_intervals(labels, labels, runs, samples=400, seed=5)
    monkeypatch.setattr("src.ml.bootstrap.block_length", lambda n_rows: 1)
    rows_only = bootstrap_intervals(labels, labels, runs, samples=400, seed=5)

    width = blocked.net_return.high - blocked.net_return.low
    assert width > rows_only.net_return.high - rows_only.net_return.low
