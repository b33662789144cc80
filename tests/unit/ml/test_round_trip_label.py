"""training.label.threshold: round_trip — "up" means up by more than the training window's own
round-trip cost, so a model is taught moves a trade could keep, on both sides of the split."""

from __future__ import annotations

import numpy as np
import pytest

from src.config import ConfigError, with_overrides
from src.ml.costs import estimate_costs
from src.ml.run_metadata import _evaluation
from src.ml.training import train_models, training_window
from tests.support.candles import make_bounce_candles


@pytest.fixture(scope="module")
def bounce_set(generated_set):
    # A visible spread (0.2%) makes the round trip clearly above zero.
    return generated_set(make_bounce_candles(3_000, spread=0.002, seed=5, timeframe="15min"))


def test_round_trip_labels_are_moves_beyond_the_cost_read_off_the_training_window(
    bounce_set, small_settings
):
    settings = with_overrides(small_settings, training={"label": {"threshold": "round_trip"}})
    run = train_models(bounce_set, settings, progress=lambda message: None)
    candles = bounce_set.candles
    training_end = run.features.index[run.split.train_end - 1]
    per_side = estimate_costs(candles.loc[:training_end], settings.trading).per_side
    assert run.label_threshold == pytest.approx(2 * per_side)
    assert run.label_threshold == pytest.approx(2 * run.costs.per_side)
    future = (candles["close"].shift(-1) / candles["close"] - 1.0).reindex(run.labels.index)
    np.testing.assert_array_equal(run.labels.to_numpy(), (future > 2 * per_side).astype(int))
    # Fewer bars are "up" than with threshold 0: the bounce no longer counts as a move.
    plain = training_window(bounce_set.candles, small_settings)[1]
    assert run.labels.iloc[: len(plain)].mean() < plain.mean()
    # The metadata records the number the labels were made with, which the live side reads.
    assert _evaluation(run, settings)["label"] == {"horizon": 1, "threshold": run.label_threshold}


def test_a_threshold_that_is_neither_a_fraction_nor_round_trip_is_refused(small_settings):
    with pytest.raises(ConfigError, match="training.label.threshold"):
        with_overrides(small_settings, training={"label": {"threshold": "roundtrip"}})
