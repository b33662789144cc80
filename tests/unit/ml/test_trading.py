"""The holdout check as a training run wires it: the saved policy beside buy-and-hold and flat."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import TradingConfig
from src.ml.policy import TradingPolicy
from src.ml.trading import holdout_trading

CONFIG = TradingConfig(bootstrap_samples=200)
COST = 0.0014  # per side


@pytest.fixture(scope="module")
def holdout():
    """600 candles of 15 minutes and a P(up) for the last 300 decision rows."""
    rng = np.random.default_rng(0)
    moves = rng.normal(0, 0.01, 600)
    index = pd.date_range("2025-03-01", periods=600, freq="15min", tz="UTC")
    candles = pd.DataFrame({"close": 1e7 * np.exp(np.cumsum(moves))}, index=index)
    rows = index[299:-1]
    p_up = pd.Series(np.clip(0.5 + 0.2 * np.sign(moves[300:]), 0, 1), index=rows)
    y_hold = pd.Series((moves[300:] > 0).astype("int64"), index=rows)
    return candles, p_up, y_hold


def test_buy_and_hold_pays_one_entry_and_one_exit_over_the_holdout(holdout):
    candles, p_up, y_hold = holdout

    trading = holdout_trading(
        candles, TradingPolicy(0.6, 0.55), p_up, y_hold, COST, CONFIG, seed=1
    )

    close = candles["close"]
    gross = close.iloc[-1] / close.loc[p_up.index[0]] - 1
    held = trading.record.buy_and_hold
    assert held.gross_return == pytest.approx(gross, rel=1e-12)
    assert held.net_return == pytest.approx((1 + gross) * (1 - COST) ** 2 - 1)
    assert held.trades == 1 and held.costs_paid == pytest.approx(2 * COST)


def test_the_policy_and_flat_are_settled_on_the_same_rows(holdout):
    candles, p_up, y_hold = holdout

    trading = holdout_trading(
        candles, TradingPolicy(0.6, 0.55), p_up, y_hold, COST, CONFIG, seed=1
    )

    # P(up) knows every next move here: long exactly on the up bars, paying for each round trip
    # (moves smaller than the round trip lose).
    record = trading.record
    assert record.policy.net_return > 0 and record.policy.trades > 10
    assert record.policy.hit_rate > 0.5
    assert record.flat.net_return == 0.0 and record.flat.trades == 0
    np.testing.assert_array_equal(trading.policy.bars.index, p_up.index)
    assert record.bootstrap.samples == 200 and record.bootstrap.seed == 1
    assert len(trading.sweep) > 100 and {"entry", "exit", "net_return"} <= set(trading.sweep)


def test_the_excess_interval_holds_the_point_excess(holdout):
    candles, p_up, y_hold = holdout

    record = holdout_trading(
        candles, TradingPolicy(0.6, 0.55), p_up, y_hold, COST, CONFIG, seed=1
    ).record

    excess = record.policy.net_return - record.buy_and_hold.net_return
    interval = record.bootstrap.excess_over_buy_and_hold
    assert interval.low < excess < interval.high


def test_a_policy_equal_to_buy_and_hold_has_an_excess_interval_near_zero(holdout):
    candles, p_up, y_hold = holdout
    always_in = pd.Series(0.99, index=p_up.index)

    record = holdout_trading(
        candles, TradingPolicy(0.6, 0.55), always_in, y_hold, COST, CONFIG, seed=1
    ).record

    # The same single position as buy-and-hold, paying its entry and exit at the same rows:
    # every resample scores both alike, so the paired interval is a point at 0, while either
    # side alone spans more than 5%.
    interval = record.bootstrap.excess_over_buy_and_hold
    assert record.policy.net_return == pytest.approx(record.buy_and_hold.net_return)
    assert interval.low == pytest.approx(0.0, abs=1e-12)
    assert interval.high == pytest.approx(0.0, abs=1e-12)
    assert record.bootstrap.net_return.high - record.bootstrap.net_return.low > 0.05
