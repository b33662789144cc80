"""Longer bars made from finer ones (a 1h setup from 15m candles), as an exchange makes them."""

from __future__ import annotations

from src.data.errors import CandleValidationError
from src.data.schema import timeframe_step
from src.data.sources import CandleSet


def resample_candles(candle_set: CandleSet, timeframe: str) -> CandleSet:
    """The candles as `timeframe` bars: first open, highest high, lowest low, last close, summed
    volume, each bar opening on a multiple of its length since the Unix epoch (UTC).

    A bar is kept only when every finer bar in it is there: one missing its first or last part
    (a gap, or the unfinished bar at the end) would show another open, close or range than the
    exchange's, so it is left out, as a gap."""
    step, finer = timeframe_step(timeframe), timeframe_step(candle_set.timeframe)
    if step == finer:
        return candle_set
    if step < finer or step % finer:
        raise CandleValidationError(
            f"cannot make {timeframe} bars from {candle_set.timeframe} candles: {timeframe} is "
            f"not a whole multiple of {candle_set.timeframe}; load finer candles"
        )
    bins = candle_set.candles.resample(step, origin="epoch", label="left", closed="left")
    bars = bins.agg({"open": "first", "high": "max", "low": "min", "close": "last",
                     "volume": "sum"})  # fmt: skip
    complete = (bins["close"].count() == step // finer).to_numpy()
    if not complete.any():
        raise CandleValidationError(
            f"the {len(candle_set.candles)} {candle_set.timeframe} candles hold no complete "
            f"{timeframe} bar; load a longer period"
        )
    return CandleSet(bars[complete], candle_set.source, candle_set.symbol, timeframe)
