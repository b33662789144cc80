"""Seeded BTC/JPY-like candles for the benchmark: GARCH(1,1) returns, intraday seasonality.

Not for training anything real. What matters for a benchmark is that the data has the shape the
models meet in production: heavy-tailed returns whose volatility clusters (so trees split on
volatility features), integer-yen prices around 1e7, and lognormal volumes that follow the hour
of the day and rise with volatility.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

_ANNUAL_VOLATILITY = 0.55  # BTC's typical annualised volatility
_GARCH_ALPHA, _GARCH_BETA = 0.08, 0.90  # persistence 0.98: clusters of a few hundred bars
_STUDENT_DOF = 5.0
_BTC_PER_MINUTE = 0.4  # bitbank BTC/JPY traded volume, order of magnitude


def _hour_profile(hours: np.ndarray, amplitude: float, peak_hour_utc: float) -> np.ndarray:
    """A daily cycle with mean 1: busiest at `peak_hour_utc`, quietest 12 hours later."""
    return 1.0 + amplitude * np.cos(2.0 * np.pi * (hours - peak_hour_utc) / 24.0)


def _garch_returns(n_bars: int, bar_sigma: float, season: np.ndarray, rng) -> tuple:
    """Log returns r_t = sigma_t * season_t * z_t with GARCH(1,1) variance and Student-t z."""
    z = rng.standard_t(_STUDENT_DOF, n_bars) / np.sqrt(_STUDENT_DOF / (_STUDENT_DOF - 2.0))
    omega = bar_sigma**2 * (1.0 - _GARCH_ALPHA - _GARCH_BETA)
    variance = np.empty(n_bars)
    shock = np.empty(n_bars)
    current, previous_shock = bar_sigma**2, 0.0
    for t in range(n_bars):  # the recursion is sequential; 1e5 steps take ~0.1 s
        current = omega + _GARCH_ALPHA * previous_shock + _GARCH_BETA * current
        variance[t] = current
        previous_shock = current * z[t] * z[t]
        shock[t] = z[t]
    sigma = np.sqrt(variance)
    return sigma * season * shock, sigma * season


def generate_candles(
    n_bars: int,
    timeframe_minutes: int = 15,
    seed: int = 20240101,
    start: str = "2024-01-01",
    start_price_jpy: float = 1.0e7,
) -> pd.DataFrame:
    """`n_bars` OHLCV candles every `timeframe_minutes`, UTC index named `timestamp`."""
    rng = np.random.default_rng(seed)
    index = pd.date_range(
        start, periods=n_bars, freq=f"{timeframe_minutes}min", tz="UTC", name="timestamp"
    )
    hours = index.hour.to_numpy() + index.minute.to_numpy() / 60.0
    bars_per_year = 365 * 24 * 60 / timeframe_minutes
    bar_sigma = _ANNUAL_VOLATILITY / np.sqrt(bars_per_year)
    # Volatility peaks with the US session (~14 UTC), as BTC's does.
    season = np.sqrt(_hour_profile(hours, 0.35, 14.0))
    log_returns, sigma = _garch_returns(n_bars, bar_sigma, season, rng)

    close = np.round(start_price_jpy * np.exp(np.cumsum(log_returns)))
    open_ = np.r_[np.round(start_price_jpy), close[:-1]]
    wicks = np.abs(rng.normal(0.0, 0.6, (2, n_bars))) * sigma
    high = np.ceil(np.maximum(open_, close) * np.exp(wicks[0]))
    low = np.floor(np.minimum(open_, close) * np.exp(-wicks[1]))

    log_volume = (
        np.log(_BTC_PER_MINUTE * timeframe_minutes)
        + np.log(_hour_profile(hours, 0.4, 14.0))
        + 0.8 * np.log(sigma / bar_sigma)
        + 0.3 * np.abs(log_returns) / sigma
        + rng.normal(0.0, 0.5, n_bars)
    )
    volume = np.round(np.exp(log_volume), 4)
    return pd.DataFrame(
        {"open": open_, "high": high, "low": low, "close": close, "volume": volume}, index=index
    )


def plant_volume_signal(candles: pd.DataFrame, accuracy: np.ndarray, seed: int) -> pd.DataFrame:
    """The same candles whose bar t moves up after an above-median volume at t-1, down after a
    lower one, with probability `accuracy[t]` (0.5: no signal), so a signal can be switched on
    for part of the candles. Each bar keeps its GARCH move's size and its wicks' proportions,
    and the volumes are unchanged: only the directions are planted."""
    rng = np.random.default_rng(seed)
    open_, close = candles["open"].to_numpy(), candles["close"].to_numpy()
    sizes = np.abs(np.diff(np.log(close), prepend=np.log(open_[0])))
    high_volume = (candles["volume"] > candles["volume"].median()).to_numpy()
    follows = rng.random(len(candles)) < accuracy
    direction = np.where(np.r_[False, high_volume[:-1]] == follows, 1.0, -1.0)
    new_close = np.round(open_[0] * np.exp(np.cumsum(sizes * direction)))
    new_open = np.r_[open_[0], new_close[:-1]]
    upper_wick = candles["high"].to_numpy() / np.maximum(open_, close)
    lower_wick = np.minimum(open_, close) / candles["low"].to_numpy()
    return candles.assign(
        open=new_open,
        high=np.ceil(np.maximum(new_open, new_close) * upper_wick),
        low=np.floor(np.minimum(new_open, new_close) / lower_wick),
        close=new_close,
    )
