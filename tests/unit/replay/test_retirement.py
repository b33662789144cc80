"""The replay's retirement policy: retired at the bar its verdict fails, on nothing later, and
flat from that bar on."""

from __future__ import annotations

import numpy as np
import pytest

from src.config import load_settings, with_overrides
from src.data.synthetic import generate_sample_market_data
from src.ml.backtest import next_bars, simulate
from src.ml.labels import build_dataset
from src.position_rule import TradingPolicy
from src.replay.retirement import RetiringLive, trade_week

# Judged from 50 bars on, so a 300-bar week holds a retirement.
SETTINGS = with_overrides(load_settings(), degradation={"min_samples": 50})
ALWAYS_IN = TradingPolicy(0.5, 0.5, allow_short=True)
COST = 0.0015


def _week(candles):
    X, y = build_dataset(candles, 1, 0.0)
    return X.iloc[-300:], y.iloc[-300:]


def _live(trained_set) -> RetiringLive:
    """A tiny real set that claims a holdout MCC of 0.5 it cannot have on random candles."""
    model_set = {"ensemble": trained_set("A").ensemble, "policy": ALWAYS_IN}
    return RetiringLive("2025-01-06T0900Z", model_set, holdout_mcc=0.5, holdout_rows=2_000)


def test_the_set_is_retired_at_a_bar_and_flat_from_it(trained_set):
    candles = generate_sample_market_data(900, seed=11)
    X, y = _week(candles)
    live = _live(trained_set)

    week = trade_week(live, X, y, candles, COST, SETTINGS)

    assert week["retired_at"] is not None and live.reason.startswith("skill gone")
    at = X.index.get_loc(week["retired_at"])
    assert at >= SETTINGS.degradation.min_samples
    bars = next_bars(candles, X.index)
    p_up = trained_set("A").ensemble.predict_proba(X)[:, 1]
    positions = ALWAYS_IN.positions(p_up, bars.segment_starts)
    positions[at:] = 0.0
    expected = np.prod(1 + simulate(positions, bars, COST).net) - 1
    assert week["net_return"] == pytest.approx(expected, rel=1e-12)


def test_the_retirement_bar_does_not_depend_on_any_later_candle(trained_set):
    candles = generate_sample_market_data(900, seed=11)
    X, y = _week(candles)
    first = trade_week(_live(trained_set), X, y, candles, COST, SETTINGS)["retired_at"]

    changed = candles.copy()
    later = changed.index > first
    rng = np.random.default_rng(3)
    changed.loc[later, ["open", "high", "low", "close"]] *= rng.uniform(0.9, 1.1, (later.sum(), 1))
    changed["high"] = changed[["open", "high", "close"]].max(axis=1)
    changed["low"] = changed[["open", "low", "close"]].min(axis=1)
    X2, y2 = _week(changed)
    second = trade_week(_live(trained_set), X2, y2, changed, COST, SETTINGS)["retired_at"]

    assert second == first


def test_a_retired_set_stays_flat_in_the_weeks_after(trained_set):
    candles = generate_sample_market_data(900, seed=11)
    X, y = _week(candles)
    live = _live(trained_set)
    trade_week(live, X, y, candles, COST, SETTINGS)
    after = trade_week(live, X, y, candles, COST, SETTINGS)
    assert after == {"set": live.key, "retired_at": live.retired_at, "net_return": 0.0,
                     "trades": 0}  # fmt: skip
