"""The one OHLCV schema: a UTC DatetimeIndex named `timestamp` and float open/high/low/close/volume.

`validate_candles` rejects bad data with an error naming the first offending row; `find_gaps`
reports holes in the time grid without filling them (filling would invent prices).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.data.bounds import MAX_MAGNITUDE, MIN_PRICE
from src.data.errors import CandleValidationError

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
PRICE_COLUMNS = ("open", "high", "low", "close")


@dataclass(frozen=True)
class Gap:
    after: pd.Timestamp
    before: pd.Timestamp
    missing_bars: int


# Field separators that leave a comma-separated reader with the whole header in one column.
_FOREIGN_SEPARATORS = {";": "';'", "\t": "tab", "|": "'|'"}


def _layout_problem(columns: pd.Index, wanted: tuple[str, ...]) -> str | None:
    """What is wrong with the column names when `wanted` columns are not among them, if clear."""
    names = [str(name) for name in columns]
    if len(names) == 1:
        for separator, label in _FOREIGN_SEPARATORS.items():
            if separator in names[0]:
                return (
                    f"the data has one column {names[0]!r}: it looks {label}-separated; "
                    "save it comma-separated, with decimal points in numbers"
                )
    for name in names:
        meant = name.strip().lower()
        if meant != name and meant in wanted:
            return (
                f"column names must match exactly (lower case, no spaces): found {name!r}, "
                f"expected {meant!r}; rename the column"
            )
    return None


def _check_time_column(frame: pd.DataFrame) -> None:
    """Refuse a frame without a 'timestamp' column or a DatetimeIndex, saying what was found."""
    problem = _layout_problem(frame.columns, ("timestamp",))
    if problem is None and isinstance(frame.index, pd.RangeIndex):
        problem = (
            f"no 'timestamp' column and no DatetimeIndex; found columns {list(frame.columns)}; "
            "name the time column 'timestamp' (ISO 8601 dates)"
        )
    if problem is not None:
        raise CandleValidationError(problem)


def _to_utc_index(frame: pd.DataFrame) -> pd.DataFrame:
    if "timestamp" in frame.columns:
        frame = frame.set_index("timestamp")
    elif not isinstance(frame.index, pd.DatetimeIndex):
        _check_time_column(frame)
    if not isinstance(frame.index, pd.DatetimeIndex):
        # pd.to_datetime would read numbers as epoch nanoseconds: a RangeIndex or epoch-ms
        # column would silently become 1970 timestamps.
        if pd.api.types.is_numeric_dtype(frame.index):
            raise CandleValidationError(
                "candles need a DatetimeIndex or a 'timestamp' column of dates; got numbers "
                f"(first {frame.index[0]}); convert epoch values first, e.g. "
                "pd.to_datetime(values, unit='ms', utc=True)"
            )
        try:
            frame.index = pd.to_datetime(frame.index, utc=True)
        except (ValueError, TypeError) as exc:
            raise CandleValidationError(
                "candles need a DatetimeIndex or a 'timestamp' column of dates; "
                f"could not parse the index: {exc}"
            ) from exc
    if frame.index.tz is None:
        frame.index = frame.index.tz_localize("UTC")
    else:
        frame.index = frame.index.tz_convert("UTC")
    frame.index.name = "timestamp"
    return frame


def _first_bad_row(frame: pd.DataFrame, bad: pd.Series | np.ndarray, problem: str) -> None:
    bad = np.asarray(bad, dtype=bool)
    if bad.any():
        position = int(np.flatnonzero(bad)[0])
        raise CandleValidationError(
            f"row {position} ({frame.index[position]}): {problem} "
            f"({int(bad.sum())} bad row(s) in all); fix or drop these candles at the source"
        )


def _check_columns(frame: pd.DataFrame) -> pd.DataFrame:
    missing = [column for column in OHLCV_COLUMNS if column not in frame.columns]
    if missing:
        raise CandleValidationError(
            _layout_problem(frame.columns, tuple(missing))
            or f"missing column(s) {missing}; candles need {list(OHLCV_COLUMNS)}"
        )
    columns = []
    for column in OHLCV_COLUMNS:
        raw = frame[column]
        if raw.dtype != "float64":
            numeric = pd.to_numeric(raw, errors="coerce")
            not_a_number = numeric.isna() & raw.notna()
            if not_a_number.any():
                _first_bad_row(frame, not_a_number, _non_numeric(column, raw[not_a_number].iloc[0]))
            raw = numeric
        columns.append(raw.to_numpy(dtype="float64"))
    # One copy into one float block: the result shares no memory with the caller's frame.
    return pd.DataFrame(np.column_stack(columns), index=frame.index, columns=list(OHLCV_COLUMNS))


def _non_numeric(column: str, value: object) -> str:
    problem = f"non-numeric value {column}={value!r}"
    if "," in str(value):
        return f"{problem}: write numbers with a decimal point, no comma (decimal or thousands)"
    return problem


def _check_time_order(frame: pd.DataFrame) -> None:
    index = frame.index
    _first_bad_row(frame, index.isna(), "missing timestamp")
    steps = np.diff(index.asi8)
    _first_bad_row(frame, np.r_[False, steps == 0], "duplicated timestamp")
    _first_bad_row(
        frame, np.r_[False, steps < 0], "timestamp earlier than the previous row (unsorted)"
    )


def _check_values(frame: pd.DataFrame) -> None:
    # On plain arrays: these checks run on every feature call, where pandas' overhead would
    # cost as much as computing the features. One range test per column (NaN fails it too) is
    # all a clean column costs; only a failing one is searched for its first bad row.
    values = {column: frame[column].to_numpy() for column in OHLCV_COLUMNS}
    for column in PRICE_COLUMNS:
        price = values[column]
        if not ((price >= MIN_PRICE) & (price <= MAX_MAGNITUDE)).all():
            _report_bad_price(frame, column, price)
    volume = values["volume"]
    if not ((volume >= 0.0) & (volume <= MAX_MAGNITUDE)).all():
        _first_bad_row(frame, np.isnan(volume), "NaN volume")
        _first_bad_row(frame, np.isinf(volume), "infinite volume")
        _first_bad_row(frame, volume < 0, "negative volume")
        _first_bad_row(frame, volume > MAX_MAGNITUDE, _too_large("volume"))
    high, low = values["high"], values["low"]
    _first_bad_row(frame, high < low, "high < low")
    for column in ("close", "open"):
        outside = (values[column] < low) | (values[column] > high)
        _first_bad_row(frame, outside, f"{column} outside [low, high]")


def _report_bad_price(frame: pd.DataFrame, column: str, price: np.ndarray) -> None:
    _first_bad_row(frame, np.isnan(price), f"NaN {column} price")
    _first_bad_row(frame, np.isinf(price), f"infinite {column} price")
    _first_bad_row(frame, price <= 0, f"non-positive {column} price")
    _first_bad_row(frame, price < MIN_PRICE, _too_small(f"{column} price"))
    _first_bad_row(frame, price > MAX_MAGNITUDE, _too_large(f"{column} price"))


def _too_large(what: str) -> str:
    return (
        f"{what} above {MAX_MAGNITUDE:g}, the largest magnitude the features are computed on "
        "safely; rescale the column (e.g. quote prices in a larger unit)"
    )


def _too_small(what: str) -> str:
    return (
        f"{what} below {MIN_PRICE:g}, the smallest the features are computed on safely; "
        "rescale the prices (e.g. quote them in a smaller unit)"
    )


def validate_candles(candles: pd.DataFrame) -> pd.DataFrame:
    """Return a clean copy in the OHLCV schema, or raise `CandleValidationError`.

    Nothing is repaired: a bad row is an error that names it, so bad data never reaches a model.
    """
    if not isinstance(candles, pd.DataFrame):
        raise CandleValidationError(
            f"candles must be a pandas DataFrame, got {type(candles).__name__}"
        )
    if candles.empty:
        raise CandleValidationError("no candles: the data is empty; fetch a longer period")
    frame = _to_utc_index(candles.copy(deep=False))  # index changes stay off the caller's frame
    frame = _check_columns(frame)
    _check_time_order(frame)
    _check_values(frame)
    return frame


_TIMEFRAME = re.compile(r"^([1-9][0-9]*)(m|h|d|w)$")
_TIMEFRAME_UNITS = {
    "m": pd.Timedelta(minutes=1),
    "h": pd.Timedelta(hours=1),
    "d": pd.Timedelta(days=1),
    "w": pd.Timedelta(weeks=1),
}


def timeframe_step(timeframe: str) -> pd.Timedelta:
    """The bar length of a timeframe such as '15m', '1h', '1d' or '1w'."""
    match = _TIMEFRAME.match(timeframe)
    if match is None:
        raise ValueError(f"timeframe {timeframe!r} is not like '15m', '1h', '1d' or '1w'")
    return int(match[1]) * _TIMEFRAME_UNITS[match[2]]


def infer_timeframe(candles: pd.DataFrame) -> str:
    """The timeframe of validated candles: the most common step between their timestamps.

    The most common step, not the smallest or the mean, so gaps in the data do not change it.
    """
    if len(candles) < 2:
        raise CandleValidationError(
            f"{len(candles)} candle(s) have no spacing to read the timeframe from; "
            "fetch a longer period"
        )
    steps, counts = np.unique(np.diff(candles.index.asi8), return_counts=True)
    step = pd.Timedelta(int(steps[np.argmax(counts)]), unit=candles.index.unit)
    minutes, remainder = divmod(step, pd.Timedelta(minutes=1))
    if remainder or minutes < 1:
        raise CandleValidationError(
            f"the candles are {step} apart (the most common step between timestamps), not a "
            "whole number of minutes; resample them to 1m or longer bars"
        )
    for unit in ("w", "d", "h"):
        per_unit = _TIMEFRAME_UNITS[unit] // pd.Timedelta(minutes=1)
        if minutes % per_unit == 0:
            return f"{minutes // per_unit}{unit}"
    return f"{minutes}m"


def find_gaps(candles: pd.DataFrame, timeframe: str) -> list[Gap]:
    """Holes in the time grid of validated candles, for `timeframe` such as '15m' or '1h'."""
    step = timeframe_step(timeframe)
    deltas = candles.index[1:] - candles.index[:-1]
    positions = np.flatnonzero(deltas > step)
    return [
        Gap(
            after=candles.index[p],
            before=candles.index[p + 1],
            missing_bars=int(deltas[p] / step) - 1,
        )
        for p in positions
    ]


def candles_sha256(candles: pd.DataFrame) -> str:
    """A content hash of validated candles (values and timestamps), as "sha256:<hex>"."""
    hashed = pd.util.hash_pandas_object(candles, index=True).to_numpy()
    return f"sha256:{hashlib.sha256(hashed.tobytes()).hexdigest()}"
