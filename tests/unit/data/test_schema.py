"""validate_candles rejects each kind of bad input with a message naming the problem and the row."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd
import pytest

from src.data.errors import CandleValidationError
from src.data.schema import (
    OHLCV_COLUMNS,
    Gap,
    find_gaps,
    infer_timeframe,
    timeframe_step,
    validate_candles,
)
from src.data.sources import SAMPLE_CANDLES_PATH

Mutation = Callable[[pd.DataFrame], pd.DataFrame]


def _candles(n_bars: int = 6) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=n_bars, freq="15min", tz="UTC", name="timestamp")
    close = 100.0 + np.arange(n_bars)
    return pd.DataFrame(
        {
            "open": close - 0.5,
            "high": close + 1.0,
            "low": close - 1.0,
            "close": close,
            "volume": np.full(n_bars, 2.0),
        },
        index=index,
    )


def _set(column: str, row: int, value: object) -> Mutation:
    def mutate(frame: pd.DataFrame) -> pd.DataFrame:
        frame[column] = frame[column].astype(object)
        frame.iloc[row, frame.columns.get_loc(column)] = value
        return frame

    return mutate


def _reorder(positions: list[int]) -> Mutation:
    return lambda frame: frame.iloc[positions]


_ERROR = CandleValidationError
BAD_INPUTS = [
    pytest.param(lambda f: f.iloc[0:0], _ERROR, r"no candles: the data is empty", id="empty"),
    pytest.param(
        lambda f: f.drop(columns="volume"),
        _ERROR,
        r"missing column\(s\) \['volume'\]",
        id="missing column",
    ),
    pytest.param(
        _set("close", 2, "abc"),
        _ERROR,
        r"row 2 \(2024-01-01 00:30:00\+00:00\): non-numeric value close='abc'",
        id="non-numeric value",
    ),
    pytest.param(_set("high", 3, np.nan), _ERROR, r"row 3 \(.*\): NaN high price", id="NaN price"),
    pytest.param(
        _set("low", 1, 0.0), _ERROR, r"row 1 \(.*\): non-positive low price", id="non-positive"
    ),
    pytest.param(_set("high", 4, 10.0), _ERROR, r"row 4 \(.*\): high < low", id="high < low"),
    pytest.param(
        _set("close", 2, 150.0),
        _ERROR,
        r"row 2 \(.*\): close outside \[low, high\]",
        id="close outside range",
    ),
    pytest.param(
        _set("volume", 5, -1.0), _ERROR, r"row 5 \(.*\): negative volume", id="negative volume"
    ),
    pytest.param(
        _set("volume", 4, np.inf), _ERROR, r"row 4 \(.*\): infinite volume", id="infinite volume"
    ),
    pytest.param(
        _set("volume", 1, 1e31), _ERROR, r"row 1 \(.*\): volume above 1e\+30", id="huge volume"
    ),
    pytest.param(
        lambda f: f * 1e300,
        _ERROR,
        r"row 0 \(.*\): open price above 1e\+30, the largest magnitude .*rescale",
        id="prices x1e300",
    ),
    pytest.param(
        lambda f: f * 1e-25,
        _ERROR,
        r"row 0 \(.*\): open price below 1e-20, the smallest .*rescale",
        id="prices x1e-25",
    ),
    pytest.param(
        _reorder([0, 1, 3, 2, 4, 5]),
        _ERROR,
        r"row 3 \(2024-01-01 00:30:00\+00:00\): timestamp earlier than the previous row",
        id="unsorted timestamps",
    ),
    pytest.param(
        _reorder([0, 1, 2, 2, 3, 4]),
        _ERROR,
        r"row 3 \(2024-01-01 00:30:00\+00:00\): duplicated timestamp",
        id="duplicated timestamps",
    ),
    pytest.param(
        lambda f: f.set_axis(f.index.as_unit("ms").asi8),
        _ERROR,
        r"got numbers \(first 1704067200000\); convert epoch values first",
        id="epoch index",
    ),
    pytest.param(
        lambda f: f.reset_index(drop=True),
        _ERROR,
        r"no 'timestamp' column and no DatetimeIndex; found columns \['open', 'high', ",
        id="no time at all",
    ),
    pytest.param(
        lambda f: f.rename_axis("date").reset_index(),
        _ERROR,
        r"no 'timestamp' column .*found columns \['date', 'open', .*name the time column",
        id="date column",
    ),
    pytest.param(
        lambda f: f.rename_axis("Timestamp").reset_index(),
        _ERROR,
        r"must match exactly .*found 'Timestamp', expected 'timestamp'",
        id="Timestamp column",
    ),
    pytest.param(
        lambda f: f.rename(columns={"close": " Close"}),
        _ERROR,
        r"must match exactly \(lower case, no spaces\): found ' Close', expected 'close'",
        id="Close column",
    ),
    pytest.param(
        _set("open", 1, "100,5"),
        _ERROR,
        r"row 1 .*non-numeric value open='100,5': write numbers with a decimal point",
        id="decimal comma",
    ),
]


@pytest.mark.parametrize(("mutation", "error", "message"), BAD_INPUTS)
def test_bad_input_is_rejected_with_the_problem_and_the_row(
    mutation: Mutation, error: type[Exception], message: str
):
    with pytest.raises(error, match=message):
        validate_candles(mutation(_candles()))


def test_a_bad_input_error_is_a_value_error():
    assert issubclass(CandleValidationError, ValueError)


def test_non_dataframe_input_is_rejected():
    with pytest.raises(CandleValidationError, match="must be a pandas DataFrame, got list"):
        validate_candles([1, 2, 3])


def test_find_gaps_reports_position_and_missing_bars_without_changing_the_data():
    candles = _candles(8).drop(index=_candles(8).index[[3, 4]])
    before = candles.copy()

    gaps = find_gaps(candles, "15m")

    assert gaps == [
        Gap(
            after=pd.Timestamp("2024-01-01 00:30", tz="UTC"),
            before=pd.Timestamp("2024-01-01 01:15", tz="UTC"),
            missing_bars=2,
        )
    ]
    pd.testing.assert_frame_equal(candles, before)


def test_find_gaps_is_empty_on_a_complete_grid():
    assert find_gaps(_candles(), "15m") == []


def _spaced(freq: str, n_bars: int = 12, drop: tuple[int, ...] = ()) -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=n_bars, freq=freq, tz="UTC", name="timestamp")
    return pd.DataFrame({"close": 1.0}, index=index.delete(list(drop)))


@pytest.mark.parametrize(
    ("candles", "timeframe"),
    [
        (_spaced("5min"), "5m"),
        (_spaced("15min", drop=(3, 4, 5, 7, 9)), "15m"),  # gaps do not change the spacing
        (_spaced("90min"), "90m"),
        (_spaced("60min"), "1h"),
        (_spaced("1D"), "1d"),
        (_spaced("7D"), "1w"),
    ],
    ids=["5m", "15m with gaps", "90m", "1h", "1d", "1w"],
)
def test_the_timeframe_is_read_off_the_timestamps(candles, timeframe):
    assert infer_timeframe(candles) == timeframe
    assert timeframe_step(timeframe) == pd.Series(candles.index).diff().mode()[0]


@pytest.mark.parametrize(
    ("candles", "message"),
    [
        (_spaced("5min", n_bars=1), r"1 candle\(s\) have no spacing to read the timeframe from"),
        (_spaced("30s"), r"the candles are 0 days 00:00:30 apart .*not a whole number of minutes"),
    ],
    ids=["one candle", "30s"],
)
def test_a_timeframe_that_cannot_be_read_off_the_data_says_why(candles, message):
    with pytest.raises(CandleValidationError, match=message):
        infer_timeframe(candles)


def test_a_malformed_timeframe_says_what_it_should_look_like():
    with pytest.raises(ValueError, match=r"timeframe '7x' is not like '15m', '1h', '1d' or '1w'"):
        timeframe_step("7x")


def test_shipped_sample_is_valid():
    raw = pd.read_csv(SAMPLE_CANDLES_PATH)

    candles = validate_candles(raw)

    assert list(candles.columns) == list(OHLCV_COLUMNS)
    assert len(candles) == len(raw) == 5760
    assert str(candles.index.tz) == "UTC" and candles.index.name == "timestamp"
    assert find_gaps(candles, "5m") == []


@pytest.mark.parametrize("layout", ["index", "timestamp column"])
def test_naive_timestamps_become_utc_from_an_index_or_a_column(layout: str):
    frame = _candles()
    frame.index = frame.index.tz_localize(None)
    if layout == "timestamp column":
        frame = frame.reset_index()

    candles = validate_candles(frame)

    pd.testing.assert_index_equal(candles.index, _candles().index, check_freq=False)
    assert (candles.dtypes == "float64").all()


def test_validation_leaves_the_callers_frame_untouched():
    candles = _candles()
    candles.index = candles.index.tz_localize(None).rename("when")
    before = candles.copy(deep=True)
    validated = validate_candles(candles)
    validated.iloc[0, 0] = -1.0
    pd.testing.assert_frame_equal(candles, before)
    assert validated.index.tz is not None and validated.index.name == "timestamp"
