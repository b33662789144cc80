"""A local bitbank: a real HTTP server on 127.0.0.1 serving bitbank-format JSON, scriptable faults.

Candles are generated deterministically from their timestamp, so any day can be served and two
fetches of the same day agree. Only candles that have opened by `server.now` are served, the last
of them still open, as bitbank does for the current day. Two generators: `sine_candle` (a smooth
wave whose next move is predictable) and `RandomWalkCandles` (i.i.d. returns, no skill possible).

Used by tests/unit/data/conftest.py (the `fake_bitbank` fixture) and the weekly-workflow test.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pandas as pd

from src.data.synthetic import generate_sample_market_data

STEP = pd.Timedelta(minutes=15)
# [open, high, low, close, volume, timestamp_ms] of the candle opened at a timestamp.
CandleRow = list[str | int]
CandleGenerator = Callable[[pd.Timestamp], CandleRow]

# Shape of bitbank's GET https://api.bitbank.cc/spot/pairs (fields ccxt's parse_market reads).
def _pair(name: str) -> dict:
    base, quote = name.split("_")
    return {
        "name": name,
        "base_asset": base,
        "quote_asset": quote,
        "maker_fee_rate_base": "0",
        "taker_fee_rate_base": "0",
        "maker_fee_rate_quote": "-0.0002",
        "taker_fee_rate_quote": "0.0012",
        "unit_amount": "0.0001",
        "limit_max_amount": "1000",
        "market_max_amount": "10",
        "market_allowance_rate": "0.2",
        "price_digits": 0,
        "amount_digits": 4,
        "is_enabled": True,
        "stop_order": False,
        "stop_order_and_cancel": False,
    }


# The pairs served, and each one's price relative to btc_jpy's candles (another market).
PAIR_SCALES = {"btc_jpy": 1.0, "eth_jpy": 0.04}
PAIRS_BODY = {"success": 1, "data": {"pairs": [_pair(name) for name in PAIR_SCALES]}}


def sine_candle(opened: pd.Timestamp) -> CandleRow:
    """A sine wave (period ~25 bars, 4% from trough to peak): the next move follows from the last
    ones, and each swing is large next to bitbank's 0.28% round trip, so it is tradeable.

    Numbers are strings, like bitbank's.
    """
    phase = opened.value // STEP.value
    open_ = 10_000_000 + round(200_000 * math.sin(phase / 4))
    close = 10_000_000 + round(200_000 * math.sin((phase + 1) / 4))
    high = max(open_, close) + 1_500 + phase % 7 * 100
    low = min(open_, close) - 1_200 - phase % 5 * 100
    volume = f"{0.5 + phase % 11 / 10:.4f}"
    return [str(open_), str(high), str(low), str(close), volume, opened.value // 1_000_000]


class RandomWalkCandles:
    """Random-walk candles (`generate_sample_market_data`: i.i.d. log returns) on a fixed grid
    from `start`, so a timestamp always gets the same candle whatever day is asked first."""

    def __init__(self, seed: int = 0, start: str = "2020-01-01", years: int = 16) -> None:
        self._start = pd.Timestamp(start, tz="UTC")
        self._start_text = start
        self._seed = seed
        self._n_bars = int(pd.Timedelta(days=365 * years) / STEP)
        self._columns: dict[str, np.ndarray] | None = None

    def __call__(self, opened: pd.Timestamp) -> CandleRow:
        if self._columns is None:  # generated on first use: ~0.5 M bars take ~0.1 s
            candles = generate_sample_market_data(self._n_bars, self._seed, self._start_text)
            self._columns = {name: candles[name].to_numpy() for name in candles.columns}
        position = (opened - self._start) // STEP
        if not 0 <= position < self._n_bars:
            raise ValueError(f"{opened} is outside the random walk's grid from {self._start}")
        # bitbank quotes BTC/JPY in whole yen; rounding keeps low <= open, close <= high.
        prices = [str(round(self._columns[name][position])) for name in ("open", "high", "low")]
        close = str(round(self._columns["close"][position]))
        volume = f"{self._columns['volume'][position]:.4f}"
        return [*prices, close, volume, opened.value // 1_000_000]


def _scaled(row: CandleRow, scale: float) -> CandleRow:
    if scale == 1.0:
        return row  # btc_jpy's candles exactly as the generator made them
    return [*(str(round(float(price) * scale, 2)) for price in row[:4]), *row[4:]]


def _candles_body(day: str, now: pd.Timestamp, candle: CandleGenerator, scale: float) -> dict:
    start = pd.Timestamp(day, tz="UTC")
    opened = pd.date_range(start, start + pd.Timedelta(days=1) - STEP, freq=STEP)
    rows = [_scaled(candle(stamp), scale) for stamp in opened if stamp <= now]
    return {
        "success": 1,
        "data": {
            "candlestick": [{"type": "15min", "ohlcv": rows}],
            "timestamp": now.value // 1_000_000,
        },
    }


class FakeBitbank:
    """Serves `/spot/pairs` and `/<pair>/candlestick/15min/YYYYMMDD` of PAIR_SCALES' pairs;
    counts and scripts paths.

    `now` and `candle` may be changed while it serves.
    `script(path, "http500", "sleep", ...)` makes the next requests of `path` fail in that order:
    http500 (plain-text 500), http503json (503 with a bitbank JSON error body), busy (success=0
    with code 10005, bitbank's "timeout, try again"), sleep (answer after `sleep_s`), malformed
    (HTML instead of JSON), incomplete (JSON without candles), rejected (success=0 with code
    10000, "URL does not exist").
    """

    def __init__(self, candle: CandleGenerator = sine_candle) -> None:
        self.now = pd.Timestamp("2024-03-10 12:07", tz="UTC")
        self.candle = candle  # settable, like `now`: which market the server serves
        self.sleep_s = 1.0
        self.requests: list[str] = []
        self.counts: Counter[str] = Counter()
        self._scripts: defaultdict[str, deque[str]] = defaultdict(deque)
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @staticmethod
    def candle_path(day: str) -> str:
        return f"/btc_jpy/candlestick/15min/{pd.Timestamp(day):%Y%m%d}"

    def candle_requests(self) -> list[str]:
        return [path for path in self.requests if "/candlestick/" in path]

    def script(self, path: str, *faults: str) -> None:
        with self._lock:
            self._scripts[path].extend(faults)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _next_fault(self, path: str) -> str | None:
        with self._lock:
            self.requests.append(path)
            self.counts[path] += 1
            queue = self._scripts[path]
            return queue.popleft() if queue else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                path = self.path.split("?")[0]
                fault = fake._next_fault(path)
                if fault == "sleep":
                    time.sleep(fake.sleep_s)
                # After a "sleep" the client has given up and closed the connection.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self._answer(path, fault)

            def _answer(self, path: str, fault: str | None) -> None:
                faults = {
                    "http500": (500, "text/plain", "Internal Server Error"),
                    "http503json": (503, "application/json", {"success": 0, "data": {"code": 1}}),
                    "busy": (200, "application/json", {"success": 0, "data": {"code": 10005}}),
                    "malformed": (200, "text/html", "<html><body>maintenance</body></html>"),
                    "incomplete": (200, "application/json", {"success": 1, "data": {}}),
                    "rejected": (200, "application/json", {"success": 0, "data": {"code": 10000}}),
                }
                if fault in faults:
                    self._send(*faults[fault])
                elif path == "/spot/pairs":
                    self._send(200, "application/json", PAIRS_BODY)
                elif (pair := path.split("/")[1]) in PAIR_SCALES and "/candlestick/15min/" in path:
                    day = path.rsplit("/", 1)[1]
                    body = _candles_body(day, fake.now, fake.candle, PAIR_SCALES[pair])
                    self._send(200, "application/json", body)
                else:
                    self._send(404, "application/json", {"success": 0, "data": {"code": 10000}})

            def _send(self, status: int, content_type: str, body: str | dict) -> None:
                payload = (body if isinstance(body, str) else json.dumps(body)).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass  # keep pytest output clean

        return Handler
