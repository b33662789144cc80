"""FeatureManager: TA-Lib agreement, no look-ahead, output contract, bad input, flat markets."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.lib.stride_tricks import sliding_window_view

from src.data.errors import CandleValidationError
from src.data.synthetic import generate_sample_market_data
from src.features.errors import FeatureError
from src.features.feature_manager import (
    FEATURE_MANAGER_VERSION,
    FEATURE_NAMES,
    WARMUP_BARS,
    FeatureManager,
)


@dataclass(frozen=True)
class Bars:
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    @classmethod
    def of(cls, candles: pd.DataFrame) -> Bars:
        return cls(*(candles[k].to_numpy(float) for k in ("high", "low", "close", "volume")))


def _sma20_numpy(values: np.ndarray) -> np.ndarray:
    return np.r_[np.full(19, np.nan), sliding_window_view(values, 20).mean(axis=1)]


def _bb_position(bars: Bars) -> np.ndarray:
    upper, _, lower = talib.BBANDS(bars.close, timeperiod=20, nbdevup=2.0, nbdevdn=2.0)
    return (bars.close - lower) / (upper - lower)


# Each reference returns full-length arrays (NaN in TA-Lib's lookback): TA-Lib where it has the
# indicator, plain numpy otherwise.
REFERENCES = {
    "close": lambda b: b.close,
    "volume": lambda b: b.volume,
    "returns_1": lambda b: np.r_[np.nan, b.close[1:] / b.close[:-1] - 1.0],
    "rsi_14": lambda b: talib.RSI(b.close, timeperiod=14),
    "macd": lambda b: talib.MACD(b.close, 12, 26, 9)[0],
    "macd_signal": lambda b: talib.MACD(b.close, 12, 26, 9)[1],
    "atr_14": lambda b: talib.ATR(b.high, b.low, b.close, timeperiod=14),
    "bb_position": _bb_position,
    "ema_20": lambda b: talib.EMA(b.close, timeperiod=20),
    "ema_50": lambda b: talib.EMA(b.close, timeperiod=50),
    "zscore": lambda b: (b.close - talib.SMA(b.close, 20)) / talib.STDDEV(b.close, 20, 1.0),
    "volume_ratio": lambda b: b.volume / _sma20_numpy(b.volume),
}
# Columns that cross zero get an absolute tolerance on their own scale (price for the MACD).
CROSSES_ZERO_PRICE_SCALED = {"macd", "macd_signal"}
CROSSES_ZERO_UNIT_SCALED = {"bb_position", "zscore"}


def _absolute_tolerance(name: str, close: np.ndarray) -> float:
    if name in CROSSES_ZERO_PRICE_SCALED:
        return 1e-10 * float(np.median(close))
    if name in CROSSES_ZERO_UNIT_SCALED:
        return 1e-9
    return 0.0


@pytest.mark.parametrize("name", FEATURE_NAMES)
def test_feature_matches_talib_after_warmup(candle_set: pd.DataFrame, name: str) -> None:
    features = FeatureManager().generate_features(candle_set)
    bars = Bars.of(candle_set)

    expected = REFERENCES[name](bars)[WARMUP_BARS:]

    np.testing.assert_allclose(
        features[name].to_numpy(), expected, rtol=1e-6, atol=_absolute_tolerance(name, bars.close)
    )


def test_zscore_stays_accurate_when_the_band_is_narrow_next_to_the_price() -> None:
    # Price levels from 1 to 1000, jumping every 30 bars, with noise ~1e-8 of the price: the
    # band is ~1e-8 wide, so mean(x^2) - mean(x)^2 over raw prices, or over deviations from a
    # close before a recent jump, loses every digit. The exact two-pass population std is the
    # reference (exact to ~1e-8 here: its mean is off by ~1e-16 of the price).
    rng = np.random.default_rng(5)
    levels = np.repeat(np.geomspace(1.0, 1000.0, 20), 30)
    close = levels * (1.0 + 1e-8 * rng.standard_normal(levels.size))
    candles = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 1.0},
        index=pd.date_range("2025-01-01", periods=close.size, freq="1min", tz="UTC"),
    )
    windows = sliding_window_view(close, 20)
    exact = (close[19:] - windows.mean(axis=1)) / windows.std(axis=1)

    features = FeatureManager().generate_features(candles)

    np.testing.assert_allclose(features["zscore"], exact[WARMUP_BARS - 19 :], rtol=1e-6, atol=1e-6)


@settings(max_examples=50, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_bars=st.integers(WARMUP_BARS + 11, 400),
    cut_fraction=st.floats(0.0, 1.0),
)
def test_prefix_gives_the_same_rows_no_look_ahead(
    seed: int, n_bars: int, cut_fraction: float
) -> None:
    candles = generate_sample_market_data(n_bars=n_bars, seed=seed)
    cut = WARMUP_BARS + 1 + round(cut_fraction * (n_bars - WARMUP_BARS - 1))
    manager = FeatureManager()

    whole = manager.generate_features(candles)
    prefix = manager.generate_features(candles.iloc[:cut])

    pd.testing.assert_frame_equal(prefix, whole.iloc[: cut - WARMUP_BARS], check_exact=True)


def test_output_contract(small_candles: pd.DataFrame) -> None:
    features = FeatureManager().generate_features(small_candles)

    assert list(features.columns) == list(FEATURE_NAMES)
    assert (features.dtypes == np.float64).all()
    assert np.isfinite(features.to_numpy()).all()
    assert len(features) == len(small_candles) - WARMUP_BARS
    pd.testing.assert_index_equal(features.index, small_candles.index[WARMUP_BARS:])
    assert features.attrs["feature_manager_version"] == FEATURE_MANAGER_VERSION


def test_features_are_writable_and_share_no_memory_with_the_candles(
    small_candles: pd.DataFrame,
) -> None:
    original = small_candles.copy()
    features = FeatureManager().generate_features(small_candles)
    expected = features.copy()

    small_candles.iloc[:, :] = 1.0
    pd.testing.assert_frame_equal(features, expected)

    features.iloc[:, :] = 0.0
    pd.testing.assert_frame_equal(FeatureManager().generate_features(original), expected)


def test_public_constants_and_attributes() -> None:
    manager = FeatureManager()

    assert FEATURE_NAMES == (
        "close", "volume", "returns_1", "rsi_14", "macd", "macd_signal", "atr_14",
        "bb_position", "ema_20", "ema_50", "zscore", "volume_ratio",
    )  # fmt: skip
    assert manager.feature_names == list(FEATURE_NAMES)
    assert manager.version == FeatureManager.feature_manager_version == FEATURE_MANAGER_VERSION
    assert FeatureManager.warmup_bars == WARMUP_BARS == 49
    assert isinstance(FEATURE_MANAGER_VERSION, str)


def test_timestamp_column_gives_the_same_features_as_the_index(
    small_candles: pd.DataFrame,
) -> None:
    as_column = small_candles.reset_index()
    manager = FeatureManager()

    # Only the index's `freq` attribute may differ: a parsed column carries none.
    pd.testing.assert_frame_equal(
        manager.generate_features(as_column),
        manager.generate_features(small_candles),
        check_freq=False,
    )


def test_shortest_history_gives_one_row(small_candles: pd.DataFrame) -> None:
    features = FeatureManager().generate_features(small_candles.iloc[: WARMUP_BARS + 1])

    assert features.index.tolist() == [small_candles.index[WARMUP_BARS]]


def _empty(candles: pd.DataFrame) -> pd.DataFrame:
    return candles.iloc[:0]


def _without_volume(candles: pd.DataFrame) -> pd.DataFrame:
    return candles.drop(columns="volume")


def _text_close(candles: pd.DataFrame) -> pd.DataFrame:
    candles = candles.astype({"close": object})
    candles.iloc[60, candles.columns.get_loc("close")] = "abc"
    return candles


def _negative_low(candles: pd.DataFrame) -> pd.DataFrame:
    candles.iloc[60, candles.columns.get_loc("low")] = -1.0
    return candles


def _high_below_low(candles: pd.DataFrame) -> pd.DataFrame:
    candles.iloc[60, candles.columns.get_loc("high")] = candles["low"].iloc[60] * 0.99
    return candles


def _unsorted(candles: pd.DataFrame) -> pd.DataFrame:
    order = np.arange(len(candles))
    order[[60, 61]] = [61, 60]
    return candles.iloc[order]


def _duplicated(candles: pd.DataFrame) -> pd.DataFrame:
    index = candles.index.to_numpy().copy()
    index[61] = index[60]
    return candles.set_axis(pd.DatetimeIndex(index, name="timestamp"))


def _prices_times_1e300(candles: pd.DataFrame) -> pd.DataFrame:
    candles[["open", "high", "low", "close"]] *= 1e300
    return candles


def _too_short(candles: pd.DataFrame) -> pd.DataFrame:
    return candles.iloc[:WARMUP_BARS]


BAD_INPUTS = [
    ("empty frame", _empty, CandleValidationError, r"empty"),
    ("missing column", _without_volume, CandleValidationError, r"missing column.*volume"),
    ("non-numeric price", _text_close, CandleValidationError, r"row 60 .*non-numeric.*'abc'"),
    ("negative price", _negative_low, CandleValidationError, r"row 60 .*non-positive low"),
    ("high below low", _high_below_low, CandleValidationError, r"row 60 .*high < low"),
    ("unsorted timestamps", _unsorted, CandleValidationError, r"row 61 .*unsorted"),
    ("duplicated timestamps", _duplicated, CandleValidationError, r"row 61 .*duplicated"),
    ("overflowing prices", _prices_times_1e300, CandleValidationError, r"row 0 .*above 1e\+30"),
    ("too few rows", _too_short, FeatureError, r"need at least 50 candles.*got 49.*longer"),
]


@pytest.mark.parametrize(
    ("spoil", "error", "message"),
    [case[1:] for case in BAD_INPUTS],
    ids=[case[0] for case in BAD_INPUTS],
)
def test_bad_input_gets_an_error_naming_the_problem(
    small_candles: pd.DataFrame, spoil, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        FeatureManager().generate_features(spoil(small_candles.copy()))


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_non_finite_features_are_refused_not_handed_on(
    small_candles: pd.DataFrame, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Without the magnitude bound, prices x1e300 (~1e307) overflow the EMAs and the variance.
    monkeypatch.setattr("src.data.schema.MAX_MAGNITUDE", np.inf)
    candles = _prices_times_1e300(small_candles.copy())

    with pytest.raises(FeatureError, match=r"feature macd is -inf at .*rescale the prices"):
        FeatureManager().generate_features(candles)


def test_feature_errors_are_value_errors() -> None:
    assert issubclass(FeatureError, ValueError)
    assert issubclass(CandleValidationError, ValueError)


def test_flat_market_gives_the_documented_neutral_values() -> None:
    index = pd.date_range("2025-01-01", periods=80, freq="15min", tz="UTC")
    flat = pd.DataFrame(
        {"open": 5.0, "high": 5.0, "low": 5.0, "close": 5.0, "volume": 0.0}, index=index
    )

    features = FeatureManager().generate_features(flat)

    assert np.isfinite(features.to_numpy()).all()
    expected = {
        "returns_1": 0.0, "rsi_14": 50.0, "macd": 0.0, "macd_signal": 0.0, "atr_14": 0.0,
        "bb_position": 0.5, "ema_20": 5.0, "ema_50": 5.0, "zscore": 0.0, "volume_ratio": 1.0,
    }  # fmt: skip
    for name, value in expected.items():
        np.testing.assert_array_equal(features[name], value, err_msg=name)


def test_flat_stretch_after_moves_gives_a_neutral_band(small_candles: pd.DataFrame) -> None:
    candles = small_candles.copy()
    last_price = candles["close"].iloc[89]
    candles.iloc[90:, :4] = last_price  # open, high, low, close flat from bar 90 on
    candles.iloc[90:, 4] = 0.0  # and no trading

    features = FeatureManager().generate_features(candles)
    flat_rows = features.iloc[90 + 19 - WARMUP_BARS :]

    assert np.isfinite(features.to_numpy()).all()
    np.testing.assert_array_equal(flat_rows["bb_position"], 0.5)
    np.testing.assert_array_equal(flat_rows["zscore"], 0.0)
    np.testing.assert_array_equal(flat_rows["volume_ratio"], 1.0)
