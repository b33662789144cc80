"""Shared data and settings for the ML tests: small models, generated candles, a planted signal."""

from __future__ import annotations

import pandas as pd
import pytest

from src.config import MODEL_NAMES, Settings, load_settings, with_overrides
from src.data.sources import CandleSet
from src.ml.labels import build_dataset
from src.ml.models import build_model
from tests.support.candles import make_planted_candles

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
