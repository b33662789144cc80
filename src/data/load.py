"""Candles from a named source, as the CLIs name them: bitbank, sample, or a file."""

from __future__ import annotations

import os
from collections.abc import Callable

from src.config import REPO_ROOT, Settings
from src.data.sources import CandleSet, load_file_candles, load_sample_candles

Progress = Callable[[str], None]


def bitbank_api_url_from_env() -> str | None:
    """BITBANK_API_URL, when set and not empty, replaces bitbank's API (e.g. a local server)."""
    return os.environ.get("BITBANK_API_URL") or None


def load_candles(
    settings: Settings,
    source: str,
    progress: Progress,
    *,
    symbol: str | None = None,
    timeframe: str | None = None,
    write_cache: bool = True,
    bitbank_api_url: str | None = None,
) -> CandleSet:
    """`bitbank` (through ccxt, cached), `sample` (shipped real candles) or a file path.

    `write_cache=False` leaves bitbank's candle cache as it is (a dry run writes nothing);
    `bitbank_api_url` replaces bitbank's API base URL (None: bitbank itself).

    bitbank serves `settings.data`'s symbol and timeframe. The sample and a file carry their
    own: `symbol` and `timeframe` are what the user asserted (None when not given), checked
    against them; a file's symbol is only ever the asserted one.
    """
    data = settings.data
    if source == "sample":
        return load_sample_candles(symbol, timeframe)
    if source == "bitbank":
        # Imported here: ccxt costs ~0.7 s and ~45 MiB, and only this source needs it.
        from src.data.bitbank import fetch_bitbank_candles

        return fetch_bitbank_candles(
            data.symbol,
            data.timeframe,
            data.days,
            REPO_ROOT / data.cache_dir,
            timeout_s=data.request_timeout_s,
            api_url=bitbank_api_url,
            max_retries=data.max_retries,
            progress=progress,
            write_cache=write_cache,
        )
    return load_file_candles(source, symbol, timeframe)
