"""Fixtures of small tuning runs (settings and helpers in tests/support/tuning_runs.py)."""

from __future__ import annotations

import pytest

from src.compute import Compute
from src.data.synthetic import generate_sample_market_data
from src.tuning import tune
from tests.support.tuning_runs import small_tuning_settings


@pytest.fixture(scope="session")
def tuning_settings():
    return small_tuning_settings()


@pytest.fixture(scope="session")
def tuning_candles():
    return generate_sample_market_data(n_bars=900, seed=3)


@pytest.fixture(scope="session")
def in_process_tuning(tuning_settings, tuning_candles):
    """The reference: the study run in this process, one worker."""
    return tune(tuning_settings, tuning_candles, Compute(), progress=lambda line: None)
