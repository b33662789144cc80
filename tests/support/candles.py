"""Generated candles with a planted, tradeable signal, for the ML, replay and CLI tests."""

from __future__ import annotations

import numpy as np
import pandas as pd

from src.data.synthetic import generate_sample_market_data


def make_planted_candles(
    n_bars: int, seed: int, accuracy: float = 0.85, move_size: float = 0.01
) -> pd.DataFrame:
    """Candles whose next move follows the current bar's volume: up after an above-median volume,
    down otherwise, with probability `accuracy`. The signal is known at t (volume, volume_ratio),
    while the previous move says nothing, so momentum and reversal stay at chance. Moves are
    ~`move_size` (typical size 0.8%), large next to bitbank's 0.28% round-trip cost, so the
    signal is tradeable after fees too. `accuracy` may be one per bar (a signal that switches
    on or off)."""
    candles = generate_sample_market_data(n_bars, seed=seed)
    rng = np.random.default_rng(seed + 1)
    high_volume = (candles["volume"] > candles["volume"].median()).to_numpy()
    follows = rng.random(n_bars) < accuracy
    direction = np.where(np.r_[False, high_volume[:-1]] == follows, 1.0, -1.0)
    close = 10_000_000.0 * np.exp(np.cumsum(np.abs(rng.normal(0.0, move_size, n_bars)) * direction))
    open_ = np.r_[10_000_000.0, close[:-1]]
    return candles.assign(
        open=open_,
        close=close,
        high=np.maximum(open_, close) * 1.0005,
        low=np.minimum(open_, close) * 0.9995,
    )


def make_bounce_candles(
    n_bars: int,
    spread: float,
    seed: int,
    volatility: float = 0.002,
    trades_per_bar: int = 30,
    signal_accuracy: float = 0.5,
    signal_move: float = 0.0,
    timeframe: str = "5min",
) -> pd.DataFrame:
    """Candles of a market whose trades print at the bid or the ask (mid x (1 -/+ spread / 2)),
    each side with probability 1/2: open, high, low and close are the bar's first, highest,
    lowest and last trade. The mid price is a random walk (`volatility` per bar, log); with a
    `signal_move`, each bar's mid also drifts by that much, up after an above-median volume
    bar and down otherwise, with probability `signal_accuracy` (a planted, tradeable edge, as
    in `make_planted_candles`). Without one nothing is predictable beyond the bounce, and the
    bounce is not money."""
    rng = np.random.default_rng(seed)
    volume = rng.lognormal(1.0, 0.5, n_bars)
    high_volume = volume > np.median(volume)
    follows = rng.random(n_bars) < signal_accuracy
    direction = np.where(np.r_[False, high_volume[:-1]] == follows, 1.0, -1.0)
    steps = rng.normal(0.0, volatility / np.sqrt(trades_per_bar), (n_bars, trades_per_bar))
    steps += (direction * signal_move / trades_per_bar)[:, None]
    mid = 10_000_000.0 * np.exp(np.cumsum(steps.ravel())).reshape(n_bars, trades_per_bar)
    side = rng.integers(0, 2, (n_bars, trades_per_bar)) - 0.5  # -0.5 at the bid, +0.5 at the ask
    trades = mid * (1.0 + spread * side)
    index = pd.date_range("2025-01-01", periods=n_bars, freq=timeframe, tz="UTC", name="timestamp")
    return pd.DataFrame(
        {
            "open": trades[:, 0],
            "high": trades.max(axis=1),
            "low": trades.min(axis=1),
            "close": trades[:, -1],
            "volume": volume,
        },
        index=index,
    )
