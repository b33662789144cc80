"""The quality gate: the seed's F1 floor, skill over the best baseline, champion/challenger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import QualityGateConfig
from src.ml.evaluation import baseline_metrics, classification_metrics
from src.ml.gate import evaluate_gate

CONFIG = QualityGateConfig(
    min_f1=0.6, skill_metric="mcc", min_gain_over_best_baseline=0.01, max_drop_vs_production=0.02
)


@pytest.fixture(scope="module")
def holdout():
    """Balanced next-move labels and the three baselines on them."""
    rng = np.random.default_rng(4)
    index = pd.date_range("2025-01-01", periods=2_000, freq="15min", tz="UTC")
    y = pd.Series(rng.integers(0, 2, len(index)), index=index)
    previous_move_up = pd.Series(rng.integers(0, 2, len(index)), index=index)
    y_train, y_holdout = y.iloc[:1_600], y.iloc[1_600:]
    return y_holdout, baseline_metrics(y_train, y_holdout, previous_move_up)


def _candidate(y_holdout: pd.Series, correct_share: float) -> dict[str, float]:
    """Metrics of a candidate that gets the first `correct_share` of the holdout right."""
    y = y_holdout.to_numpy()
    n_correct = int(len(y) * correct_share)
    y_pred = np.r_[y[:n_correct], 1 - y[n_correct:]]
    p_up = np.where(y_pred == 1, 0.7, 0.3)
    return classification_metrics(y, y_pred, p_up)


def _check(result, name):
    return next(check for check in result.checks if check.name == name)


def test_a_candidate_that_only_matches_always_up_is_rejected(holdout):
    y_holdout, baselines = holdout
    like_always_up = dict(baselines["always_up"])
    assert like_always_up["f1_score"] == pytest.approx(0.67, abs=0.02)  # passes the seed's bar

    result = evaluate_gate(like_always_up, baselines, None, CONFIG)

    assert not result.passed
    assert _check(result, "min_f1").passed
    assert not _check(result, "gain_over_best_baseline").passed
    best = max(baselines, key=lambda name: baselines[name]["mcc"])
    assert result.reasons == [_check(result, "gain_over_best_baseline").reason]
    assert f"over the best baseline {best}" in result.reasons[0]
    assert "needs >= +0.010" in result.reasons[0]


def test_a_candidate_much_worse_than_production_is_rejected(holdout):
    y_holdout, baselines = holdout
    candidate = _candidate(y_holdout, correct_share=0.70)
    production = _candidate(y_holdout, correct_share=0.85)
    noise = 2 / np.sqrt(len(y_holdout))  # two standard errors of MCC on the rows compared
    assert production["mcc"] - candidate["mcc"] > max(CONFIG.max_drop_vs_production, noise)

    champion = {"production": production, "candidate": candidate, "rows": len(y_holdout)}
    result = evaluate_gate(candidate, baselines, champion, CONFIG)

    assert not result.passed
    assert [check.name for check in result.checks if not check.passed] == ["max_drop_vs_production"]
    assert result.reasons[0].startswith(
        f"on {len(y_holdout)} holdout rows the live models never trained on, production mcc"
    )
    assert f"allowed <= {noise:.3f}" in result.reasons[0]
    assert f"2 standard errors {noise:.3f} on {len(y_holdout)} rows" in result.reasons[0]


def test_a_lead_of_the_live_set_within_the_noise_does_not_reject(holdout):
    y_holdout, baselines = holdout
    candidate = _candidate(y_holdout, correct_share=0.70)
    production = _candidate(y_holdout, correct_share=0.73)
    drop = production["mcc"] - candidate["mcc"]
    assert CONFIG.max_drop_vs_production < drop < 2 / np.sqrt(len(y_holdout))

    champion = {"production": production, "candidate": candidate, "rows": len(y_holdout)}
    result = evaluate_gate(candidate, baselines, champion, CONFIG)

    assert _check(result, "max_drop_vs_production").passed


@pytest.mark.parametrize("production_share", [None, 0.65, 0.70, 0.705])
def test_a_good_candidate_passes(holdout, production_share):
    y_holdout, baselines = holdout
    candidate = _candidate(y_holdout, correct_share=0.70)
    production = None if production_share is None else _candidate(y_holdout, production_share)
    champion = (
        None
        if production is None
        else {"production": production, "candidate": candidate, "rows": len(y_holdout)}
    )

    result = evaluate_gate(candidate, baselines, champion, CONFIG)

    assert result.passed, result.reasons
    assert result.reasons == []
    assert len(result.checks) == (2 if production is None else 3)
    assert result.to_dict()["passed"] is True


def test_a_low_f1_is_rejected_with_the_seeds_minimum(holdout):
    y_holdout, baselines = holdout
    # Skilled but cautious: right whenever it says "up", says "up" rarely.
    y = y_holdout.to_numpy()
    y_pred = np.where(np.arange(len(y)) % 4 == 0, y, 0)
    candidate = classification_metrics(y, y_pred, np.where(y_pred == 1, 0.8, 0.4))

    result = evaluate_gate(candidate, baselines, None, CONFIG)

    assert [check.name for check in result.checks if not check.passed] == ["min_f1"]
    assert "< 0.6 (the seed's minimum)" in result.reasons[0]


@pytest.mark.parametrize("forced", [False, True])
def test_forcing_is_recorded_but_does_not_turn_a_failure_into_a_pass(holdout, forced):
    y_holdout, baselines = holdout

    result = evaluate_gate(baselines["always_up"], baselines, None, CONFIG, forced=forced)

    recorded = result.to_dict()
    assert recorded["forced"] is forced
    assert recorded["passed"] is False
    assert recorded["reasons"] == result.reasons != []
    assert [check["name"] for check in recorded["checks"]] == ["min_f1", "gain_over_best_baseline"]


def test_balanced_accuracy_can_be_the_skill_metric(holdout):
    y_holdout, baselines = holdout
    config = CONFIG.model_copy(update={"skill_metric": "balanced_accuracy"})

    result = evaluate_gate(baselines["always_up"], baselines, None, config)

    assert not result.passed
    assert "ensemble holdout balanced_accuracy 0.500" in result.reasons[0]
