"""Generated candles for tests, benchmarks and the seed's examples (never trained on silently)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def generate_sample_market_data(
    n_bars: int = 500,
    seed: int = 0,
    start: str = "2025-01-01",
    timeframe: str = "15min",
    start_price: float = 10_000_000.0,
    volatility: float = 0.002,
    drift: float = 0.0,
) -> pd.DataFrame:
    """Random-walk OHLCV candles (BTC/JPY-like prices) with a UTC DatetimeIndex.

    Log returns are i.i.d. normal, so the next bar's direction is unpredictable: a model that
    scores clearly above chance on these candles is leaking information.
    """
    rng = np.random.default_rng(seed)
    log_returns = rng.normal(drift, volatility, n_bars)
    close = start_price * np.exp(np.cumsum(log_returns))
    open_ = np.r_[start_price, close[:-1]]
    wick = np.abs(rng.normal(0.0, volatility / 2, (2, n_bars)))
    high = np.maximum(open_, close) * (1 + wick[0])
    low = np.minimum(open_, close) * (1 - wick[1])
    volume = rng.lognormal(mean=1.0, sigma=0.5, size=n_bars)
    index = pd.date_range(start, periods=n_bars, freq=timeframe, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )
