"""Labels look exactly `horizon` bars ahead; the dataset drops warm-up and unlabeled rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.data.synthetic import generate_sample_market_data
from src.features.feature_manager import WARMUP_BARS, FeatureManager
from src.ml.labels import build_dataset, make_labels, past_move_up

# close[t+h] / close[t] - 1, by hand:
#   h=1: +0.4%, +0.598%, -0.990%, +1.0%, 0.0%, then 1 unknown
#   h=3: 0.0% (100/100), +0.598% (101/100.4), 0.0% (101/101), then 3 unknown
CLOSE = [100.0, 100.4, 101.0, 100.0, 101.0, 101.0]


def _close() -> pd.Series:
    index = pd.date_range("2025-01-01", periods=len(CLOSE), freq="15min", tz="UTC")
    return pd.Series(CLOSE, index=index, name="close")


@pytest.mark.parametrize(
    ("horizon", "threshold", "expected"),
    [
        (1, 0.0, [1, 1, 0, 1, 0, np.nan]),  # a flat move (101 -> 101) is not "up"
        (1, 0.005, [0, 1, 0, 1, 0, np.nan]),  # +0.4% does not clear a +0.5% threshold
        (3, 0.0, [0, 1, 0, np.nan, np.nan, np.nan]),
        (3, 0.005, [0, 1, 0, np.nan, np.nan, np.nan]),
        (3, 0.006, [0, 0, 0, np.nan, np.nan, np.nan]),
    ],
)
def test_make_labels_by_hand(horizon, threshold, expected):
    labels = make_labels(_close(), horizon, threshold)

    np.testing.assert_array_equal(labels.to_numpy(), np.array(expected, dtype="float64"))
    assert labels.name == "label"
    assert labels.index.equals(_close().index)


@pytest.mark.parametrize("horizon", [1, 3, 7])
def test_exactly_the_last_horizon_rows_are_unknown(horizon):
    close = generate_sample_market_data(40, seed=1)["close"]

    labels = make_labels(close, horizon, 0.0)

    assert labels.iloc[-horizon:].isna().all()
    assert labels.iloc[:-horizon].notna().all()


@pytest.mark.parametrize("horizon", [1, 3])
def test_build_dataset_drops_warmup_and_unlabeled_tail(horizon):
    candles = generate_sample_market_data(200, seed=2)

    X, y = build_dataset(candles, horizon, 0.0)

    assert X.index[0] == candles.index[WARMUP_BARS]
    assert X.index[-1] == candles.index[-1 - horizon]
    assert len(X) == len(candles) - WARMUP_BARS - horizon


@pytest.mark.parametrize(("horizon", "threshold"), [(1, 0.0), (3, 0.001)])
def test_build_dataset_aligns_features_and_labels_on_one_index(horizon, threshold):
    candles = generate_sample_market_data(200, seed=3)

    X, y = build_dataset(candles, horizon, threshold)

    assert X.index.equals(y.index)
    assert y.dtype == "int64"
    features = FeatureManager().generate_features(candles)
    pd.testing.assert_frame_equal(X, features.loc[X.index])
    # Each label is the move from that row's own close, not a neighbour's.
    future = candles["close"].shift(-horizon).loc[X.index]
    expected = (future / X["close"] - 1.0 > threshold).astype("int64")
    np.testing.assert_array_equal(y.to_numpy(), expected.to_numpy())
    assert 0 < y.mean() < 1


@pytest.mark.parametrize("horizon", [1, 2])
def test_labels_across_a_gap_in_the_candles_are_unknown(horizon):
    close = _close().drop(_close().index[3])  # bars at 0, 15, 30, 60, 75 minutes

    labels = make_labels(close, horizon, 0.0)

    # A label whose horizon spans the missing 45-minute bar is NaN, not a longer-range move.
    spans_gap = {1: [2], 2: [1, 2]}[horizon]
    unknown = set(spans_gap) | set(range(len(close) - horizon, len(close)))
    assert set(np.flatnonzero(labels.isna())) == unknown


@pytest.mark.parametrize("horizon", [1, 2])
def test_past_moves_across_a_gap_are_unknown_like_the_labels(horizon):
    close = _close().drop(_close().index[3])  # bars at 0, 15, 30, 60, 75 minutes

    moves = past_move_up(close, horizon, 0.0)

    # 100 -> 100.4 -> 101 | gap | 101 -> 101: the move into 60 min (and 75 for h=2) spans it.
    expected = {1: [np.nan, 1, 1, np.nan, 0], 2: [np.nan, np.nan, 1, np.nan, np.nan]}[horizon]
    np.testing.assert_array_equal(moves.to_numpy(), np.array(expected, dtype="float64"))
    # A past move at t is the label at t - horizon: the same question, asked later.
    labels = make_labels(close, horizon, 0.0)
    known = moves.notna().to_numpy()
    np.testing.assert_array_equal(moves[known], labels.shift(horizon)[known])
