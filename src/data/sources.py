"""Offline candle sources: a CSV/Parquet file, and the real candles shipped in the repo."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from src.data.errors import CandleValidationError, DataSourceError
from src.data.schema import validate_candles

SAMPLE_CANDLES_PATH = Path(__file__).resolve().parent / "sample_data" / "ETH_BTC-5m.csv"
SAMPLE_SYMBOL = "ETH/BTC"
SAMPLE_TIMEFRAME = "5m"


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


def load_sample_candles() -> CandleSet:
    """The real ETH/BTC 5m candles shipped for offline runs (see sample_data/README.md)."""
    return CandleSet(
        candles=read_candle_file(SAMPLE_CANDLES_PATH),
        source="sample",
        symbol=SAMPLE_SYMBOL,
        timeframe=SAMPLE_TIMEFRAME,
    )


def load_file_candles(path: Path | str, symbol: str, timeframe: str) -> CandleSet:
    return CandleSet(
        candles=read_candle_file(path), source=f"file:{path}", symbol=symbol, timeframe=timeframe
    )
