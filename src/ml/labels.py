"""Binary next-move labels and the feature/label dataset (the unlabeled tail is dropped)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from src.features.feature_manager import FeatureManager


def make_labels(close: pd.Series, horizon: int, threshold: float) -> pd.Series:
    """1.0 when close `horizon` bars ahead exceeds today's close by more than `threshold`, else 0.0.

    The last `horizon` rows have no future close yet: they are NaN, never a guessed 0. So are
    rows whose `horizon` bars ahead straddle a gap in the candles (e.g. exchange maintenance):
    "one bar ahead" across a two-hour hole is a different question, not a label.
    """
    future_return = close.shift(-horizon) / close - 1.0
    labels = (future_return > threshold).astype("float64")
    labels[future_return.isna() | _straddles_gap(close.index, horizon)] = np.nan
    return labels.rename("label")


def _straddles_gap(index: pd.DatetimeIndex, horizon: int) -> np.ndarray:
    if len(index) <= horizon:
        return np.zeros(len(index), dtype=bool)
    steps = np.diff(index.asi8)
    bar = np.median(steps)  # the timeframe, read off the data itself
    span = index.asi8[horizon:] - index.asi8[:-horizon]
    return np.r_[span != horizon * bar, np.zeros(horizon, dtype=bool)]


def build_dataset(
    candles: pd.DataFrame, horizon: int, threshold: float
) -> tuple[pd.DataFrame, pd.Series]:
    """Features from FeatureManager and aligned labels, without the warm-up and unlabeled rows."""
    features = FeatureManager().generate_features(candles)
    labels = make_labels(candles["close"], horizon, threshold).reindex(features.index)
    known = labels.notna().to_numpy()
    return features.loc[known], labels[known].astype("int64")
