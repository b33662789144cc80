"""Block-bootstrap intervals of the holdout figures: seeded, blocked, and around the estimate."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import balanced_accuracy_score, matthews_corrcoef

from src.ml.bootstrap import (
    SKILL_METRICS,
    HoldoutRows,
    _mcc,
    block_length,
    bootstrap_intervals,
    paired_difference_interval,
)


def _rows(y_true, y_pred, net, baseline=None) -> HoldoutRows:
    """Holdout rows whose buy-and-hold stands still, so the excess is the policy's own net."""
    return HoldoutRows(
        y_true=y_true,
        y_pred=y_pred,
        policy_net=net,
        hold_log_growth=np.zeros(len(net)),
        baseline_name=None if baseline is None else "rule",
        baseline_pred=baseline,
    )


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

    first = bootstrap_intervals(_rows(y_true, y_pred, net), samples=500, seed=3)
    again = bootstrap_intervals(_rows(y_true, y_pred, net), samples=500, seed=3)

    assert first == again
    assert first.mcc.low < matthews_corrcoef(y_true, y_pred) < first.mcc.high
    assert first.net_return.low < np.prod(1 + net) - 1 < first.net_return.high
    assert first.block_length == block_length(1_200) == 11 and first.level == 0.9
    assert first.excess_over_buy_and_hold == first.net_return  # buy-and-hold made nothing


def test_the_gain_over_a_rule_is_scored_on_the_same_resamples(holdout):
    y_true, y_pred, net = holdout

    itself = bootstrap_intervals(_rows(y_true, y_pred, net, baseline=y_pred), 300, seed=3)
    chance = np.random.default_rng(9).integers(0, 2, len(y_true))
    over_chance = bootstrap_intervals(_rows(y_true, y_pred, net, baseline=chance), 300, seed=3)

    # Against itself every resample's gain is exactly 0: the same rows score both sides.
    assert (itself.gain_over_best_baseline.low, itself.gain_over_best_baseline.high) == (0, 0)
    gain = matthews_corrcoef(y_true, y_pred) - matthews_corrcoef(y_true, chance)
    assert 0 < over_chance.gain_over_best_baseline.low < gain
    assert over_chance.best_baseline == "rule"


def test_blocks_keep_runs_of_returns_together(monkeypatch):
    # Returns that come in runs of 50 equal values: resampling single rows understates the spread
    # of the total; blocks keep some of the clustering, so their interval is wider.
    runs = np.repeat(np.random.default_rng(4).choice([-0.01, 0.01], 24), 50)
    labels = np.zeros(len(runs), int)

    blocked = bootstrap_intervals(_rows(labels, labels, runs), samples=400, seed=5)
    monkeypatch.setattr("src.ml.bootstrap.block_length", lambda n_rows: 1)
    rows_only = bootstrap_intervals(_rows(labels, labels, runs), samples=400, seed=5)

    width = blocked.net_return.high - blocked.net_return.low
    assert width > rows_only.net_return.high - rows_only.net_return.low


def _calls(y_true: np.ndarray, wrong: np.ndarray) -> np.ndarray:
    return np.where(wrong, 1 - y_true, y_true)


def test_a_paired_interval_is_narrow_when_two_models_share_their_errors():
    # Both models miss the same 30% of rows; the first also misses 3% more. On every resample
    # the second leads by what those 3% hold, so the lead is told from zero. Two models with
    # the same accuracies but unrelated errors lead each other by chance on many rows.
    rng = np.random.default_rng(7)
    y_true = rng.integers(0, 2, 2_000)
    shared = rng.random(2_000) < 0.30
    extra = ~shared & (rng.random(2_000) < 0.045)
    first, second = _calls(y_true, shared | extra), _calls(y_true, shared)
    independent = _calls(y_true, rng.random(2_000) < 0.33)

    paired = paired_difference_interval(y_true, second, first, "mcc", 500, seed=1)
    unrelated = paired_difference_interval(y_true, independent, first, "mcc", 500, seed=1)

    lead = matthews_corrcoef(y_true, second) - matthews_corrcoef(y_true, first)
    assert 0 < paired.low < lead < paired.high
    assert paired.high - paired.low < (unrelated.high - unrelated.low) / 2
    assert unrelated.low < 0 < unrelated.high


def test_the_vectorised_balanced_accuracy_is_scikit_learns(holdout):
    y_true, y_pred, _ = holdout
    rows = np.random.default_rng(2).integers(0, len(y_true), (5, len(y_true)))

    expected = [balanced_accuracy_score(y_true[r], y_pred[r]) for r in rows]

    np.testing.assert_allclose(
        SKILL_METRICS["balanced_accuracy"](y_true[rows], y_pred[rows]), expected, atol=1e-12
    )
