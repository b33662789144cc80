"""The quality gate: the seed's F1 floor, skill over the best baseline, champion/challenger."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import MoneyCheckConfig, QualityGateConfig
from src.ml.evaluation import baselines_on_holdout, classification_metrics
from src.ml.gate import Champion, Money, Skill, evaluate_gate
from src.registry.trading_record import CostRecord, Interval, SpreadEstimate, StrategyStats

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
COSTS = CostRecord(
    window_start="2025-01-01T00:00:00+00:00", window_end="2025-01-21T00:00:00+00:00",
    candles=2_000,
    abdi_ranaldo=SpreadEstimate(
        estimator="abdi_ranaldo_2017", spread=0.003, pairs=1_999, skipped_at_gaps=0
    ),
    roll=SpreadEstimate(estimator="roll_1984", spread=0.0028, pairs=1_998, skipped_at_gaps=0),
    return_autocorrelation_lag1=-0.14, spread_source="estimated (abdi_ranaldo_2017)",
    spread=0.003, fee_rate=0.0012, slippage_rate=0.0001, cost_per_side=0.0028,
)  # fmt: skip


def _money(net_return: float, trades: int, low: float, flat: bool = False) -> Money:
    """The policy's holdout result, with the lower end of its paired excess interval."""
    excess = net_return - BUY_AND_HOLD.net_return
    interval = Interval(low=low, high=max(excess, low) + 0.02)
    return Money(flat, _stats(net_return, trades), BUY_AND_HOLD, interval, COSTS)


MONEY_OK = _money(0.05, 40, low=0.001)


@pytest.fixture(scope="module")
def holdout():
    """Balanced next-move labels and the three baselines on them."""
    rng = np.random.default_rng(4)
    index = pd.date_range("2025-01-01", periods=2_000, freq="15min", tz="UTC")
    y = pd.Series(rng.integers(0, 2, len(index)), index=index)
    previous_move_up = pd.Series(rng.integers(0, 2, len(index)), index=index)
    y_train, y_holdout = y.iloc[:1_600], y.iloc[1_600:]
    return y_holdout, baselines_on_holdout(y_train, y_holdout, previous_move_up).metrics


def _candidate(y_holdout: pd.Series, correct_share: float) -> dict[str, float]:
    """Metrics of a candidate that gets the first `correct_share` of the holdout right."""
    y = y_holdout.to_numpy()
    n_correct = int(len(y) * correct_share)
    y_pred = np.r_[y[:n_correct], 1 - y[n_correct:]]
    p_up = np.where(y_pred == 1, 0.7, 0.3)
    return classification_metrics(y, y_pred, p_up)


def _skill(candidate: dict[str, float], baselines, low: float | None = None) -> Skill:
    """The candidate against the rules, with the lower end of its paired gain interval (by
    default: the point gain over the best rule, as if the interval were a point)."""
    best = max(baselines.values(), key=lambda rule: rule["mcc"])
    gain = candidate["mcc"] - best["mcc"]
    low = gain if low is None else low
    return Skill(candidate, baselines, Interval(low=low, high=max(gain, low) + 0.05))


def _check(result, name):
    return next(check for check in result.checks if check.name == name)


def test_always_up_fails_the_seeds_f1_and_the_skill_check(holdout):
    y_holdout, baselines = holdout
    like_always_up = dict(baselines["always_up"])
    # The up class's F1 (0.67) would pass the seed's bar; the weighted F1 the seed meant doesn't.
    assert like_always_up["f1_up"] == pytest.approx(0.67, abs=0.02)
    assert like_always_up["f1_score"] == pytest.approx(0.33, abs=0.02)

    result = evaluate_gate(_skill(like_always_up, baselines), None, MONEY_OK, CONFIG)

    assert result.deciding == ["min_f1", "gain_over_best_baseline"]
    best = max(baselines, key=lambda name: baselines[name]["mcc"])
    gain_reason = _check(result, "gain_over_best_baseline").reason
    assert f"over the best baseline {best}" in gain_reason
    assert "needs >= +0.010" in gain_reason


def _champion(y_holdout, candidate, production, low: float, high: float) -> Champion:
    return Champion(production, candidate, len(y_holdout), Interval(low=low, high=high))


def test_a_live_set_leading_beyond_the_margin_across_its_interval_rejects(holdout):
    y_holdout, baselines = holdout
    candidate = _candidate(y_holdout, correct_share=0.70)
    production = _candidate(y_holdout, correct_share=0.85)
    lead = production["mcc"] - candidate["mcc"]

    champion = _champion(y_holdout, candidate, production, low=0.021, high=lead + 0.1)
    result = evaluate_gate(_skill(candidate, baselines), champion, MONEY_OK, CONFIG)

    assert not result.passed
    assert [check.name for check in result.checks if not check.passed] == ["max_drop_vs_production"]
    assert result.reasons[0].startswith(
        f"on {len(y_holdout)} holdout rows the live models never trained on, production mcc"
    )
    assert f"leads by {lead:+.3f}, 90% paired interval +0.021 to" in result.reasons[0]
    assert "whole interval is above the margin 0.020" in result.reasons[0]


@pytest.mark.parametrize("low", [0.02, -0.01])
def test_a_lead_whose_interval_reaches_the_margin_does_not_reject(holdout, low):
    y_holdout, baselines = holdout
    candidate = _candidate(y_holdout, correct_share=0.70)
    production = _candidate(y_holdout, correct_share=0.85)

    champion = _champion(y_holdout, candidate, production, low=low, high=0.4)
    result = evaluate_gate(_skill(candidate, baselines), champion, MONEY_OK, CONFIG)

    assert _check(result, "max_drop_vs_production").passed


@pytest.mark.parametrize("production_share", [None, 0.65, 0.70, 0.705])
def test_a_good_candidate_passes(holdout, production_share):
    y_holdout, baselines = holdout
    candidate = _candidate(y_holdout, correct_share=0.70)
    production = None if production_share is None else _candidate(y_holdout, production_share)
    lead = None if production is None else production["mcc"] - candidate["mcc"]
    champion = (
        None
        if production is None
        else _champion(y_holdout, candidate, production, low=lead - 0.05, high=lead + 0.05)
    )

    result = evaluate_gate(_skill(candidate, baselines), champion, MONEY_OK, CONFIG)

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

    result = evaluate_gate(_skill(candidate, baselines), None, MONEY_OK, CONFIG)

    assert [check.name for check in result.checks if not check.passed] == ["min_f1"]
    assert "< 0.6 (the seed's minimum)" in result.reasons[0]


@pytest.mark.parametrize("forced", [False, True])
def test_forcing_is_recorded_but_does_not_turn_a_failure_into_a_pass(holdout, forced):
    y_holdout, baselines = holdout

    result = evaluate_gate(
        _skill(baselines["always_up"], baselines), None, MONEY_OK, CONFIG, forced=forced
    )

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

    result = evaluate_gate(_skill(baselines["always_up"], baselines), None, MONEY_OK, config)

    assert not result.passed
    gain_reason = _check(result, "gain_over_best_baseline").reason
    assert "ensemble holdout balanced_accuracy 0.500" in gain_reason


def _skilled(y_holdout) -> dict[str, float]:
    return _candidate(y_holdout, correct_share=0.70)


@pytest.mark.parametrize(
    ("money", "passed", "reason"),
    [
        (MONEY_OK, True, "the policy made +5.00% on the holdout against buy-and-hold +3.00%"),
        (_money(0.05, 40, low=-0.004), False, "90% interval -0.40% to +4.00% (its lower end"),
        (_money(0.02, 40, low=-0.03), False, "excess -1.00%, 90% interval -3.00%"),
        (_money(0.08, 9, low=0.01), False, "over 9 trades (needs >= 10)"),
        (_money(0.0, 0, low=0.0, flat=True), False, "the trading policy is flat"),
    ],
    ids=[
        "interval above buy-and-hold",
        "point above, interval not",
        "trails buy-and-hold",
        "too few trades",
        "flat",
    ],
)
def test_the_money_check_judges_the_lower_end_of_the_excess_interval(
    holdout, money, passed, reason
):
    y_holdout, baselines = holdout

    result = evaluate_gate(_skill(_skilled(y_holdout), baselines), None, money, CONFIG)

    money_check = _check(result, "money")
    assert money_check.passed is passed
    assert reason in money_check.reason
    # The reason names what each side was charged and the spread behind it.
    assert (
        "0.280% per side: fee 0.12% + half the 0.30% spread the candles imply (Abdi-Ranaldo; "
        "Roll 0.28%) + slippage 0.01%" in money_check.reason
    )
    assert result.passed is passed  # every other check passes for this skilled candidate
    assert result.deciding == (["money"] if not passed else [c.name for c in result.checks])


def test_a_flat_policy_says_force_promotes_it_anyway(holdout):
    y_holdout, baselines = holdout
    flat = _money(0.0, 0, low=0.0, flat=True)

    result = evaluate_gate(_skill(_skilled(y_holdout), baselines), None, flat, CONFIG, forced=True)

    assert not result.passed and result.forced
    assert "--force promotes it anyway" in _check(result, "money").reason


def test_the_money_check_can_be_turned_off(holdout):
    y_holdout, baselines = holdout
    config = CONFIG.model_copy(update={"money": MoneyCheckConfig(enabled=False)})
    flat = _money(0.0, 0, low=0.0, flat=True)

    result = evaluate_gate(_skill(_skilled(y_holdout), baselines), None, flat, config)

    assert result.passed and "money" not in [check.name for check in result.checks]


@pytest.mark.parametrize(("f1", "passed"), [(0.6, True), (0.6 - 1e-12, False)])
def test_a_candidate_exactly_at_the_seeds_f1_passes(holdout, f1, passed):
    y_holdout, baselines = holdout
    candidate = {**_skilled(y_holdout), "f1_score": f1}

    result = evaluate_gate(_skill(candidate, baselines), None, MONEY_OK, CONFIG)

    assert _check(result, "min_f1").passed is passed


@pytest.mark.parametrize(("low", "passed"), [(0.0, True), (-1e-12, False)])
def test_a_policy_exactly_at_the_money_bar_passes(holdout, low, passed):
    y_holdout, baselines = holdout

    result = evaluate_gate(
        _skill(_skilled(y_holdout), baselines), None, _money(0.05, 10, low), CONFIG
    )

    assert _check(result, "money").passed is passed


@pytest.mark.parametrize(("low", "passed"), [(0.01, True), (0.0099, False), (-0.02, False)])
def test_the_gain_over_the_rules_is_judged_on_the_lower_end_of_its_paired_interval(
    holdout, low, passed
):
    y_holdout, baselines = holdout
    candidate = _skilled(y_holdout)  # a point gain far above the margin

    result = evaluate_gate(_skill(candidate, baselines, low=low), None, MONEY_OK, CONFIG)

    check = _check(result, "gain_over_best_baseline")
    assert check.value > 0.3 and check.passed is passed
    assert f"90% paired interval {low:+.3f} to" in check.reason
    assert "its lower end needs >= +0.010" in check.reason
