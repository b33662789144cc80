"""Longer bars from finer ones: the same OHLCV an exchange would print, gaps left as gaps."""

from __future__ import annotations

import pandas as pd
import pytest

from src.data.errors import CandleValidationError
from src.data.resample import resample_candles
from src.data.schema import validate_candles
from src.data.sources import CandleSet
from src.data.synthetic import generate_sample_market_data


def _set(candles: pd.DataFrame) -> CandleSet:
    return CandleSet(candles, "generated", "BTC/JPY", "15m")


def test_an_hour_is_its_four_quarters():
    candles = generate_sample_market_data(8, start="2025-01-01 00:00")
    hourly = resample_candles(_set(candles), "1h")
    assert hourly.timeframe == "1h" and hourly.symbol == "BTC/JPY"
    first = candles.iloc[:4]
    assert hourly.candles.index[0] == pd.Timestamp("2025-01-01 00:00", tz="UTC")
    assert hourly.candles.iloc[0].to_dict() == {
        "open": first["open"].iloc[0], "high": first["high"].max(), "low": first["low"].min(),
        "close": first["close"].iloc[-1], "volume": first["volume"].sum(),
    }  # fmt: skip
    assert len(hourly.candles) == 2
    validate_candles(hourly.candles.reset_index())  # still valid candles


def test_bars_missing_a_part_are_left_out_as_gaps():
    # Starts at :15 (the first hour lacks its first quarter) and lacks 02:30.
    candles = generate_sample_market_data(16, start="2025-01-01 00:15")
    candles = candles.drop(pd.Timestamp("2025-01-01 02:30", tz="UTC"))
    hourly = resample_candles(_set(candles), "1h").candles
    assert list(hourly.index.strftime("%H:%M")) == ["01:00", "03:00"]


def test_the_same_timeframe_is_the_same_candles():
    candle_set = _set(generate_sample_market_data(8))
    assert resample_candles(candle_set, "15m") is candle_set


@pytest.mark.parametrize(("timeframe", "message"), [
    ("5m", "not a whole multiple of 15m; load finer candles"),
    ("20m", "not a whole multiple of 15m"),
    ("1d", "hold no complete 1d bar; load a longer period"),
])  # fmt: skip
def test_bars_that_cannot_be_made_from_these_candles_are_refused(timeframe, message):
    with pytest.raises(CandleValidationError, match=message):
        resample_candles(_set(generate_sample_market_data(8)), timeframe)
