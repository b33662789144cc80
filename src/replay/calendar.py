"""Which Mondays a replay covers, and the candles each of them may see."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from src.config import ScheduleConfig
from src.data.sources import CandleSet

WEEK = pd.Timedelta(days=7)


class ReplayDataError(ValueError):
    """The candles cannot hold the replay asked for; the message says what would fit."""


@dataclass(frozen=True)
class Week:
    """One run of the weekly job: it trains on [window_start, run_at) and the set it leaves
    live trades the decision rows of [run_at, next_run)."""

    run_at: pd.Timestamp
    window_start: pd.Timestamp

    @property
    def next_run(self) -> pd.Timestamp:
        return self.run_at + WEEK

    @property
    def key(self) -> str:
        return f"{self.run_at:%Y-%m-%dT%H%MZ}"

    def training_candles(self, candle_set: CandleSet) -> CandleSet:
        """The candles the job had at `run_at`: bars that opened before it, in its window.

        The bar opening at `run_at` has not closed yet, so it is not among them."""
        index = candle_set.candles.index
        window = candle_set.candles[(index >= self.window_start) & (index < self.run_at)]
        return CandleSet(window, candle_set.source, candle_set.symbol, candle_set.timeframe)

    def trading_candles(self, candles: pd.DataFrame) -> pd.DataFrame:
        """The window plus the following week, up to the candle that settles its last decision
        (the one opening at `next_run`): nothing later."""
        return candles.loc[self.window_start : self.next_run]


def _last_run_before(moment: pd.Timestamp, schedule: ScheduleConfig) -> pd.Timestamp:
    run = moment.normalize() + pd.Timedelta(hours=schedule.hour_utc)
    while run > moment or run.weekday() != schedule.weekday:
        run -= pd.Timedelta(days=1)
    return run


def replay_weeks(
    index: pd.DatetimeIndex, schedule: ScheduleConfig, days: int, weeks: int
) -> list[Week]:
    """The last `weeks` scheduled runs whose following week is entirely in the candles and whose
    `days`-long training window starts at or after the first candle; oldest first.

    How many fit is counted from the candles' span before any run is built, so an absurd
    `weeks` or `days` is refused at once."""
    if weeks < 1:
        raise ReplayDataError(f"--weeks must be at least 1, got {weeks}")
    last_run = _last_run_before(index[-1] - WEEK, schedule)
    span_days = (last_run - index[0]) // pd.Timedelta(days=1)  # before the last run's window
    fitting = max(0, (span_days - days) // 7 + 1) if span_days >= days else 0
    if weeks > fitting:
        widest = span_days - 7 * (weeks - 1)  # the longest window the oldest run could have
        options = [f"--weeks {fitting} with --days {days}"] if fitting else []
        options += [f"--days {widest} with --weeks {weeks}"] if widest >= 1 else []
        raise ReplayDataError(
            f"the candles ({index[0]:%Y-%m-%d %H:%M} .. {index[-1]:%Y-%m-%d %H:%M} UTC) hold "
            f"{fitting} weekly runs with a full {days}-day training window and a following "
            f"week to trade, not {weeks}: ask for {' or '.join([*options, 'more candles'])}"
        )
    window = pd.Timedelta(days=days)
    runs = [last_run - k * WEEK for k in range(weeks)][::-1]
    return [Week(run, run - window) for run in runs]
