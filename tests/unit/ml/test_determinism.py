"""Same seed and data, same run: metrics and holdout predictions repeat bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from src.config import with_overrides
from src.ml.training import train_models


def _figures(run) -> str:
    # json.dumps writes floats exactly (repr) and NaN as NaN, so equal text is equal figures.
    return json.dumps(
        {
            "models": run.model_metrics,
            "ensemble": run.ensemble_metrics,
            "baselines": run.baselines,
            "policy": run.policy.record.to_dict(),
            "trading": run.trading.record.to_dict(),
            "folds": run.cv.folds,
        },
        sort_keys=True,
    )


@pytest.fixture(scope="module")
def candle_set(planted_candles, generated_set):
    return generated_set(planted_candles(2_000, seed=21))


@pytest.fixture(scope="module")
def first_run(candle_set, small_settings):
    return train_models(candle_set, small_settings, progress=lambda message: None)


def test_same_seed_and_data_give_identical_runs(first_run, candle_set, small_settings):
    second = train_models(candle_set, small_settings, progress=lambda message: None)

    assert _figures(second) == _figures(first_run)
    assert np.array_equal(second.holdout_p_up.to_numpy(), first_run.holdout_p_up.to_numpy())
    assert list(second.holdout_p_up.columns) == list(first_run.holdout_p_up.columns)
    for name, oof in first_run.cv.oof_p_up.items():
        assert np.array_equal(second.cv.oof_p_up[name], oof, equal_nan=True), name


def test_the_seed_reaches_the_models(first_run, candle_set, small_settings):
    # Guards the test above: identical output must come from seeding, not from ignoring it.
    reseeded = with_overrides(small_settings, training={"seed": small_settings.training.seed + 1})

    other = train_models(candle_set, reseeded, progress=lambda message: None)

    assert not np.array_equal(
        other.holdout_p_up["random_forest"].to_numpy(),
        first_run.holdout_p_up["random_forest"].to_numpy(),
    )
