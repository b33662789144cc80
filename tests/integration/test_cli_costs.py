"""The costs the candles imply, end to end: a bid-ask bounce is never promoted as money, a real
edge on a tight market still is, and real altcoin/BTC candles are judged with their spread."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support.candles import make_bounce_candles

EXIT_OK, EXIT_REJECTED = 0, 3

pytestmark = pytest.mark.slow


def _metadata(models_dir: Path) -> dict:
    """The set the run wrote: the live one, or the candidate it kept."""
    live = models_dir / "training" / "training_metadata.json"
    paths = [live] if live.exists() else list(models_dir.glob("candidates/*/training/*.json"))
    (path,) = paths
    return json.loads(path.read_text())


def _check(metadata: dict, name: str) -> dict:
    return next(check for check in metadata["gate"]["checks"] if check["name"] == name)


def test_a_pure_bounce_across_a_wide_spread_fails_the_money_check(cli, tmp_path):
    csv = tmp_path / "bounce.csv"
    make_bounce_candles(3_000, 0.006, seed=21).to_csv(csv)
    models_dir = tmp_path / "models"

    result = cli.create_ml_models("--source", str(csv), "--models-dir", str(models_dir))

    assert result.returncode == EXIT_REJECTED, result.stdout + result.stderr
    metadata = _metadata(models_dir)
    costs = metadata["costs"]
    assert 0.004 <= costs["abdi_ranaldo"]["spread"] <= 0.008
    assert 0.004 <= costs["roll"]["spread"] <= 0.008
    assert costs["return_autocorrelation_lag1"] < -0.3
    assert costs["cost_per_side"] == pytest.approx(0.0012 + costs["spread"] / 2 + 0.0001)
    assert metadata["policy"]["cost_per_side"] == costs["cost_per_side"]
    money = _check(metadata, "money")
    assert not money["passed"]
    assert f"{costs['cost_per_side']:.3%} per side: fee 0.12% + half the" in money["reason"]
    # Charged fee and slippage only, the models' reversal trades look rich; with half the
    # spread per side they are the bounce, and the run says so in words.
    assert metadata["policy"]["without_spread"]["net_return"] > 0.1
    assert "a bid-ask bounce, not an edge" in " ".join(result.stdout.split())


def test_a_real_edge_on_a_tight_market_is_still_promoted(cli, tmp_path):
    csv = tmp_path / "edge.csv"
    edge = make_bounce_candles(
        2_500, 0.0002, seed=22, volatility=0.001, signal_accuracy=0.85, signal_move=0.01
    )
    edge.to_csv(csv)
    models_dir = tmp_path / "models"

    result = cli.create_ml_models("--source", str(csv), "--models-dir", str(models_dir))

    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    metadata = _metadata(models_dir)
    money = _check(metadata, "money")
    assert money["passed"]
    interval = metadata["trading_check"]["bootstrap"]["excess_over_buy_and_hold"]
    assert interval["low"] > 0 and f"90% interval {interval['low']:+.2%}" in money["reason"]
    assert abs(metadata["costs"]["abdi_ranaldo"]["spread"]) < 0.001


def test_real_eth_btc_candles_are_judged_with_the_spread_they_imply(cli, tmp_path):
    # The shipped sample: real 5m ETH/BTC candles of a thin market (see src/data/sample_data).
    models_dir = tmp_path / "models"

    result = cli.create_ml_models("--source", "sample", "--models-dir", str(models_dir))

    assert result.returncode == EXIT_REJECTED, result.stdout + result.stderr
    metadata = _metadata(models_dir)
    costs = metadata["costs"]
    assert 0.003 <= costs["abdi_ranaldo"]["spread"] <= 0.006
    assert 0.002 <= costs["roll"]["spread"] <= 0.006
    assert costs["return_autocorrelation_lag1"] < -0.1
    assert costs["window_end"] <= metadata["evaluation"]["train"]["end"]
    assert not _check(metadata, "money")["passed"]
    stdout = " ".join(result.stdout.split())
    assert "Costs: spread the candles imply" in stdout
    assert f"Abdi-Ranaldo {costs['abdi_ranaldo']['spread']:.3%}" in stdout
    assert "lag-1 autocorrelation of returns -0.1" in stdout
