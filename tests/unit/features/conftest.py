"""Candle sets for the feature tests: two real exchanges' candles and generated ones."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from src.data.synthetic import generate_sample_market_data

REPO_ROOT = Path(__file__).resolve().parents[3]
REAL_CANDLE_FILES = {
    "eth_btc_5m": REPO_ROOT / "src" / "data" / "sample_data" / "ETH_BTC-5m.csv",
    "xrp_eth_1m": REPO_ROOT / "tests" / "data" / "XRP_ETH-1m.csv",
}
GENERATED = {
    "generated_btc_jpy": {"n_bars": 3000, "seed": 11},
    "generated_sub_cent": {"n_bars": 3000, "seed": 12, "start_price": 0.0004, "volatility": 0.01},
    # Sats-like prices, far below a cent yet well inside the validated magnitudes.
    "generated_sats": {"n_bars": 3000, "seed": 13, "start_price": 1e-8, "volatility": 0.01},
}


def load_candle_set(name: str) -> pd.DataFrame:
    """Candles with a 'timestamp' column (real files) or a UTC DatetimeIndex (generated)."""
    if name in GENERATED:
        return generate_sample_market_data(**GENERATED[name])
    path = REAL_CANDLE_FILES[name]
    if not path.exists():  # a broken checkout must fail loudly, not pass with fewer cases
        relative = path.relative_to(REPO_ROOT)
        pytest.fail(f"real candle file {relative} is missing; restore it: git checkout {relative}")
    return pd.read_csv(path)


@pytest.fixture(params=[*REAL_CANDLE_FILES, *GENERATED])
def candle_set(request: pytest.FixtureRequest) -> pd.DataFrame:
    return load_candle_set(request.param)


@pytest.fixture
def small_candles() -> pd.DataFrame:
    return generate_sample_market_data(n_bars=120, seed=0)
