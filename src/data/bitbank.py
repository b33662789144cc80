"""bitbank public candles through ccxt: one request per UTC day, retried, cached as Parquet.

bitbank serves sub-daily candles one UTC day per request (`/{pair}/candlestick/{type}/{YYYYMMDD}`),
so a year of 15m candles is 365 requests; the cache makes a rerun fetch only the newest days.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import ccxt
import pandas as pd

from src.atomic import atomic_write_bytes, ensure_room, storage_errors
from src.data.errors import CandleValidationError, DataSourceError
from src.data.schema import OHLCV_COLUMNS, validate_candles
from src.data.sources import CandleSet

# Timeframes bitbank serves per UTC day; 4h and longer come as yearly files and are not supported.
_CANDLE_TYPES = {
    "1m": ("1min", pd.Timedelta(minutes=1)),
    "5m": ("5min", pd.Timedelta(minutes=5)),
    "15m": ("15min", pd.Timedelta(minutes=15)),
    "30m": ("30min", pd.Timedelta(minutes=30)),
    "1h": ("1hour", pd.Timedelta(hours=1)),
}
# bitbank's "system error" and "timeout, please wait and try again" codes.
_TRANSIENT_BITBANK_CODES = frozenset({10001, 10003, 10005})
_FALLBACK_HINT = (
    "retry later, or train offline with --source sample or --source <file.csv|.parquet>"
)

T = TypeVar("T")


class _RetryableBitbank(ccxt.bitbank):
    """ccxt's bitbank client, raising server-side failures as retryable ExchangeNotAvailable.

    ccxt turns any JSON error body into a plain ExchangeError before it looks at the HTTP status,
    so a 5xx or a "busy, try again" code would otherwise look like a permanent rejection.
    """

    def handle_errors(self, code, reason, url, method, headers, body, response, *request):
        data = response.get("data") if isinstance(response, dict) else None
        bitbank_code = data.get("code") if isinstance(data, dict) else None
        if (code or 0) >= 500 or bitbank_code in _TRANSIENT_BITBANK_CODES:
            raise ccxt.ExchangeNotAvailable(
                f"{self.id} {method} {url}: HTTP {code} {reason}, bitbank code {bitbank_code}"
            )
        return super().handle_errors(code, reason, url, method, headers, body, response, *request)


@dataclass(frozen=True)
class _Retry:
    max_retries: int
    backoff_s: float


def fetch_bitbank_candles(
    symbol: str,
    timeframe: str,
    days: int,
    cache_dir: Path,
    *,
    now: pd.Timestamp | None = None,
    api_url: str | None = None,
    timeout_s: float = 10,
    max_retries: int = 4,
    backoff_s: float = 1.0,
    progress: Callable[[str], None] | None = None,
    write_cache: bool = True,
) -> CandleSet:
    """Closed candles in [now - days, now) for `symbol`, fetched day by day and cached on disk.

    `api_url` points the client at another server (tests use a local one). Transient failures
    are retried `max_retries` times with back-off `backoff_s * 2**attempt`; anything else raises
    `DataSourceError`. With `write_cache=False` the cache is only read: newer candles are
    fetched into memory and nothing is written (for runs that must write nothing).
    """
    candle_type, step = _candle_type(timeframe)
    now = pd.Timestamp.now(tz="UTC") if now is None else _as_utc(now)
    start = now - pd.Timedelta(days=days)
    cache_path = Path(cache_dir) / f"bitbank_{symbol.replace('/', '_')}_{timeframe}.parquet"
    cached = _read_cache(cache_path)
    days_to_fetch = _days_to_fetch(cached, start, now - step)
    label = f"bitbank {symbol} {timeframe}"

    exchange = _make_exchange(timeout_s, api_url)
    retry = _Retry(max_retries=max_retries, backoff_s=backoff_s)
    pair = _pair_id(exchange, symbol, retry)
    chunks = [] if cached is None else [cached]
    for number, day in enumerate(days_to_fetch, start=1):
        chunks.append(_fetch_day(exchange, pair, candle_type, day, retry))
        if progress is not None:
            progress(f"{label}: day {number}/{len(days_to_fetch)} ({day:%Y-%m-%d})")

    merged = _merge(chunks, now, step, label)
    if write_cache:
        _write_cache(cache_path, merged)
    window = merged[(merged.index >= start) & (merged.index + step <= now)]
    if window.empty:
        raise DataSourceError(
            f"{label}: bitbank returned no closed candles between {start} and {now}; "
            f"check the symbol and period, or {_FALLBACK_HINT}"
        )
    return CandleSet(candles=window, source="bitbank", symbol=symbol, timeframe=timeframe)


def _candle_type(timeframe: str) -> tuple[str, pd.Timedelta]:
    if timeframe not in _CANDLE_TYPES:
        raise DataSourceError(
            f"timeframe {timeframe!r} is not supported for bitbank; use one of "
            f"{sorted(_CANDLE_TYPES)} (4h and longer are served as yearly files)"
        )
    return _CANDLE_TYPES[timeframe]


def _as_utc(moment: pd.Timestamp) -> pd.Timestamp:
    moment = pd.Timestamp(moment)
    return moment.tz_localize("UTC") if moment.tz is None else moment.tz_convert("UTC")


def _days_to_fetch(
    cached: pd.DataFrame | None, start: pd.Timestamp, last_open: pd.Timestamp
) -> list[pd.Timestamp]:
    """UTC days to request: all of them, or, when the cache covers `start`, from its last day on.

    The last cached day is fetched again because it may have been cached while still open.
    """
    first_day = start.floor("D")
    if cached is not None and cached.index[0] <= start:
        first_day = max(first_day, cached.index[-1].floor("D"))
    return list(pd.date_range(first_day, last_open.floor("D"), freq="D"))


def _make_exchange(timeout_s: float, api_url: str | None) -> _RetryableBitbank:
    settings: dict[str, Any] = {
        "timeout": int(timeout_s * 1000),
        # A local test server needs no throttling; bitbank itself does.
        "enableRateLimit": api_url is None,
    }
    if api_url is not None:
        api_url = api_url.rstrip("/")
        settings["urls"] = {"api": {"public": api_url, "private": api_url, "markets": api_url}}
    return _RetryableBitbank(settings)


def _pair_id(exchange: _RetryableBitbank, symbol: str, retry: _Retry) -> str:
    markets = _with_retries(exchange.load_markets, "spot/pairs", retry)
    if not markets:
        raise DataSourceError(
            "bitbank GET spot/pairs returned no markets (empty or malformed body); "
            + _FALLBACK_HINT
        )
    if symbol not in markets:
        examples = sorted(markets)[:5]
        raise DataSourceError(
            f"symbol {symbol!r} is not listed on bitbank (spot/pairs returned {len(markets)} "
            f"markets, e.g. {examples}); use a symbol like 'BTC/JPY'"
        )
    return markets[symbol]["id"]


def _fetch_day(
    exchange: _RetryableBitbank, pair: str, candle_type: str, day: pd.Timestamp, retry: _Retry
) -> pd.DataFrame:
    request = {"pair": pair, "candletype": candle_type, "yyyymmdd": f"{day:%Y%m%d}"}
    path = f"{pair}/candlestick/{candle_type}/{request['yyyymmdd']}"
    # Not fetch_ohlcv: it turns a non-JSON or incomplete body into [] without a word.
    response = _with_retries(
        lambda: exchange.publicGetPairCandlestickCandletypeYyyymmdd(request), path, retry
    )
    return _parse_candles(response, path)


def _with_retries(call: Callable[[], T], path: str, retry: _Retry) -> T:
    for attempt in range(retry.max_retries + 1):
        try:
            return call()
        except ccxt.BaseError as exc:
            if not isinstance(exc, ccxt.NetworkError):
                raise DataSourceError(
                    f"bitbank rejected GET {path}: {_describe(exc)}; {_FALLBACK_HINT}"
                ) from exc
            if attempt == retry.max_retries:
                raise DataSourceError(
                    f"bitbank GET {path} still failing after {attempt + 1} attempt(s): "
                    f"{_describe(exc)}; {_FALLBACK_HINT}"
                ) from exc
            time.sleep(retry.backoff_s * 2**attempt)
    raise AssertionError("unreachable: the loop returns or raises")


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text[:200]}"


def _parse_candles(response: object, path: str) -> pd.DataFrame:
    """bitbank rows are [open, high, low, close, volume, timestamp_ms], numbers as strings."""
    try:
        if not isinstance(response, dict):
            raise TypeError(f"not a JSON object but {str(response)[:60]!r}")
        if response.get("success") != 1:
            raise ValueError(f"success={response.get('success')!r}")
        rows = response["data"]["candlestick"][0]["ohlcv"]
        frame = pd.DataFrame(
            [[float(value) for value in row[:5]] + [int(row[5])] for row in rows],
            columns=[*OHLCV_COLUMNS, "timestamp"],
        )
    except (AttributeError, KeyError, IndexError, TypeError, ValueError) as exc:
        raise DataSourceError(
            f"bitbank GET {path} returned a malformed body ({type(exc).__name__}: {exc}); "
            f"expected JSON {{'success': 1, 'data': {{'candlestick': [{{'ohlcv': [...]}}]}}}}; "
            f"{_FALLBACK_HINT}"
        ) from exc
    frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
    frame.index.name = "timestamp"
    return frame


def _merge(
    chunks: list[pd.DataFrame], now: pd.Timestamp, step: pd.Timedelta, label: str
) -> pd.DataFrame:
    """Cached then fresh candles; a fresh copy of a timestamp wins; the open candle is dropped."""
    chunks = [chunk for chunk in chunks if not chunk.empty]
    if not chunks:
        raise DataSourceError(
            f"{label}: bitbank returned no candles for the requested days; "
            f"check the symbol and period, or {_FALLBACK_HINT}"
        )
    merged = pd.concat(chunks)
    merged = merged[~merged.index.duplicated(keep="last")].sort_index()
    merged = merged[merged.index + step <= now]
    try:
        return validate_candles(merged)
    except CandleValidationError as exc:
        raise CandleValidationError(f"{label}: {exc}") from exc


def _read_cache(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    try:
        return validate_candles(pd.read_parquet(path))
    except (OSError, ValueError) as exc:
        raise DataSourceError(
            f"candle cache {path} is corrupt or unreadable ({type(exc).__name__}: {exc}); "
            "delete the file and run again to re-download"
        ) from exc


CACHE_HINT = "free space there or point data.cache_dir in config/core/base.yaml elsewhere"


def _write_cache(path: Path, candles: pd.DataFrame) -> None:
    """Crash-safe: a reader sees the old file or the new one, never half of one. Refused up
    front when the file system lacks room; a failed write leaves the old file and no temp."""
    data = candles.to_parquet()
    needed = ensure_room(path.parent, [len(data)], CACHE_HINT)
    with storage_errors(path.parent, needed, CACHE_HINT):
        atomic_write_bytes(path, data)
