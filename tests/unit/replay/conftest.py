"""A small replay: generated 15m candles whose planted signal switches on halfway, small models,
tuning off, 10-day windows, 4 weekly runs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from src.compute import Compute
from src.config import Settings, load_settings, with_overrides
from src.data.sources import CandleSet
from src.replay import run_replay
from tests.support.candles import make_planted_candles

BARS_PER_DAY = 96
N_BARS = BARS_PER_DAY * 7 * 6  # 2025-01-01 .. 2025-02-11: four runs with a 10-day window
SIGNAL_FROM = pd.Timestamp("2025-01-20 09:00", tz="UTC")  # the second run: windows after it see it
WEEKS = 4
SMALL_MODELS = {
    "lightgbm": {
        "n_estimators": 25, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 40
    },
    "xgboost": {"n_estimators": 25, "learning_rate": 0.1, "max_depth": 3, "tree_method": "hist"},
    "random_forest": {"n_estimators": 25, "max_depth": 6, "min_samples_leaf": 40},
}  # fmt: skip


def switching_candles(seed: int = 3) -> pd.DataFrame:
    """No signal (accuracy 0.5) before SIGNAL_FROM, a strong planted one after it."""
    index = pd.date_range("2025-01-01", periods=N_BARS, freq="15min", tz="UTC")
    accuracy = np.where(index < SIGNAL_FROM, 0.5, 0.85)
    return make_planted_candles(N_BARS, seed=seed, accuracy=accuracy)


def write_small_config(base_yaml: Path) -> None:
    """Set a code copy's base.yaml as `replay_settings` sets the settings (but for data.days,
    which the CLI tests pass as --days), with room for two local workers."""
    config = yaml.safe_load(base_yaml.read_text())
    config["training"]["models"] = SMALL_MODELS
    config["training"]["cv"]["n_splits"] = 3
    config["tuning"]["enabled"] = False
    config["trading"]["bootstrap_samples"] = 200
    # Two local workers must fit limits.max_rss_mib (1 GiB): two of the default 1 GiB do not.
    config["compute"]["memory_limit_mib"] = 512
    base_yaml.write_text(yaml.safe_dump(config))


def replay_settings() -> Settings:
    return with_overrides(
        load_settings(),
        data={"days": 10},
        training={"seed": 7, "models": SMALL_MODELS, "cv": {"n_splits": 3, "gap": 1}},
        tuning={"enabled": False},
        trading={"bootstrap_samples": 200},
    )


def candle_set(candles: pd.DataFrame) -> CandleSet:
    return CandleSet(candles, "generated", "BTC/JPY", "15m")


def replay(candles: pd.DataFrame, out_dir, messages: list | None = None):
    progress = messages.append if messages is not None else (lambda message: None)
    return run_replay(replay_settings(), candle_set(candles), WEEKS, out_dir, Compute(), progress)


@pytest.fixture(scope="session")
def switching_replay(tmp_path_factory):
    """The replay of `switching_candles`, run once per test process, and its --out directory
    (tests that write copy it)."""
    out_dir = tmp_path_factory.mktemp("replay")
    return replay(switching_candles(), out_dir), out_dir
