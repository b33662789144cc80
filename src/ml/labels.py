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
    labels[future_return.isna() | ~_exact_span(close.index, horizon, ahead=True)] = np.nan
    return labels.rename("label")


def past_move_up(close: pd.Series, horizon: int, threshold: float) -> pd.Series:
    """1.0 where the last `horizon` bars rose by more than `threshold` (known at the bar's close),
    0.0 where not, NaN where that move spans a gap in the candles or starts before them, as the
    labels are NaN across gaps."""
    past_return = close / close.shift(horizon) - 1.0
    moves = (past_return > threshold).astype("float64")
    moves[~_exact_span(close.index, horizon, ahead=False)] = np.nan
    return moves.rename("past_move_up")


def bar_step(index: pd.DatetimeIndex) -> float:
    """The timeframe read off the data: the median step between timestamps, in the index's own
    unit (ns, us, ...: pandas 3 reads CSV times as us)."""
    return float(np.median(np.diff(index.asi8)))


def _exact_span(index: pd.DatetimeIndex, horizon: int, ahead: bool) -> np.ndarray:
    """Per bar: whether the bar `horizon` rows ahead (or back) is exactly `horizon` bars away;
    False where there is no such row."""
    exact = np.zeros(len(index), dtype=bool)
    if len(index) > horizon:
        spans = index.asi8[horizon:] - index.asi8[:-horizon] == horizon * bar_step(index)
        if ahead:
            exact[:-horizon] = spans
        else:
            exact[horizon:] = spans
    return exact


def build_dataset(
    candles: pd.DataFrame, horizon: int, threshold: float
) -> tuple[pd.DataFrame, pd.Series]:
    """Features from FeatureManager and aligned labels, without the warm-up and unlabeled rows."""
    features = FeatureManager().generate_features(candles)
    labels = make_labels(candles["close"], horizon, threshold).reindex(features.index)
    known = labels.notna().to_numpy()
    return features.loc[known], labels[known].astype("int64")
