"""The quality gate: the seed's F1 floor, skill over the best baseline, champion/challenger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import MoneyCheckConfig, QualityGateConfig
from src.ml.evaluation import baseline_metrics, classification_metrics
from src.ml.gate import Money, evaluate_gate
from src.registry.metadata import StrategyStats

CONFIG = QualityGateConfig(
    min_f1=0.6,
    skill_metric="mcc",
    min_gain_over_best_baseline=0.01,
    max_drop_vs_production=0.02,
    money=MoneyCheckConfig(enabled=True, min_excess_return=0.0, min_trades=10),
)


def _stats(net_return: float, trades: int) -> StrategyStats:
    return StrategyStats(
        gross_return=net_return + 0.01, net_return=net_return, fee_drag=0.01, costs_paid=0.01,
        trades=trades, time_in_market=0.4, avg_trade_net_return=None, round_trip_cost=0.0028,
        hit_rate=None, profit_factor=None, max_drawdown=0.05, sharpe=None, sortino=None,
        skipped_at_gaps=0,
    )  # fmt: skip


BUY_AND_HOLD = _stats(0.03, 1)
MONEY_OK = Money(False, _stats(0.05, 40), BUY_AND_HOLD)


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


def test_always_up_fails_the_seeds_f1_and_the_skill_check(holdout):
    y_holdout, baselines = holdout
    like_always_up = dict(baselines["always_up"])
    # The up class's F1 (0.67) would pass the seed's bar; the weighted F1 the seed meant doesn't.
    assert like_always_up["f1_up"] == pytest.approx(0.67, abs=0.02)
    assert like_always_up["f1_score"] == pytest.approx(0.33, abs=0.02)

    result = evaluate_gate(like_always_up, baselines, None, MONEY_OK, CONFIG)

    assert result.deciding == ["min_f1", "gain_over_best_baseline"]
    best = max(baselines, key=lambda name: baselines[name]["mcc"])
    gain_reason = _check(result, "gain_over_best_baseline").reason
    assert f"over the best baseline {best}" in gain_reason
    assert "needs >= +0.010" in gain_reason


def test_a_candidate_much_worse_than_production_is_rejected(holdout):
    y_holdout, baselines = holdout
    candidate = _candidate(y_holdout, correct_share=0.70)
    production = _candidate(y_holdout, correct_share=0.85)
    noise = 2 / np.sqrt(len(y_holdout))  # two standard errors of MCC on the rows compared
    assert production["mcc"] - candidate["mcc"] > max(CONFIG.max_drop_vs_production, noise)

    champion = {"production": production, "candidate": candidate, "rows": len(y_holdout)}
    result = evaluate_gate(candidate, baselines, champion, MONEY_OK, CONFIG)

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
    result = evaluate_gate(candidate, baselines, champion, MONEY_OK, CONFIG)

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

    result = evaluate_gate(candidate, baselines, champion, MONEY_OK, CONFIG)

    assert result.passed, result.reasons
    assert result.reasons == []
    assert len(result.checks) == (3 if production is None else 4)
    assert result.to_dict()["passed"] is True


def test_a_low_f1_is_rejected_with_the_seeds_minimum(holdout):
    y_holdout, baselines = holdout
    # Skilled but cautious: right whenever it says "up", says "up" rarely.
    y = y_holdout.to_numpy()
    y_pred = np.where(np.arange(len(y)) % 4 == 0, y, 0)
    candidate = classification_metrics(y, y_pred, np.where(y_pred == 1, 0.8, 0.4))

    result = evaluate_gate(candidate, baselines, None, MONEY_OK, CONFIG)

    assert [check.name for check in result.checks if not check.passed] == ["min_f1"]
    assert "< 0.6 (the seed's minimum)" in result.reasons[0]


@pytest.mark.parametrize("forced", [False, True])
def test_forcing_is_recorded_but_does_not_turn_a_failure_into_a_pass(holdout, forced):
    y_holdout, baselines = holdout

    result = evaluate_gate(baselines["always_up"], baselines, None, MONEY_OK, CONFIG, forced=forced)

    recorded = result.to_dict()
    assert recorded["forced"] is forced
    assert recorded["passed"] is False
    assert recorded["reasons"] == result.reasons != []
    assert [check["name"] for check in recorded["checks"]] == [
        "min_f1",
        "gain_over_best_baseline",
        "money",
    ]


def test_balanced_accuracy_can_be_the_skill_metric(holdout):
    y_holdout, baselines = holdout
    config = CONFIG.model_copy(update={"skill_metric": "balanced_accuracy"})

    result = evaluate_gate(baselines["always_up"], baselines, None, MONEY_OK, config)

    assert not result.passed
    gain_reason = _check(result, "gain_over_best_baseline").reason
    assert "ensemble holdout balanced_accuracy 0.500" in gain_reason


def _skilled(y_holdout) -> dict[str, float]:
    return _candidate(y_holdout, correct_share=0.70)


@pytest.mark.parametrize(
    ("money", "passed", "reason"),
    [
        (MONEY_OK, True, "the policy made +5.00% on the holdout against buy-and-hold +3.00%"),
        (Money(False, _stats(0.02, 40), BUY_AND_HOLD), False, "(-1.00%; needs >= +0.00%)"),
        (Money(False, _stats(0.08, 9), BUY_AND_HOLD), False, "over 9 trades (needs >= 10)"),
        (Money(True, _stats(0.0, 0), BUY_AND_HOLD), False, "the trading policy is flat"),
    ],
    ids=["beats buy-and-hold", "trails buy-and-hold", "too few trades", "flat"],
)
def test_the_money_check_judges_the_policy_after_fees(holdout, money, passed, reason):
    y_holdout, baselines = holdout

    result = evaluate_gate(_skilled(y_holdout), baselines, None, money, CONFIG)

    money_check = _check(result, "money")
    assert money_check.passed is passed
    assert reason in money_check.reason
    assert result.passed is passed  # every other check passes for this skilled candidate
    assert result.deciding == (["money"] if not passed else [c.name for c in result.checks])


def test_a_flat_policy_says_force_promotes_it_anyway(holdout):
    y_holdout, baselines = holdout
    flat = Money(True, _stats(0.0, 0), BUY_AND_HOLD)

    result = evaluate_gate(_skilled(y_holdout), baselines, None, flat, CONFIG, forced=True)

    assert not result.passed and result.forced
    assert "--force promotes it anyway" in _check(result, "money").reason


def test_the_money_check_can_be_turned_off(holdout):
    y_holdout, baselines = holdout
    config = CONFIG.model_copy(update={"money": MoneyCheckConfig(enabled=False)})
    flat = Money(True, _stats(0.0, 0), BUY_AND_HOLD)

    result = evaluate_gate(_skilled(y_holdout), baselines, None, flat, config)

    assert result.passed and "money" not in [check.name for check in result.checks]


@pytest.mark.parametrize(("f1", "passed"), [(0.6, True), (0.6 - 1e-12, False)])
def test_a_candidate_exactly_at_the_seeds_f1_passes(holdout, f1, passed):
    y_holdout, baselines = holdout
    candidate = {**_skilled(y_holdout), "f1_score": f1}

    result = evaluate_gate(candidate, baselines, None, MONEY_OK, CONFIG)

    assert _check(result, "min_f1").passed is passed


@pytest.mark.parametrize(("excess", "passed"), [(0.0, True), (-1e-12, False)])
def test_a_policy_exactly_at_the_money_bar_passes(holdout, excess, passed):
    y_holdout, baselines = holdout
    money = Money(False, _stats(BUY_AND_HOLD.net_return + excess, 10), BUY_AND_HOLD)

    result = evaluate_gate(_skilled(y_holdout), baselines, None, money, CONFIG)

    assert _check(result, "money").passed is passed
