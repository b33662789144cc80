"""Offline candle sources: a CSV/Parquet file, and the real candles shipped in the repo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from src.data.errors import CandleValidationError, DataSourceError
from src.data.schema import infer_timeframe, timeframe_step, validate_candles

SAMPLE_CANDLES_PATH = Path(__file__).resolve().parent / "sample_data" / "ETH_BTC-5m.csv"
SAMPLE_SYMBOL = "ETH/BTC"
SAMPLE_TIMEFRAME = "5m"
# A candle file holds no symbol: without one given, none is claimed.
UNKNOWN_SYMBOL = "unknown"


@dataclass(frozen=True)
class CandleSet:
    """Validated candles plus where they came from (recorded in the model metadata)."""

    candles: pd.DataFrame
    source: str
    symbol: str
    timeframe: str


def read_candle_file(path: Path | str) -> pd.DataFrame:
    """Read timestamp,open,high,low,close,volume from a .csv or .parquet file and validate it."""
    path = Path(path)
    readers = {".csv": pd.read_csv, ".parquet": pd.read_parquet}
    reader = readers.get(path.suffix.lower())
    if reader is None:
        raise DataSourceError(
            f"{path}: unsupported candle file type {path.suffix!r}; use one of {sorted(readers)}"
        )
    try:
        raw = reader(path)
    except FileNotFoundError as exc:
        raise DataSourceError(f"{path}: candle file not found") from exc
    except (OSError, ValueError) as exc:
        raise DataSourceError(f"{path}: could not read candle file: {exc}") from exc
    try:
        return validate_candles(raw)
    except CandleValidationError as exc:
        raise CandleValidationError(f"{path}: {exc}") from exc


def load_sample_candles(symbol: str | None = None, timeframe: str | None = None) -> CandleSet:
    """The real ETH/BTC 5m candles shipped for offline runs (see sample_data/README.md).

    A `symbol` or `timeframe` given (e.g. on the command line) must be the sample's own.
    """
    label = f"the sample candles are {SAMPLE_SYMBOL} {SAMPLE_TIMEFRAME}"
    if symbol is not None and symbol != SAMPLE_SYMBOL:
        raise DataSourceError(
            f"{label}, not {symbol}; leave --symbol out, or train on your own candles with "
            "--source PATH"
        )
    _check_timeframe(label, SAMPLE_TIMEFRAME, timeframe)
    return CandleSet(
        candles=read_candle_file(SAMPLE_CANDLES_PATH),
        source="sample",
        symbol=SAMPLE_SYMBOL,
        timeframe=SAMPLE_TIMEFRAME,
    )


def load_file_candles(
    path: Path | str, symbol: str | None = None, timeframe: str | None = None
) -> CandleSet:
    """Candles from a file, their timeframe read off the timestamps.

    A `timeframe` given must agree with the data. A file holds no symbol: `symbol` is recorded
    as given, or as UNKNOWN_SYMBOL when none is.
    """
    candles = read_candle_file(path)
    try:
        spacing = infer_timeframe(candles)
    except CandleValidationError as exc:
        raise CandleValidationError(f"{path}: {exc}") from exc
    label = f"{path} holds {spacing} candles (the most common step between its timestamps)"
    _check_timeframe(label, spacing, timeframe)
    return CandleSet(
        candles=candles,
        source=f"file:{path}",
        symbol=symbol or UNKNOWN_SYMBOL,
        timeframe=spacing,
    )


def _check_timeframe(label: str, actual: str, given: str | None) -> None:
    if given is not None and timeframe_step(given) != timeframe_step(actual):
        raise DataSourceError(
            f"{label}, but timeframe {given} was given; pass --timeframe {actual} or leave it out"
        )
