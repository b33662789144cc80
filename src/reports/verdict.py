"""The verdict on a model set in two sentences, one on skill and one on money.

The console and the HTML report both end (and begin) with these, so they say the same thing.
"""

from __future__ import annotations

from src.registry.metadata import TrainingMetadata


def _best_baseline(metadata: TrainingMetadata) -> tuple[str, float]:
    skill, baselines = metadata.evaluation.skill_metric, metadata.baseline_metrics
    name = max(baselines, key=lambda key: getattr(baselines[key], skill))
    return name, getattr(baselines[name], skill)


def _skill_judgement(metadata: TrainingMetadata, gain: float) -> str:
    paired = metadata.trading_check.bootstrap.gain_over_best_baseline
    if paired is None:  # a record from before version 5: only the MCC's own interval
        if gain > 0 and metadata.trading_check.bootstrap.mcc.low > 0:
            return "real skill (its 90% interval excludes 0)"
        if gain > 0:
            return "an edge the holdout cannot tell from luck (the interval includes 0)"
        return "no skill beyond a trivial rule"
    interval = f"90% paired interval of the gain {paired.low:+.3f} to {paired.high:+.3f}"
    if paired.low > 0:
        return f"real skill ({interval}, which excludes 0)"
    if gain > 0:
        return f"an edge over that rule the holdout cannot tell from luck ({interval})"
    return f"no skill beyond a trivial rule ({interval})"


def skill_sentence(metadata: TrainingMetadata) -> str:
    ensemble, skill = metadata.ensemble_metrics, metadata.evaluation.skill_metric
    interval = metadata.trading_check.bootstrap.mcc
    best_name, best_value = _best_baseline(metadata)
    gain = getattr(ensemble, skill) - best_value
    auc = "n/a" if ensemble.roc_auc is None else f"{ensemble.roc_auc:.2f}"
    return (
        f"Skill: on {metadata.evaluation.holdout.samples} holdout rows the ensemble's MCC is "
        f"{ensemble.mcc:.3f} (90% interval {interval.low:.3f} to {interval.high:.3f}), "
        f"{gain:+.3f} {skill} over the best trivial rule ({best_name}, {best_value:.3f}), "
        f"ROC-AUC {auc}: {_skill_judgement(metadata, gain)}."
    )


def _bounce(metadata: TrainingMetadata) -> str:
    """Said of a flat policy whose out-of-fold edge existed only while the spread was free."""
    free, costs = metadata.policy.without_spread, metadata.costs
    if free is None or costs is None or free.net_return is None or free.net_return <= 0:
        return ""
    return (
        f"; with the spread free ({free.cost_per_side:.3%} per side) the best threshold pair "
        f"would have made {free.net_return:+.2%} over {free.trades} out-of-fold trades, so "
        f"its edge lived inside the {costs.spread:.2%} spread the candles imply: a bid-ask "
        "bounce, not an edge"
    )


def _per_trade(result) -> str:
    if result.avg_trade_gross_return is None:
        return ""
    pays = result.avg_trade_gross_return > result.round_trip_cost
    return (
        f"; before costs the average trade made {result.avg_trade_gross_return:+.3%} against a "
        f"{result.round_trip_cost:.3%} round trip"
        + ("" if pays else ", so the trades do not pay their costs")
    )


def money_sentence(metadata: TrainingMetadata) -> str:
    policy, trading = metadata.policy, metadata.trading_check
    held = trading.buy_and_hold.net_return
    if policy.entry is None:
        return (
            f"Money: the policy stays flat, because {policy.reason}{_bounce(metadata)}; "
            f"buy-and-hold made {held:+.1%} after costs over the holdout."
        )
    result = trading.policy
    verb = "made" if result.net_return >= 0 else "lost"
    interval = trading.bootstrap.net_return
    excess = trading.bootstrap.excess_over_buy_and_hold
    against = (
        ""
        if excess is None
        else f" (excess {result.net_return - held:+.1%}, 90% paired interval {excess.low:+.1%} "
        f"to {excess.high:+.1%})"
    )
    return (
        f"Money: after costs ({policy.cost_per_side:.3%} per side) the policy {verb} "
        f"{abs(result.net_return):.1%} on the holdout (90% interval {interval.low:+.1%} to "
        f"{interval.high:+.1%}) against buy-and-hold {held:+.1%}{against}; costs took "
        f"{result.fee_drag:.1%} over {result.trades} trades{_per_trade(result)}."
    )


def verdict_sentences(metadata: TrainingMetadata) -> list[str]:
    return [skill_sentence(metadata), money_sentence(metadata)]
