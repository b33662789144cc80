"""Settling decisions on the next candle, by hand: costs per side, gaps, buy-and-hold."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.ml.backtest import buy_and_hold, next_bars, simulate, strategy_stats

# closes 100 -> 110 -> 99 -> 99 -> 108.9: next-bar returns +10%, -10%, 0%, +10%.
# Positions long, flat, long, long; cost 1% per side: entry on bar 0, exit on bar 1, entry on
# bar 2, exit after bar 3 (the last decision's position is closed when it is settled). Each cost
# is paid on the notional at its time: bar growths 0.99 x 1.1, 0.99, 0.99, 1.1 x 0.99, so net bar
# returns 0.089, -0.01, -0.01, 0.089; equity 1.089, 1.07811, 1.0673289, 1.16232117...;
# peak 1.089 -> trough 1.0673289 is a 1.99% drawdown.
CLOSES = [100.0, 110.0, 99.0, 99.0, 108.9]
POSITIONS = [1, 0, 1, 1]
COST = 0.01


def _candles(closes, times=None) -> pd.DataFrame:
    index = (
        pd.date_range("2025-01-01", periods=len(closes), freq="15min", tz="UTC")
        if times is None
        else pd.DatetimeIndex(times, tz="UTC")
    )
    return pd.DataFrame({"close": closes}, index=index)


def test_positions_are_settled_on_the_next_candle_with_costs_per_side():
    candles = _candles(CLOSES)
    bars = next_bars(candles, candles.index[:4])

    simulation = simulate(np.array(POSITIONS), bars, COST)
    stats = strategy_stats(simulation, bars, COST)

    np.testing.assert_allclose(simulation.net, [0.089, -0.01, -0.01, 0.089], atol=1e-15)
    assert stats.net_return == pytest.approx((1.1 * 0.99**2) ** 2 - 1, rel=1e-12)
    assert stats.gross_return == pytest.approx(1.1 * 1.1 - 1)
    assert stats.fee_drag == pytest.approx(stats.gross_return - stats.net_return)
    assert stats.costs_paid == pytest.approx(0.04)  # two entries, two exits
    assert stats.trades == 2 and stats.time_in_market == 0.75
    # Each trade: one entry and one exit on +10% gross.
    assert stats.avg_trade_net_return == pytest.approx(1.1 * 0.99**2 - 1)
    assert stats.hit_rate == 1.0 and stats.profit_factor is None  # no losing trade
    assert stats.round_trip_cost == 0.02
    assert stats.max_drawdown == pytest.approx(1 - 0.99**2)
    # Results are realised one bar after each decision.
    assert list(bars.settled_at) == list(candles.index[1:5])


def test_a_decision_whose_next_candle_is_missing_is_flat_and_counted():
    # 00:00, 00:15, 00:30, then 00:45 is missing, 01:00, 01:15.
    times = ["2025-01-01 00:00", "2025-01-01 00:15", "2025-01-01 00:30", "2025-01-01 01:00",
             "2025-01-01 01:15"]  # fmt: skip
    candles = _candles([100.0, 101.0, 102.0, 90.0, 99.0], times)
    rows = candles.index[:4]  # decisions at every candle but the last
    bars = next_bars(candles, rows)

    simulation = simulate(np.ones(4), bars, COST)

    assert np.isnan(bars.next_return[2])  # 00:30's next candle (00:45) is missing
    assert list(bars.continues) == [True, True, False, False]
    np.testing.assert_array_equal(simulation.positions, [1, 1, 0, 1])
    assert simulation.skipped_at_gaps == 1
    # Closed at 00:30 (before the gap) and reopened at 01:00: the -11.8% gap move is not earned.
    np.testing.assert_allclose(simulation.costs, [0.01, 0.0, 0.01, 0.02])
    np.testing.assert_allclose(simulation.gross, [0.01, 102 / 101 - 1, 0.0, 0.1])
    assert strategy_stats(simulation, bars, COST).skipped_at_gaps == 1


def test_rows_that_skip_a_bar_close_the_position_between_them():
    candles = _candles(CLOSES)
    bars = next_bars(candles, candles.index[[0, 2, 3]])  # the row at 00:15 has no decision

    simulation = simulate(np.ones(3), bars, COST)

    assert list(bars.continues) == [False, True, False]
    np.testing.assert_allclose(simulation.costs, [0.02, 0.01, 0.01])


def test_buy_and_hold_pays_one_entry_and_one_exit_and_holds_through_gaps():
    times = ["2025-01-01 00:00", "2025-01-01 00:15", "2025-01-01 01:00", "2025-01-01 01:15"]
    candles = _candles([100.0, 110.0, 99.0, 108.9], times)
    held = buy_and_hold(candles, candles.index[0], candles.index[-1])

    simulation = simulate(np.ones(len(held.index)), held, COST)
    stats = strategy_stats(simulation, held, COST)

    np.testing.assert_allclose(simulation.costs, [0.01, 0.0, 0.01])
    assert stats.gross_return == pytest.approx(0.089)  # the gap's -10% is held, not skipped
    assert stats.trades == 1 and stats.time_in_market == 1.0
    assert stats.avg_trade_net_return == pytest.approx(1.089 * 0.99**2 - 1)
    assert list(held.settled_at) == list(candles.index[1:])


def test_never_in_the_market_pays_nothing():
    candles = _candles(CLOSES)
    bars = next_bars(candles, candles.index[:4])

    stats = strategy_stats(simulate(np.zeros(4), bars, COST), bars, COST)

    assert stats.net_return == 0.0 and stats.costs_paid == 0.0 and stats.trades == 0
    assert stats.hit_rate is None and stats.avg_trade_net_return is None
    assert stats.sharpe is None and stats.max_drawdown == 0.0


def test_a_reversal_pays_two_sides():
    candles = _candles(CLOSES)
    bars = next_bars(candles, candles.index[:4])

    simulation = simulate(np.array([1, -1, -1, 0]), bars, COST)

    np.testing.assert_allclose(simulation.costs, [0.01, 0.02, 0.0, 0.01])
    assert strategy_stats(simulation, bars, COST).trades == 2


def test_sharpe_is_annualised_from_the_timeframe_whatever_the_index_unit():
    closes = 100 * np.cumprod(1 + np.random.default_rng(0).normal(0.001, 0.01, 200))
    candles = _candles(closes)
    candles.index = candles.index.as_unit("us")  # as read from a CSV by pandas 3
    bars = next_bars(candles, candles.index[:-1])

    stats = strategy_stats(simulate(np.ones(199), bars, 0.0), bars, 0.0)

    net = simulate(np.ones(199), bars, 0.0).net
    assert bars.bars_per_year == pytest.approx(365.25 * 96)
    assert stats.sharpe == pytest.approx(net.mean() / net.std() * np.sqrt(365.25 * 96))
