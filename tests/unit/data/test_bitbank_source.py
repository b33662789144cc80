"""fetch_bitbank_candles against a local bitbank (see conftest.py); nothing touches the internet."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

from src.data.bitbank import fetch_bitbank_candles
from src.data.errors import DataSourceError
from src.data.schema import validate_candles

STEP = pd.Timedelta(minutes=15)
# The fake's `now` is 2024-03-10 12:07 UTC; three days back starts on 2024-03-07.
DAY_PATHS = [f"/btc_jpy/candlestick/15min/202403{day:02d}" for day in (7, 8, 9, 10)]


def _fetch(fake, cache_dir: Path, **overrides):
    arguments = {
        "days": 3,
        "now": fake.now,
        "api_url": fake.url,
        "timeout_s": 0.5,
        "max_retries": 2,
        "backoff_s": 0.01,
    } | overrides
    return fetch_bitbank_candles("BTC/JPY", "15m", cache_dir=cache_dir, **arguments)


def _assert_window(candles: pd.DataFrame, now: pd.Timestamp, days: int) -> None:
    """Closed 15m candles in [now - days, now): the open candle and earlier ones are dropped."""
    first = (now - pd.Timedelta(days=days)).ceil(STEP)
    last = now.floor(STEP) - STEP
    expected = pd.date_range(first, last, freq=STEP, name="timestamp")
    pd.testing.assert_index_equal(candles.index, expected, check_freq=False)


def test_fetches_one_request_per_utc_day_and_keeps_only_closed_candles_in_the_window(
    fake_bitbank, tmp_path
):
    messages: list[str] = []
    result = _fetch(fake_bitbank, tmp_path, progress=messages.append)

    candles = result.candles
    assert fake_bitbank.candle_requests() == DAY_PATHS
    _assert_window(candles, fake_bitbank.now, days=3)
    assert len(candles) == 287
    assert candles.index.is_unique and candles.index.is_monotonic_increasing
    pd.testing.assert_frame_equal(validate_candles(candles), candles)
    assert (result.source, result.symbol, result.timeframe) == ("bitbank", "BTC/JPY", "15m")
    assert messages[-1] == "bitbank BTC/JPY 15m: day 4/4 (2024-03-10)"
    assert len(messages) == 4


@pytest.mark.parametrize("zone", ["Asia/Tokyo", None])
def test_now_in_another_zone_or_naive_is_read_as_utc_days(fake_bitbank, tmp_path, zone):
    now = fake_bitbank.now.tz_convert(zone) if zone else fake_bitbank.now.tz_localize(None)

    result = _fetch(fake_bitbank, tmp_path, now=now)

    assert fake_bitbank.candle_requests() == DAY_PATHS
    _assert_window(result.candles, fake_bitbank.now, days=3)


@pytest.mark.parametrize("fault", ["http500", "http503json", "busy", "sleep"])
def test_a_transient_failure_is_retried_and_then_succeeds(fake_bitbank, tmp_path, fault):
    fake_bitbank.sleep_s = 0.8
    fake_bitbank.script(DAY_PATHS[1], fault)

    result = _fetch(fake_bitbank, tmp_path)

    assert fake_bitbank.counts[DAY_PATHS[1]] == 2
    _assert_window(result.candles, fake_bitbank.now, days=3)


def test_failing_markets_request_is_retried_too(fake_bitbank, tmp_path):
    fake_bitbank.script("/spot/pairs", "http500")

    _fetch(fake_bitbank, tmp_path)

    assert fake_bitbank.counts["/spot/pairs"] == 2


@pytest.mark.parametrize(
    ("fault", "error"), [("sleep", "RequestTimeout"), ("http500", "ExchangeNotAvailable")]
)
def test_persistent_transient_failures_raise_after_the_retries(
    fake_bitbank, tmp_path, fault, error
):
    fake_bitbank.sleep_s = 0.5
    fake_bitbank.script(DAY_PATHS[1], fault, fault, fault)

    pattern = rf"GET btc_jpy/candlestick/15min/20240308 still failing after 3 attempt.*{error}"
    with pytest.raises(DataSourceError, match=pattern) as caught:
        _fetch(fake_bitbank, tmp_path, timeout_s=0.3)

    assert "retry later" in str(caught.value) and "--source sample" in str(caught.value)
    assert fake_bitbank.counts[DAY_PATHS[1]] == 3


@pytest.mark.parametrize(
    ("path", "fault", "message"),
    [
        (
            DAY_PATHS[1],
            "malformed",
            r"GET btc_jpy/candlestick/15min/20240308 returned a malformed body .*not a JSON object",
        ),
        (
            DAY_PATHS[1],
            "incomplete",
            r"20240308 returned a malformed body \(KeyError: 'candlestick'\)",
        ),
        (DAY_PATHS[1], "rejected", r"bitbank rejected GET btc_jpy/candlestick/15min/20240308"),
        ("/spot/pairs", "malformed", r"spot/pairs returned no markets \(empty or malformed body\)"),
    ],
)
def test_a_malformed_or_rejected_body_raises_without_retrying(
    fake_bitbank, tmp_path, path, fault, message
):
    fake_bitbank.script(path, fault)

    with pytest.raises(DataSourceError, match=message):
        _fetch(fake_bitbank, tmp_path)

    assert fake_bitbank.counts[path] == 1


def test_second_fetch_reads_the_cache_and_requests_only_the_newer_days(fake_bitbank, tmp_path):
    _fetch(fake_bitbank, tmp_path)
    cache_path = tmp_path / "bitbank_BTC_JPY_15m.parquet"
    assert list(tmp_path.iterdir()) == [cache_path]  # no temp file left behind
    fake_bitbank.requests.clear()
    fake_bitbank.now += pd.Timedelta(days=1)

    result = _fetch(fake_bitbank, tmp_path)

    # The last cached day was partial (its candles stopped at 'now'), so it is fetched again.
    assert fake_bitbank.candle_requests() == [DAY_PATHS[-1], "/btc_jpy/candlestick/15min/20240311"]
    _assert_window(result.candles, fake_bitbank.now, days=3)
    cached = pd.read_parquet(cache_path)
    assert cached.index[0] == pd.Timestamp("2024-03-07", tz="UTC")
    assert cached.index[-1] == fake_bitbank.now.floor(STEP) - STEP


def test_a_read_only_fetch_uses_the_cache_but_leaves_it_untouched(fake_bitbank, tmp_path):
    _fetch(fake_bitbank, tmp_path)
    cache_path = tmp_path / "bitbank_BTC_JPY_15m.parquet"
    before = (cache_path.read_bytes(), cache_path.stat().st_mtime_ns)
    fake_bitbank.requests.clear()
    fake_bitbank.now += pd.Timedelta(days=1)

    result = _fetch(fake_bitbank, tmp_path, write_cache=False)

    assert fake_bitbank.candle_requests() == [DAY_PATHS[-1], "/btc_jpy/candlestick/15min/20240311"]
    _assert_window(result.candles, fake_bitbank.now, days=3)  # the newer day, in memory
    assert (cache_path.read_bytes(), cache_path.stat().st_mtime_ns) == before
    assert list(tmp_path.iterdir()) == [cache_path]


def test_a_read_only_fetch_without_a_cache_creates_none(fake_bitbank, tmp_path):
    cache_dir = tmp_path / "cache"

    result = _fetch(fake_bitbank, cache_dir, write_cache=False)

    assert len(result.candles) == 287
    assert not cache_dir.exists()


def test_a_refetched_candle_replaces_the_cached_copy(fake_bitbank, tmp_path):
    first = _fetch(fake_bitbank, tmp_path).candles
    cache_path = tmp_path / "bitbank_BTC_JPY_15m.parquet"
    stamp = pd.Timestamp("2024-03-10 06:00", tz="UTC")
    stale = pd.read_parquet(cache_path)
    stale.loc[stamp, "volume"] = 12345.0
    stale.to_parquet(cache_path)

    second = _fetch(fake_bitbank, tmp_path).candles

    assert second.loc[stamp, "volume"] == first.loc[stamp, "volume"] != 12345.0


def test_a_longer_period_than_the_cache_covers_fetches_every_day(fake_bitbank, tmp_path):
    _fetch(fake_bitbank, tmp_path, days=1)
    fake_bitbank.requests.clear()

    result = _fetch(fake_bitbank, tmp_path, days=3)

    assert fake_bitbank.candle_requests() == DAY_PATHS
    assert len(result.candles) == 287


def test_a_corrupt_cache_file_names_the_file_and_the_fix(fake_bitbank, tmp_path):
    cache_path = tmp_path / "bitbank_BTC_JPY_15m.parquet"
    cache_path.write_bytes(b"this is not parquet")

    with pytest.raises(DataSourceError, match=rf"{re.escape(str(cache_path))}.*delete the file"):
        _fetch(fake_bitbank, tmp_path)

    assert fake_bitbank.requests == []


def test_unsupported_timeframe_lists_the_supported_ones(tmp_path):
    with pytest.raises(DataSourceError, match=r"timeframe '4h' is not supported.*'15m'"):
        fetch_bitbank_candles("BTC/JPY", "4h", 3, tmp_path, api_url="http://127.0.0.1:9")


def test_unknown_symbol_says_so(fake_bitbank, tmp_path):
    with pytest.raises(DataSourceError, match=r"'XRP/USD' is not listed on bitbank.*BTC/JPY"):
        fetch_bitbank_candles(
            "XRP/USD",
            "15m",
            3,
            tmp_path,
            now=fake_bitbank.now,
            api_url=fake_bitbank.url,
            timeout_s=0.5,
        )
