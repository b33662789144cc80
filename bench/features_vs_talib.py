"""FeatureManager.generate_features against TA-Lib computing the same indicators.

Both sides start from the same validated candle frame and end with the same 12-column float64
DataFrame, so the ratio compares like with like. FeatureManager also validates its input
(validate_candles); that part is timed on its own too, so the report shows how much of the
ratio is validation and how much is the indicator maths.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
import talib

from src.data.schema import validate_candles
from src.features.feature_manager import FEATURE_NAMES, WARMUP_BARS, FeatureManager


def talib_features(candles: pd.DataFrame) -> pd.DataFrame:
    """The same 12 columns from TA-Lib: RSI, MACD, ATR, BBANDS, EMA20/50, SMA/STDDEV, SMA(vol)."""
    high, low, close, volume = (candles[c].to_numpy() for c in ("high", "low", "close", "volume"))
    macd, macd_signal, _ = talib.MACD(close, 12, 26, 9)
    upper, _, lower = talib.BBANDS(close, 20, 2.0, 2.0)
    mean, std = talib.SMA(close, 20), talib.STDDEV(close, 20, 1.0)
    columns = {
        "close": close,
        "volume": volume,
        "returns_1": np.r_[np.nan, close[1:] / close[:-1] - 1.0],
        "rsi_14": talib.RSI(close, 14),
        "macd": macd,
        "macd_signal": macd_signal,
        "atr_14": talib.ATR(high, low, close, 14),
        "bb_position": (close - lower) / (upper - lower),
        "ema_20": talib.EMA(close, 20),
        "ema_50": talib.EMA(close, 50),
        "zscore": (close - mean) / std,
        "volume_ratio": volume / talib.SMA(volume, 20),
    }
    return pd.DataFrame(
        {name: columns[name][WARMUP_BARS:] for name in FEATURE_NAMES},
        index=candles.index[WARMUP_BARS:],
        copy=False,
    )


def _interleaved(functions: dict, argument, repeats: int) -> dict[str, dict[str, float]]:
    """Median wall and CPU seconds per function, calling them in turn each repeat.

    CPU time (time.process_time) does not count the time another process holds the CPU, so it
    is the figure to trust on a busy machine; wall time is kept alongside.
    """
    samples = {name: ([], []) for name in functions}
    for function in functions.values():
        function(argument)  # warm-up: imports, caches
    for _ in range(repeats):
        for name, function in functions.items():
            wall, cpu = time.perf_counter(), time.process_time()
            function(argument)
            samples[name][1].append(time.process_time() - cpu)
            samples[name][0].append(time.perf_counter() - wall)
    return {
        name: {"wall_s": statistics.median(walls), "cpu_s": statistics.median(cpus)}
        for name, (walls, cpus) in samples.items()
    }


@dataclass
class FeatureTiming:
    feature_manager_s: float  # CPU-time medians
    validate_candles_s: float
    talib_s: float
    feature_manager_wall_s: float  # wall-time medians of the same calls
    talib_wall_s: float
    max_abs_rel_diff: float  # FeatureManager vs TA-Lib, relative to each column's largest value
    repeats: int

    @property
    def ratio(self) -> float:
        return self.feature_manager_s / self.talib_s

    @property
    def wall_ratio(self) -> float:
        return self.feature_manager_wall_s / self.talib_wall_s


def measure_features(candles: pd.DataFrame, repeats: int = 21) -> FeatureTiming:
    manager = FeatureManager()
    ours = manager.generate_features(candles)
    theirs = talib_features(candles)
    both = ours.to_numpy(), theirs.to_numpy()
    defined = np.isfinite(both[1]) & (both[1] != 0.0)
    # Relative to the column scale: MACD crosses zero, so a pointwise ratio would blow up there.
    scale = np.nanmax(np.abs(both[1]), axis=0)
    difference = np.abs(both[0] - both[1]) / scale
    timings = _interleaved(
        {
            "feature_manager": manager.generate_features,
            "validate_candles": validate_candles,
            "talib": talib_features,
        },
        candles,
        repeats,
    )
    return FeatureTiming(
        feature_manager_s=timings["feature_manager"]["cpu_s"],
        validate_candles_s=timings["validate_candles"]["cpu_s"],
        talib_s=timings["talib"]["cpu_s"],
        feature_manager_wall_s=timings["feature_manager"]["wall_s"],
        talib_wall_s=timings["talib"]["wall_s"],
        max_abs_rel_diff=float(np.max(difference[defined])),
        repeats=repeats,
    )
