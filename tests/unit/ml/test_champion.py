"""Champion/challenger compares the live models only on rows they never trained on."""

from __future__ import annotations

import pytest

from src.config import with_overrides
from src.ml.training import train_models
from src.registry.store import Registry
from src.retrain import production_on_holdout, retrain

ALL_BARS = 3_000


def _quiet(message: str) -> None:
    pass


@pytest.fixture(scope="module")
def candidate_run(planted_candles, generated_set, small_settings):
    candle_set = generated_set(planted_candles(ALL_BARS, seed=5))
    return train_models(candle_set, small_settings, progress=_quiet)


def _promote(tmp_path, candles, settings, generated_set) -> Registry:
    registry = Registry(tmp_path / "models")
    outcome = retrain(settings, generated_set(candles), registry, force=True, progress=_quiet)
    assert outcome.promoted
    return registry


def test_live_models_are_scored_only_after_their_training_window(
    tmp_path, planted_candles, generated_set, small_settings, candidate_run
):
    older = planted_candles(ALL_BARS, seed=5).iloc[:2_000]
    registry = _promote(tmp_path, older, small_settings, generated_set)
    live_fit_end = registry.load().metadata.evaluation.train.end

    champion = production_on_holdout(registry, candidate_run, small_settings, _quiet)

    holdout = candidate_run.features.index[candidate_run.split.holdout_start :]
    assert champion.rows == int((holdout > live_fit_end).sum()) > 0
    lead = champion.production["mcc"] - champion.candidate["mcc"]
    assert champion.lead_interval.low <= lead <= champion.lead_interval.high


def test_no_comparison_when_the_live_models_trained_on_the_candidates_holdout(
    tmp_path, planted_candles, generated_set, small_settings, candidate_run
):
    refit = with_overrides(small_settings, training={"refit_on_full": True})
    registry = _promote(tmp_path, planted_candles(ALL_BARS, seed=5), refit, generated_set)
    messages = []

    champion = production_on_holdout(registry, candidate_run, small_settings, messages.append)

    assert champion is None
    assert any("champion/challenger skipped: only 0 holdout rows" in m for m in messages)
