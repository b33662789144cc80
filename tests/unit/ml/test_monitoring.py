"""Dry-run health: PSI drift, degradation on newer candles, and model age."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from src.config import DegradationConfig
from src.ml.gate import evaluate_gate
from src.ml.monitoring import assess_health, feature_reference, population_stability_index
from src.ml.run_metadata import build_metadata
from src.ml.training import train_models

TRAIN_BARS, ALL_BARS = 2_000, 3_000


@pytest.fixture(scope="module")
def trained(planted_candles, generated_set, small_settings):
    """A set trained on the first 2,000 planted bars, as the registry would hold it."""
    candle_set = generated_set(planted_candles(ALL_BARS, seed=11).iloc[:TRAIN_BARS])
    run = train_models(candle_set, small_settings, progress=lambda message: None)
    gate = evaluate_gate(
        run.skill, None, run.money, small_settings.quality_gate
    )
    created = datetime(2025, 2, 1, tzinfo=UTC)
    metadata = build_metadata(
        run, candle_set, small_settings, gate, created, 1.0, None, {"enabled": False}
    )
    return run, metadata, created


def test_psi_is_near_zero_for_the_same_distribution_and_large_for_a_shift():
    rng = np.random.default_rng(0)
    reference = feature_reference(pd.DataFrame({"x": rng.normal(0, 1, 5_000)}))["x"]
    edges, shares = reference["edges"], reference["shares"]
    same = population_stability_index(edges, shares, rng.normal(0, 1, 5_000))
    shifted = population_stability_index(edges, shares, rng.normal(1.5, 1, 5_000))
    assert same < 0.02
    assert shifted > 0.25


def test_stale_model_is_flagged_without_candles(trained):
    _, metadata, created = trained
    config = DegradationConfig(max_model_age_days=14)
    health = assess_health(metadata, None, None, config, created + timedelta(days=20))
    assert not health.healthy
    assert any("stale" in problem and "20.0 days" in problem for problem in health.problems)
    assert any("not measured" in note for note in health.notes)
    assert health.verdict == "DEGRADED"


def test_too_few_new_rows_are_reported_not_judged(trained, planted_candles):
    run, metadata, created = trained
    candles = planted_candles(ALL_BARS, seed=11).iloc[: TRAIN_BARS + 50]
    health = assess_health(metadata, run.ensemble, candles, DegradationConfig(), created)
    assert health.healthy and not health.measured
    assert health.verdict.startswith("NOT MEASURED")
    assert health.newest_rows == 49  # the last bar has no label yet
    assert any("need 200" in note for note in health.notes)


SCALE_FREE = ("volume", "returns_1", "rsi_14", "bb_position", "zscore", "volume_ratio")


def test_unchanged_relationship_is_not_degraded(trained, planted_candles):
    run, metadata, created = trained
    candles = planted_candles(ALL_BARS, seed=11)
    health = assess_health(metadata, run.ensemble, candles, DegradationConfig(), created)
    assert health.newest_rows == ALL_BARS - TRAIN_BARS - 1
    assert not any(problem.startswith("degraded") for problem in health.problems)
    assert health.measured
    assert max(health.psi[name] for name in SCALE_FREE) < 0.25


def test_price_level_features_that_left_the_training_range_are_noted(trained, planted_candles):
    # The seed's features include raw price levels; the newest prices sit in a band much narrower
    # than the training window's, so their distribution differs and the drift check says so,
    # even though the up/down relationship is unchanged.
    run, metadata, created = trained
    candles = planted_candles(ALL_BARS, seed=11)
    train_close = candles["close"].iloc[:TRAIN_BARS]
    new_close = candles["close"].iloc[TRAIN_BARS:]
    assert new_close.std() < train_close.std() / 3
    health = assess_health(metadata, run.ensemble, candles, DegradationConfig(), created)
    assert health.psi["close"] > 0.25
    assert any("price-level features" in note and "close" in note for note in health.notes)
    assert not any("close" in problem for problem in health.problems)


def test_reversed_market_is_degraded(trained, planted_candles):
    run, metadata, created = trained
    reversed_market = planted_candles(ALL_BARS, seed=11, accuracy=0.15)
    health = assess_health(metadata, run.ensemble, reversed_market, DegradationConfig(), created)
    assert any(problem.startswith("degraded: ensemble mcc") for problem in health.problems)
    assert health.newest_metrics["mcc"] < 0


def test_volume_shift_is_flagged_as_drift(trained, planted_candles):
    run, metadata, created = trained
    candles = planted_candles(ALL_BARS, seed=11)
    later = candles.index >= candles.index[TRAIN_BARS - 60]
    candles.loc[later, "volume"] *= 50.0
    health = assess_health(metadata, run.ensemble, candles, DegradationConfig(), created)
    assert health.psi["volume"] > 0.25
    assert any("feature drift" in problem and "volume" in problem for problem in health.problems)


@pytest.mark.parametrize(("max_metric_drop", "degraded"), [(0.5, False), (0.1, True)])
def test_a_drop_beyond_the_noise_counts_only_beyond_max_metric_drop_too(
    trained, planted_candles, max_metric_drop, degraded
):
    # The newer market is weaker (70% instead of 85% of moves follow the signal): an MCC drop of
    # ~0.3 on ~1,000 rows, far beyond two standard errors (~0.06).
    run, metadata, created = trained
    weaker = planted_candles(ALL_BARS, seed=11, accuracy=0.70)
    config = DegradationConfig(max_metric_drop=max_metric_drop)

    health = assess_health(metadata, run.ensemble, weaker, config, created)

    drop = metadata.ensemble_metrics.mcc - health.newest_metrics["mcc"]
    assert 2 / np.sqrt(health.newest_rows) < drop < 0.5
    assert any(p.startswith("degraded: ensemble mcc") for p in health.problems) is degraded


def test_a_drop_beyond_max_metric_drop_but_within_the_noise_is_not_degradation(
    trained, planted_candles
):
    run, metadata, created = trained
    # 250 newer rows of a slightly weaker market: two standard errors are ~0.13.
    weaker = planted_candles(ALL_BARS, seed=11, accuracy=0.80).iloc[: TRAIN_BARS + 251]
    config = DegradationConfig(max_metric_drop=0.01)

    health = assess_health(metadata, run.ensemble, weaker, config, created)

    drop = metadata.ensemble_metrics.mcc - health.newest_metrics["mcc"]
    assert config.max_metric_drop < drop < 2 / np.sqrt(health.newest_rows)
    assert not any(p.startswith("degraded") for p in health.problems)


def test_the_saved_policy_is_settled_on_the_newest_rows_at_the_sets_own_cost(
    trained, planted_candles
):
    run, metadata, created = trained
    assert not run.policy.policy.flat  # the planted signal is tradeable after its costs
    candles = planted_candles(ALL_BARS, seed=11)
    reversed_market = planted_candles(ALL_BARS, seed=11, accuracy=0.15)

    same = assess_health(metadata, run.ensemble, candles, DegradationConfig(), created)
    turned = assess_health(metadata, run.ensemble, reversed_market, DegradationConfig(), created)

    for health in (same, turned):
        trading = health.newest_trading
        assert trading.cost_per_side == metadata.policy.cost_per_side
        assert trading.cost_per_side == metadata.costs.cost_per_side
        assert trading.trades > 10 and trading.spread_now is not None
    assert same.newest_trading.net_return > 0.1 > turned.newest_trading.net_return
