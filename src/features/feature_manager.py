"""The 12 model features, computed the same way in training and in inference.

`FeatureManager().generate_features(candles)` validates OHLCV candles and returns, in
`FEATURE_NAMES` order, float64 columns that agree with TA-Lib (RSI, MACD, ATR, BBANDS, EMA, SMA,
STDDEV) to ~1e-12 relative, because TA-Lib's seeding is copied rather than waited out.

Warm-up policy (training and inference alike): the first `WARMUP_BARS` = 49 rows are DROPPED, so
every returned row is defined and NaN-free. 49 is TA-Lib's lookback of EMA(50), the longest one.

No look-ahead: row t depends only on bars <= t, so features of a prefix equal the same rows of
the whole. They do depend on where the history starts: EMAs and Wilder averages are seeded with
the mean of their first values and forget that seed geometrically. Measured on the sample
candles (5m, 1m and generated), ema_50 needs up to ~280 bars of history to agree with a longer
history to 1e-6 relative (rsi_14 and atr_14 ~195, macd_signal ~150 at 1e-6 of the price), so
inference should pass at least 300 bars, better a few hundred more. The 20-bar columns only
move by rounding (~1e-13).

Degenerate cases, never NaN or inf:
- flat 20 bars (zero Bollinger width): bb_position 0.5 and zscore 0.0 (TA-Lib gives NaN);
- SMA20(volume) == 0: volume_ratio 1.0;
- no gain and no loss since the start (all flat): rsi_14 50.0, neutral (TA-Lib gives 0.0).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.signal import lfilter

from src.data.schema import validate_candles
from src.features.contract import (
    FEATURE_MANAGER_VERSION,
    FEATURE_NAMES,
    VERSION_ATTR,
    WARMUP_BARS,
)
from src.features.errors import FeatureError

_WILDER_PERIOD = 14
_MACD_FAST, _MACD_SLOW, _MACD_SIGNAL = 12, 26, 9
_BAND_WINDOW, _BAND_SIGMAS = 20, 2.0
_INPUT_COLUMNS = ("high", "low", "close", "volume")

# Every helper below returns its values from its first defined bar to the last bar, so all of
# them end on the last candle and the frame keeps the last len(candles) - WARMUP_BARS of each.


def _seeded_recursion(values: np.ndarray, period: int, alpha: float) -> np.ndarray:
    """y = alpha * x + (1 - alpha) * y_prev, seeded as TA-Lib does: y[period-1] = mean(x[:period]).

    lfilter runs the recursion in C from index period - 1 on; its initial state is chosen so
    that its first output is that seed (to the last bit or so).
    """
    seed = values[:period].mean()
    initial_state = [seed - alpha * values[period - 1]]
    smoothed, _ = lfilter([alpha], [1.0, alpha - 1.0], values[period - 1 :], zi=initial_state)
    return smoothed


def _ema(values: np.ndarray, period: int) -> np.ndarray:
    return _seeded_recursion(values, period, 2.0 / (period + 1))


def _wilder(values: np.ndarray) -> np.ndarray:
    return _seeded_recursion(values, _WILDER_PERIOD, 1.0 / _WILDER_PERIOD)


def _rsi(close: np.ndarray) -> np.ndarray:
    change = np.diff(close)
    gain = np.maximum(change, 0.0)
    average_gain, average_loss = _wilder(gain), _wilder(gain - change)  # = max(-change, 0)
    total = average_gain + average_loss
    neutral = np.full_like(total, 0.5)
    return 100.0 * np.divide(average_gain, total, out=neutral, where=total != 0.0)


def _macd(close: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # TA-Lib's ta_MACD starts both EMAs at the slow one's seed bar (25): the fast EMA is seeded
    # with the mean of the 12 closes ENDING there (close[14:26]), not of close[0:12] as a
    # stand-alone EMA(12) is; the signal is then seeded with the mean of macd[25:34].
    fast = _ema(close[_MACD_SLOW - _MACD_FAST :], _MACD_FAST)
    macd = fast - _ema(close, _MACD_SLOW)
    return macd, _ema(macd, _MACD_SIGNAL)


def _atr(high: np.ndarray, low: np.ndarray, close: np.ndarray) -> np.ndarray:
    # max(h, prev) - min(l, prev) equals TA-Lib's max(h - l, |h - prev|, |l - prev|) bit for bit.
    previous = close[:-1]
    return _wilder(np.maximum(high[1:], previous) - np.minimum(low[1:], previous))


def _rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sums of `window` consecutive values, one per complete window.

    Built from power-of-two block sums (pairwise, ~log2(window) vector adds), not from a running
    or cumulative sum whose rounding error grows with the length of the series.
    """
    total, covered, block, size = None, 0, values, 1
    while True:
        if window & size:
            head = block[: block.size - covered]
            total = head if total is None else head + total[size:]
            covered += size
        if 2 * size > window:
            return total
        block = block[:-size] + block[size:]
        size *= 2


def _deviation_from_anchor(close: np.ndarray, window: int, offset: int) -> np.ndarray:
    """close minus its block's anchor: blocks of 2 * window bars start at `offset` (the first one
    padded), and the anchor is bar window - 1 of the block, inside every window that the block
    serves (those ending at its bars window - 1 .. 2 * window - 2)."""
    size, block = close.size, 2 * window
    head, tail = np.full(offset, close[0]), np.full(-(size + offset) % block, close[-1])
    blocks = np.concatenate([head, close, tail]).reshape(-1, block)
    return (blocks - blocks[:, window - 1 : window]).ravel()[offset : offset + size]


def _band_features(close: np.ndarray, volume: np.ndarray) -> tuple[np.ndarray, ...]:
    """zscore, bb_position and volume_ratio over the last 20 bars (population std, as TA-Lib).

    mean(x^2) - mean(x)^2 cancels catastrophically when the band is narrow next to the price (or
    next to a jump shortly before), so each window is measured from a close inside it: two tilings
    of 40-bar blocks, offset by 20, each serving 20 of every 40 consecutive windows. The relative
    error of the variance then stays within ~100 ulps whatever the data, and a flat window gives
    exactly zero.
    """
    window = _BAND_WINDOW
    tilings = []
    for offset in (0, window):
        deviation = _deviation_from_anchor(close, window, offset)
        square_sum = _rolling_sum(deviation * deviation, window)
        tilings.append((deviation[window - 1 :], _rolling_sum(deviation, window), square_sum))
    # Of every 40 consecutive windows the first 20 fit the first tiling's blocks, the rest the
    # second's (windows are numbered from the first complete one, ending at bar 19).
    pattern = np.arange(2 * window) < window
    first_tiling = np.tile(pattern, -(-close.size // pattern.size))[: close.size - window + 1]
    picked = (np.where(first_tiling, a, b) for a, b in zip(*tilings, strict=True))
    close_dev, dev_sum, square_sum = picked
    mean_dev, mean_square = dev_sum / window, square_sum / window
    close_dev -= mean_dev
    std = np.sqrt(mean_square - mean_dev * mean_dev)
    zscore = np.divide(close_dev, std, out=np.zeros_like(std), where=std > 0.0)
    # (close - lower) / (upper - lower) with bands at mean +- 2 std is 0.5 + zscore / 4.
    bb_position = 0.5 + zscore / (2.0 * _BAND_SIGMAS)
    mean_volume = _rolling_sum(volume, window) / window
    volume_ratio = np.divide(
        volume[window - 1 :], mean_volume, out=np.ones_like(std), where=mean_volume > 0.0
    )
    return zscore, bb_position, volume_ratio


def _feature_columns(candles: pd.DataFrame) -> dict[str, np.ndarray]:
    # One to_numpy() of the float64 candles is far cheaper than building a Series per column.
    rows = candles.to_numpy().T
    high, low, close, volume = (rows[candles.columns.get_loc(c)] for c in _INPUT_COLUMNS)
    macd, macd_signal = _macd(close)
    zscore, bb_position, volume_ratio = _band_features(close, volume)
    return {
        # Copies: to_numpy() may give read-only views of the candles; the frame must be writable.
        "close": close.copy(),
        "volume": volume.copy(),
        "returns_1": close[1:] / close[:-1] - 1.0,
        "rsi_14": _rsi(close),
        "macd": macd,
        "macd_signal": macd_signal,
        "atr_14": _atr(high, low, close),
        "bb_position": bb_position,
        "ema_20": _ema(close, 20),
        "ema_50": _ema(close, 50),
        "zscore": zscore,
        "volume_ratio": volume_ratio,
    }


def _check_finite(columns: dict[str, np.ndarray], index: pd.DatetimeIndex) -> None:
    """Refuse to hand on NaN or inf: the models would crash on it or learn from garbage.

    Validated candles stay inside the bounds that keep every feature finite, so this is the
    guard that a formula or a bound changed without the other.
    """
    for name in FEATURE_NAMES:
        finite = np.isfinite(columns[name])
        if not finite.all():
            row = int(np.flatnonzero(~finite)[0])
            raise FeatureError(
                f"feature {name} is {columns[name][row]} at {index[row]} "
                f"({int((~finite).sum())} non-finite value(s)); the candles' magnitudes cannot be "
                "computed on safely: rescale the prices and volumes"
            )


class FeatureManager:
    """Turns OHLCV candles into the model's feature frame (see the module docstring)."""

    feature_manager_version = FEATURE_MANAGER_VERSION
    warmup_bars = WARMUP_BARS

    def __init__(self) -> None:
        self.feature_names = list(FEATURE_NAMES)
        self.version = FEATURE_MANAGER_VERSION

    def generate_features(self, market_df: pd.DataFrame) -> pd.DataFrame:
        """Features indexed by the candles' timestamps, without the first `WARMUP_BARS` rows.

        Raises `CandleValidationError` for bad candles, and `FeatureError` for too few of them or
        for features that would not be finite.
        """
        candles = validate_candles(market_df)
        kept = len(candles) - WARMUP_BARS
        if kept < 1:
            raise FeatureError(
                f"need at least {WARMUP_BARS + 1} candles for the warm-up, got {len(candles)}; "
                "fetch a longer period"
            )
        columns = {name: values[-kept:] for name, values in _feature_columns(candles).items()}
        _check_finite(columns, candles.index[WARMUP_BARS:])
        # copy=False keeps the 12 arrays as they are instead of copying them into one block.
        features = pd.DataFrame(
            {name: columns[name] for name in FEATURE_NAMES},
            index=candles.index[WARMUP_BARS:],
            copy=False,
        )
        features.attrs[VERSION_ATTR] = FEATURE_MANAGER_VERSION
        return features
