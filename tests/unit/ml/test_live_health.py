"""The live set's verdict on the bars it traded: skill and money, each beyond noise."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import matthews_corrcoef

from src.config import load_settings
from src.ml.bootstrap import HoldoutRows, bootstrap_intervals, excess_interval
from src.ml.live_health import Judging, TradedBars, judge_live

CONFIG = load_settings().degradation  # max_metric_drop 0.05, min_samples 200
HOLDOUT = 2_000  # the holdout rows the recorded MCC was measured on


def _bars(n: int, accuracy: float, policy_drift: float, seed: int = 0) -> TradedBars:
    rng = np.random.default_rng(seed)
    went_up = rng.integers(0, 2, n)
    right = rng.random(n) < accuracy
    p_up = np.where(right == (went_up == 1), 0.7, 0.3)
    hold = rng.normal(0.0, 0.003, n)
    policy = hold + policy_drift + rng.normal(0.0, 0.001, n)
    return TradedBars(p_up, went_up, policy, hold)


def test_no_verdict_before_min_samples_bars():
    too_few = _bars(CONFIG.min_samples - 1, 0.5, 0.0)
    assert judge_live(too_few, 0.4, HOLDOUT, Judging(CONFIG, 200, 0)) is None


def test_a_set_trading_as_its_holdout_promised_is_kept():
    health = judge_live(_bars(400, 0.7, 0.0005), 0.4, HOLDOUT, Judging(CONFIG, 500, 0))
    assert not health.failed, health.problems
    assert health.mcc == pytest.approx(
        matthews_corrcoef(_bars(400, 0.7, 0.0005).went_up, _bars(400, 0.7, 0.0005).p_up > 0.5)
    )


def test_skill_gone_beyond_noise_retires_the_set():
    health = judge_live(_bars(400, 0.5, 0.0), 0.4, HOLDOUT, Judging(CONFIG, 500, 0))
    assert health.failed and health.problems[0].startswith("skill gone")
    assert health.mcc_limit == pytest.approx(3 * np.sqrt(1 / 400 + 1 / HOLDOUT))


def test_a_drop_within_the_noise_band_is_not_a_failure():
    # A holdout MCC of 0.25 and a live one 0.19 lower over 200 bars: beyond two standard errors
    # of the difference (0.16), within the three that repeated looks ask for (0.24).
    health = judge_live(_bars(200, 0.5, 0.0, seed=1), 0.25, HOLDOUT, Judging(CONFIG, 500, 0))
    assert 2 * np.sqrt(1 / 200 + 1 / HOLDOUT) < 0.25 - health.mcc < health.mcc_limit
    assert not any(problem.startswith("skill") for problem in health.problems)


def test_losing_to_buy_and_hold_beyond_noise_retires_the_set():
    health = judge_live(_bars(400, 0.7, -0.002), 0.4, HOLDOUT, Judging(CONFIG, 500, 0))
    assert [p.split(":")[0] for p in health.problems] == ["losing money"]
    assert health.excess_interval.high < 0
    assert health.evidence()["excess_interval"]["high"] == health.excess_interval.high


@pytest.mark.parametrize("n_rows", [30, 201, 1000])
def test_the_fast_excess_interval_is_the_holdout_bootstraps(n_rows):
    bars = _bars(n_rows, 0.6, 0.0001, seed=n_rows)
    rows = HoldoutRows(bars.went_up, bars.p_up > 0.5, bars.policy_net, bars.hold_log_growth)
    slow = bootstrap_intervals(rows, 1000, 7, level=0.98).excess_over_buy_and_hold
    fast = excess_interval(bars.policy_net, bars.hold_log_growth, 1000, 7, level=0.98)
    assert (fast.low, fast.high) == pytest.approx((slow.low, slow.high), rel=1e-12, abs=1e-15)
