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
