"""A local bitbank: a real HTTP server on 127.0.0.1 serving bitbank-format JSON, scriptable faults.

Candles are generated deterministically from their timestamp, so any day can be served and two
fetches of the same day agree. Only candles that have opened by `server.now` are served, the last
of them still open, as bitbank does for the current day.
"""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pandas as pd
import pytest

STEP = pd.Timedelta(minutes=15)

# Shape of bitbank's GET https://api.bitbank.cc/spot/pairs (fields ccxt's parse_market reads).
PAIRS_BODY = {
    "success": 1,
    "data": {
        "pairs": [
            {
                "name": "btc_jpy",
                "base_asset": "btc",
                "quote_asset": "jpy",
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
        ]
    },
}


def _candle_row(opened: pd.Timestamp) -> list[str | int]:
    """[open, high, low, close, volume, timestamp_ms] with numbers as strings, like bitbank."""
    phase = opened.value // STEP.value
    open_ = 10_000_000 + round(200_000 * math.sin(phase / 37))
    close = 10_000_000 + round(200_000 * math.sin((phase + 1) / 37))
    high = max(open_, close) + 1_500 + phase % 7 * 100
    low = min(open_, close) - 1_200 - phase % 5 * 100
    volume = f"{0.5 + phase % 11 / 10:.4f}"
    return [str(open_), str(high), str(low), str(close), volume, opened.value // 1_000_000]


def _candles_body(day: str, now: pd.Timestamp) -> dict:
    start = pd.Timestamp(day, tz="UTC")
    opened = pd.date_range(start, start + pd.Timedelta(days=1) - STEP, freq=STEP)
    rows = [_candle_row(stamp) for stamp in opened if stamp <= now]
    return {
        "success": 1,
        "data": {
            "candlestick": [{"type": "15min", "ohlcv": rows}],
            "timestamp": now.value // 1_000_000,
        },
    }


class FakeBitbank:
    """Serves `/spot/pairs` and `/btc_jpy/candlestick/15min/YYYYMMDD`; counts and scripts paths.

    `script(path, "http500", "sleep", ...)` makes the next requests of `path` fail in that order:
    http500 (plain-text 500), http503json (503 with a bitbank JSON error body), busy (success=0
    with code 10005, bitbank's "timeout, try again"), sleep (answer after `sleep_s`), malformed
    (HTML instead of JSON), incomplete (JSON without candles), rejected (success=0 with code
    10000, "URL does not exist").
    """

    def __init__(self) -> None:
        self.now = pd.Timestamp("2024-03-10 12:07", tz="UTC")
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
                elif path.startswith("/btc_jpy/candlestick/15min/"):
                    day = path.rsplit("/", 1)[1]
                    self._send(200, "application/json", _candles_body(day, fake.now))
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


@pytest.fixture
def fake_bitbank() -> Iterator[FakeBitbank]:
    server = FakeBitbank()
    server.start()
    try:
        yield server
    finally:
        server.stop()
