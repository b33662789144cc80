"""The spread the candles imply, and the cost per side every settlement charges."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import TradingConfig
from src.data.synthetic import generate_sample_market_data
from src.ml.costs import (
    abdi_ranaldo_spread,
    describe_costs,
    estimate_costs,
    lag1_autocorrelation,
    roll_spread,
)
from tests.support.candles import make_bounce_candles

# Both estimators are unbiased in s^2 for closes that print at the bid or the ask with
# probability 1/2; on 6,000 bars their sampling error is a few percent of the spread here, so a
# 15% band holds every seed and a biased estimator (e.g. one that kept pairs across gaps, or
# averaged per-pair roots) falls outside it.
TOLERANCE = 0.15
ESTIMATORS = [abdi_ranaldo_spread, roll_spread]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=["abdi-ranaldo", "roll"])
@pytest.mark.parametrize(
    ("spread", "volatility"), [(0.006, 0.002), (0.006, 0.005), (0.002, 0.001), (0.003, 0.002)]
)
def test_both_estimators_recover_the_spread_of_a_bouncing_market(estimator, spread, volatility):
    candles = make_bounce_candles(6_000, spread, seed=11, volatility=volatility)

    estimate = estimator(candles)

    assert estimate.spread == pytest.approx(spread, rel=TOLERANCE)
    assert estimate.skipped_at_gaps == 0


def _with_gaps(candles: pd.DataFrame, jump: float) -> pd.DataFrame:
    """Every 500th run of 20 bars removed, and prices after each hole moved by +/- `jump`
    (a market that moved while the exchange was down)."""
    keep = (np.arange(len(candles)) % 500) >= 20
    holes = np.cumsum(~keep & np.r_[True, keep[:-1]])  # holes passed so far
    shift = np.exp(jump * np.where(holes % 2 == 0, 1.0, -1.0) * (holes > 0))
    moved = candles.mul(shift, axis=0).assign(volume=candles["volume"])
    return moved.loc[keep]


@pytest.mark.parametrize("estimator", ESTIMATORS, ids=["abdi-ranaldo", "roll"])
def test_pairs_across_a_gap_are_skipped_so_gaps_do_not_bias_the_estimate(estimator):
    candles = make_bounce_candles(6_000, 0.004, seed=12)
    gapped = _with_gaps(candles, jump=0.05)
    n_gaps = int((np.diff(gapped.index.asi8) > np.diff(candles.index.asi8)[0]).sum())
    assert n_gaps == 11

    estimate = estimator(gapped)

    assert estimate.spread == pytest.approx(0.004, rel=TOLERANCE)
    assert estimate.skipped_at_gaps == n_gaps * (1 if estimator is abdi_ranaldo_spread else 2)


def test_the_estimate_across_gaps_pools_the_gap_free_runs():
    # Abdi-Ranaldo's s^2 is a mean over pairs: with the pairs across holes skipped it is the
    # pair-weighted mean of each gap-free run's own s^2, whatever the market did in the holes.
    gapped = _with_gaps(make_bounce_candles(6_000, 0.004, seed=12), jump=0.05)
    starts = np.flatnonzero(np.r_[True, np.diff(gapped.index.asi8) > 5 * 60 * 10**9])
    runs = [gapped.iloc[a:b] for a, b in zip(starts, [*starts[1:], len(gapped)], strict=True)]
    per_run = [abdi_ranaldo_spread(run) for run in runs]
    pooled = sum(e.pairs * np.sign(e.spread) * e.spread**2 for e in per_run) / sum(
        e.pairs for e in per_run
    )

    estimate = abdi_ranaldo_spread(gapped)

    assert estimate.spread == pytest.approx(np.sqrt(pooled), rel=1e-9)
    assert estimate.pairs == sum(e.pairs for e in per_run)


def test_closes_that_bounce_have_a_negative_lag1_autocorrelation():
    bouncing = make_bounce_candles(6_000, 0.006, seed=13)
    random_walk = generate_sample_market_data(6_000, seed=13)

    assert lag1_autocorrelation(bouncing) < -0.3
    assert abs(lag1_autocorrelation(random_walk)) < 0.05


def test_auto_charges_half_the_abdi_ranaldo_estimate_per_side_with_fee_and_slippage():
    candles = make_bounce_candles(6_000, 0.006, seed=14)
    config = TradingConfig(fee_rate=0.0012, slippage_rate=0.0001)

    costs = estimate_costs(candles, config)

    record = costs.record
    assert record.spread == record.abdi_ranaldo.spread
    assert costs.per_side == pytest.approx(0.0012 + record.spread / 2 + 0.0001)
    assert costs.without_spread == pytest.approx(0.0013)
    assert (record.window_start, record.candles) == (candles.index[0].isoformat(), 6_000)
    assert record.spread_source == "estimated (abdi_ranaldo_2017)"
    assert describe_costs(record).startswith(f"{costs.per_side:.3%} per side: fee 0.12% + half")


def test_a_fixed_spread_in_the_config_is_charged_as_it_is():
    candles = make_bounce_candles(3_000, 0.006, seed=15)

    costs = estimate_costs(candles, TradingConfig(spread=0.0004, slippage_rate=0.0))

    assert costs.record.spread == 0.0004 and costs.record.spread_source == "config"
    assert costs.per_side == pytest.approx(0.0012 + 0.0002)
    assert costs.record.abdi_ranaldo.spread == pytest.approx(0.006, rel=TOLERANCE)  # still told
    assert "spread set in trading.spread" in describe_costs(costs.record)


def test_a_bounce_below_the_noise_is_recorded_negative_and_charged_as_zero():
    # No bounce at all, and wide bars: the estimate's noise can put the mean product below 0.
    candles = generate_sample_market_data(2_000, seed=0)

    costs = estimate_costs(candles, TradingConfig())

    assert costs.record.abdi_ranaldo.spread < 0
    assert costs.record.spread == 0.0
    assert costs.per_side == pytest.approx(0.0012 + 0.0001)
