"""Offline sources: candle files and the shipped sample."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from src.data.errors import CandleValidationError, DataSourceError
from src.data.sources import (
    UNKNOWN_SYMBOL,
    load_file_candles,
    load_sample_candles,
    read_candle_file,
)


def _candles() -> pd.DataFrame:
    index = pd.date_range("2024-01-01", periods=4, freq="1h", tz="UTC", name="timestamp")
    close = np.array([100.0, 101.5, 99.25, 100.125])
    return pd.DataFrame(
        {"open": close, "high": close + 1, "low": close - 1, "close": close, "volume": 3.5},
        index=index,
    )


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".CSV"])
def test_candle_file_round_trip(tmp_path, suffix):
    path = tmp_path / f"candles{suffix}"
    writers = {".csv": pd.DataFrame.to_csv, ".parquet": pd.DataFrame.to_parquet}
    writers[suffix.lower()](_candles(), path)

    candles = read_candle_file(path)

    pd.testing.assert_frame_equal(candles, _candles(), check_freq=False)


def test_unsupported_suffix_lists_the_supported_ones(tmp_path):
    path = tmp_path / "candles.json"
    path.write_text("{}")

    with pytest.raises(DataSourceError, match=r"unsupported candle file type '\.json'.*'\.csv'"):
        read_candle_file(path)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_missing_file_is_a_data_source_error(tmp_path, suffix):
    path = tmp_path / f"absent{suffix}"

    with pytest.raises(DataSourceError, match=rf"{re.escape(str(path))}: candle file not found"):
        read_candle_file(path)


def test_unreadable_parquet_names_the_file(tmp_path):
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"not parquet at all")

    with pytest.raises(DataSourceError, match=rf"{re.escape(str(path))}: could not read"):
        read_candle_file(path)


def test_bad_rows_in_a_file_name_the_file_and_the_row(tmp_path):
    path = tmp_path / "bad.csv"
    frame = _candles()
    frame.iloc[2, frame.columns.get_loc("low")] = 500.0
    frame.to_csv(path)

    with pytest.raises(CandleValidationError, match=rf"{re.escape(str(path))}: row 2 .*high < low"):
        read_candle_file(path)


FOREIGN_FILE_LAYOUTS = [
    pytest.param({"sep": ";"}, r"one column 'timestamp;open;.*it looks ';'-separated", id="';'"),
    pytest.param({"sep": "\t"}, r"one column 'timestamp\\topen.*it looks tab-separated", id="tab"),
    pytest.param(
        {"sep": ";", "decimal": ","},
        r"it looks ';'-separated; save it comma-separated, with decimal points",
        id="';' and decimal commas",
    ),
    pytest.param(
        {"decimal": ","},
        r"row 0 .*non-numeric value open='100,0': write numbers with a decimal point",
        id="decimal commas",
    ),
]


@pytest.mark.parametrize(("to_csv", "message"), FOREIGN_FILE_LAYOUTS)
def test_a_file_in_another_csv_dialect_is_named_as_such(tmp_path, to_csv, message):
    path = tmp_path / "candles.csv"
    _candles().to_csv(path, **to_csv)

    with pytest.raises(CandleValidationError, match=rf"{re.escape(str(path))}: .*{message}"):
        read_candle_file(path)


def test_load_sample_candles():
    sample = load_sample_candles()

    assert (sample.source, sample.symbol, sample.timeframe) == ("sample", "ETH/BTC", "5m")
    assert len(sample.candles) == 5760
    assert sample.candles.index.is_monotonic_increasing


def test_load_file_candles_records_the_path_as_source(tmp_path):
    path = tmp_path / "candles.parquet"
    _candles().to_parquet(path)

    candle_set = load_file_candles(path, symbol="BTC/JPY", timeframe="60m")

    assert candle_set.source == f"file:{path}"
    assert (candle_set.symbol, candle_set.timeframe) == ("BTC/JPY", "1h")
    assert len(candle_set.candles) == 4


def test_a_file_without_options_gets_its_timeframe_from_the_data_and_no_symbol(tmp_path):
    path = tmp_path / "candles.csv"
    _candles().to_csv(path)

    candle_set = load_file_candles(path)

    assert (candle_set.symbol, candle_set.timeframe) == (UNKNOWN_SYMBOL, "1h")


def test_a_timeframe_the_file_contradicts_names_both(tmp_path):
    path = tmp_path / "candles.csv"
    _candles().to_csv(path)

    with pytest.raises(
        DataSourceError,
        match=rf"{re.escape(str(path))} holds 1h candles \(the most common step between its "
        r"timestamps\), but timeframe 15m was given; pass --timeframe 1h or leave it out",
    ):
        load_file_candles(path, timeframe="15m")


def test_the_sample_accepts_its_own_symbol_and_timeframe():
    sample = load_sample_candles(symbol="ETH/BTC", timeframe="5m")

    assert (sample.symbol, sample.timeframe) == ("ETH/BTC", "5m")


@pytest.mark.parametrize(
    ("option", "message"),
    [
        ({"symbol": "BTC/JPY"}, r"the sample candles are ETH/BTC 5m, not BTC/JPY; leave --symbol"),
        ({"timeframe": "15m"}, r"the sample candles are ETH/BTC 5m, but timeframe 15m was given"),
    ],
    ids=["symbol", "timeframe"],
)
def test_an_option_the_sample_contradicts_is_refused(option, message):
    with pytest.raises(DataSourceError, match=message):
        load_sample_candles(**option)
