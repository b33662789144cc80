"""Small sweeps: generated 15m candles, small models (as the replay tests train them), 10-day
windows, tuning off."""

from __future__ import annotations

import pandas as pd
import pytest

from src.compute import Compute
from src.data.sources import CandleSet
from src.sweep.grid import parse_grid, setups
from src.sweep.run import run_sweep
from tests.unit.replay.conftest import replay_settings

WEEKS = 8
N_BARS = 96 * 7 * 10  # 2025-01-01 .. 2025-03-12: eight runs with a 10-day window


def sweep(candles: pd.DataFrame, grid: list[str], out_dir, weeks: int = WEEKS, compute=None):
    settings = replay_settings()
    made = setups(settings, parse_grid(grid))
    candle_set = CandleSet(candles, "generated", "BTC/JPY", "15m")
    return run_sweep(settings, made, [candle_set] * len(made), weeks, out_dir,
                     compute or Compute(), lambda message: None)  # fmt: skip


@pytest.fixture(scope="session")
def run_small_sweep():
    return sweep
