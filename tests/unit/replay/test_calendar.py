"""Which runs a replay covers and which candles each may see."""

from __future__ import annotations

import pandas as pd
import pytest

from src.config import ScheduleConfig
from src.replay import ReplayDataError, replay_weeks
from tests.unit.replay.conftest import candle_set, switching_candles

MONDAY_9 = ScheduleConfig(weekday=0, hour_utc=9)


def test_the_last_runs_with_a_full_window_and_a_following_week():
    candles = switching_candles()  # 2025-01-01 00:00 .. 2025-02-11 23:45, 15m
    weeks = replay_weeks(candles.index, MONDAY_9, days=10, weeks=4)
    assert [w.key for w in weeks] == [
        "2025-01-13T0900Z", "2025-01-20T0900Z", "2025-01-27T0900Z", "2025-02-03T0900Z"
    ]  # fmt: skip
    assert all(w.run_at.weekday() == 0 and w.run_at.hour == 9 for w in weeks)
    assert weeks[-1].next_run <= candles.index[-1]
    window = weeks[0].training_candles(candle_set(candles)).candles
    assert window.index[0] == pd.Timestamp("2025-01-03 09:00", tz="UTC")
    assert window.index[-1] == pd.Timestamp("2025-01-13 08:45", tz="UTC")  # the bar still open
    trading = weeks[0].trading_candles(candles)  # at 09:00 is not the job's
    assert trading.index[-1] == weeks[0].next_run


def test_another_schedule_moves_the_runs():
    candles = switching_candles()
    weeks = replay_weeks(candles.index, ScheduleConfig(weekday=2, hour_utc=0), 10, 2)
    # Wednesday 2025-02-05 00:00 is out: its week would end after the last candle (02-11 23:45).
    assert [w.key for w in weeks] == ["2025-01-22T0000Z", "2025-01-29T0000Z"]


def test_more_weeks_than_the_candles_hold_says_what_fits():
    candles = switching_candles()
    with pytest.raises(
        ReplayDataError,
        match=r"hold 4 weekly runs .* ask for --weeks 4 with --days 10 or --days 5 with --weeks 5",
    ):
        replay_weeks(candles.index, MONDAY_9, days=10, weeks=5)
    with pytest.raises(
        ReplayDataError, match=r"hold 0 weekly runs .* ask for --days 33 with --weeks 1 or more"
    ):
        replay_weeks(candles.index, MONDAY_9, days=40, weeks=1)


@pytest.mark.parametrize(
    ("days", "weeks", "message"),
    [
        (10, 10**8, r"hold 4 weekly runs .* not 100000000: ask for --weeks 4 with --days 10 or"),
        (10**8, 4, r"hold 0 weekly runs with a full 100000000-day training window"),
    ],
)  # fmt: skip
def test_absurd_weeks_or_days_are_counted_from_the_span_not_built(days, weeks, message):
    # Building 10**8 Mondays took 81 s and 2.3 GiB before failing on a Timedelta overflow.
    with pytest.raises(ReplayDataError, match=message):
        replay_weeks(switching_candles().index, MONDAY_9, days=days, weeks=weeks)
