"""Shared data and settings for the ML tests: small models, generated candles, a planted signal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import MODEL_NAMES, Settings, load_settings, with_overrides
from src.data.sources import CandleSet
from src.data.synthetic import generate_sample_market_data
from src.ml.labels import build_dataset
from src.ml.models import build_model

# Small enough that a full train_models run on a few thousand bars takes about a second.
SMALL_MODEL_PARAMS = {
    "lightgbm": {
        "n_estimators": 30,
        "learning_rate": 0.1,
        "num_leaves": 7,
        "min_child_samples": 40,
    },
    "xgboost": {"n_estimators": 30, "learning_rate": 0.1, "max_depth": 3, "tree_method": "hist"},
    "random_forest": {"n_estimators": 30, "max_depth": 6, "min_samples_leaf": 40},
}
SEED = 7


# Public: tests/integration/conftest.py loads it by path for its candle files.
def make_planted_candles(
    n_bars: int, seed: int, accuracy: float = 0.85, move_size: float = 0.01
) -> pd.DataFrame:
    """Candles whose next move follows the current bar's volume: up after an above-median volume,
    down otherwise, with probability `accuracy`. The signal is known at t (volume, volume_ratio),
    while the previous move says nothing, so momentum and reversal stay at chance. Moves are
    ~`move_size` (typical size 0.8%), large next to bitbank's 0.28% round-trip cost, so the
    signal is tradeable after fees too."""
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


def _generated_set(candles: pd.DataFrame) -> CandleSet:
    return CandleSet(candles=candles, source="generated", symbol="BTC/JPY", timeframe="15m")


def _small_models(seed: int = SEED) -> dict[str, object]:
    """Fresh, unfitted, seeded small models by name."""
    return {name: build_model(name, SMALL_MODEL_PARAMS[name], seed) for name in MODEL_NAMES}


# Test modules cannot import this conftest (--import-mode=importlib), so helpers are fixtures.
@pytest.fixture(scope="session")
def planted_candles():
    return make_planted_candles


@pytest.fixture(scope="session")
def generated_set():
    return _generated_set


@pytest.fixture(scope="session")
def small_models():
    return _small_models


@pytest.fixture(scope="session")
def small_settings() -> Settings:
    return with_overrides(
        load_settings(),
        training={"seed": SEED, "models": SMALL_MODEL_PARAMS, "cv": {"n_splits": 3, "gap": 1}},
        tuning={"enabled": False},  # tests/unit/tuning/ tune; here, training runs as configured
    )


@pytest.fixture(scope="session")
def planted_dataset() -> tuple[pd.DataFrame, pd.Series]:
    """Features and next-bar labels of 1,500 planted-signal candles."""
    return build_dataset(make_planted_candles(1_500, seed=11), horizon=1, threshold=0.0)
