"""The verdict on a model set in two sentences, one on skill and one on money.

The console and the HTML report both end (and begin) with these, so they say the same thing.
"""

from __future__ import annotations

from src.registry.metadata import TrainingMetadata


def _best_baseline(metadata: TrainingMetadata) -> tuple[str, float]:
    skill, baselines = metadata.evaluation.skill_metric, metadata.baseline_metrics
    name = max(baselines, key=lambda key: getattr(baselines[key], skill))
    return name, getattr(baselines[name], skill)


def skill_sentence(metadata: TrainingMetadata) -> str:
    ensemble, skill = metadata.ensemble_metrics, metadata.evaluation.skill_metric
    interval = metadata.trading_check.bootstrap.mcc
    best_name, best_value = _best_baseline(metadata)
    gain = getattr(ensemble, skill) - best_value
    if gain > 0 and interval.low > 0:
        judgement = "real skill (its 90% interval excludes 0)"
    elif gain > 0:
        judgement = "an edge the holdout cannot tell from luck (the interval includes 0)"
    else:
        judgement = "no skill beyond a trivial rule"
    auc = "n/a" if ensemble.roc_auc is None else f"{ensemble.roc_auc:.2f}"
    return (
        f"Skill: on {metadata.evaluation.holdout.samples} holdout rows the ensemble's MCC is "
        f"{ensemble.mcc:.3f} (90% interval {interval.low:.3f} to {interval.high:.3f}), "
        f"{gain:+.3f} {skill} over the best trivial rule ({best_name}, {best_value:.3f}), "
        f"ROC-AUC {auc}: {judgement}."
    )


def money_sentence(metadata: TrainingMetadata) -> str:
    policy, trading = metadata.policy, metadata.trading_check
    held = trading.buy_and_hold.net_return
    if policy.entry is None:
        return (
            f"Money: the policy stays flat, because {policy.reason}; buy-and-hold made "
            f"{held:+.1%} after fees over the holdout."
        )
    result = trading.policy
    verb = "made" if result.net_return >= 0 else "lost"
    interval = trading.bootstrap.net_return
    return (
        f"Money: after fees and slippage the policy {verb} {abs(result.net_return):.1%} on the "
        f"holdout (90% interval {interval.low:+.1%} to {interval.high:+.1%}) against "
        f"buy-and-hold {held:+.1%}; before costs it made {result.gross_return:+.1%}, and costs "
        f"took {result.fee_drag:.1%} over {result.trades} trades "
        f"({result.round_trip_cost:.2%} per round trip)."
    )


def verdict_sentences(metadata: TrainingMetadata) -> list[str]:
    return [skill_sentence(metadata), money_sentence(metadata)]
