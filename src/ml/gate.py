"""Quality gate: the seed's F1 floor, skill over the best baseline, money after costs, and
champion/challenger. Every check must pass to promote; each says what it measured."""

from __future__ import annotations

from dataclasses import dataclass

from src.config import MoneyCheckConfig, QualityGateConfig
from src.ml.costs import describe_costs
from src.registry.trading_record import CostRecord, Interval, StrategyStats


@dataclass(frozen=True)
class Money:
    """The saved policy's holdout result after costs, and buy-and-hold's on the same period."""

    policy_flat: bool
    policy: StrategyStats
    buy_and_hold: StrategyStats
    excess_interval: Interval  # 90% paired block bootstrap of policy net - buy-and-hold net
    costs: CostRecord  # what each side was charged, and the spread estimates behind it


@dataclass(frozen=True)
class Skill:
    """The candidate ensemble's holdout metrics, the trivial rules' on the same rows, and the
    paired interval of its gain over the best of them in the gate's skill metric."""

    candidate: dict[str, float]
    baselines: dict[str, dict[str, float]]
    gain_interval: Interval


@dataclass(frozen=True)
class Champion:
    """The live ensemble against the candidate on the candidate's holdout rows the live models
    never trained on: both scores, and the paired interval of the live set's lead."""

    production: dict[str, float]
    candidate: dict[str, float]
    rows: int
    lead_interval: Interval  # production minus candidate, skill metric, same resamples


@dataclass(frozen=True)
class GateCheck:
    name: str
    value: float
    threshold: float
    passed: bool
    reason: str  # why it failed, or what it measured when it passed


@dataclass(frozen=True)
class GateResult:
    checks: tuple[GateCheck, ...]
    forced: bool = False

    @property
    def passed(self) -> bool:
        return all(check.passed for check in self.checks)

    @property
    def reasons(self) -> list[str]:
        return [check.reason for check in self.checks if not check.passed]

    @property
    def deciding(self) -> list[str]:
        """The checks that decided: the failing ones, or all of them when everything passed."""
        failed = [check.name for check in self.checks if not check.passed]
        return failed or [check.name for check in self.checks]

    def to_dict(self) -> dict:
        return {
            "passed": self.passed,
            "forced": self.forced,
            "reasons": self.reasons,
            "checks": [check.__dict__ for check in self.checks],
        }


def evaluate_gate(
    skill: Skill,
    champion: Champion | None,
    money: Money,
    config: QualityGateConfig,
    forced: bool = False,
) -> GateResult:
    """Judge the candidate ensemble's holdout skill and its policy's holdout money.

    `champion` compares the live ensemble with the candidate on the same holdout rows (those the
    live models never trained on), or is None when there is no comparable live set.
    """
    f1 = skill.candidate["f1_score"]
    checks = [
        GateCheck(
            "min_f1",
            f1,
            config.min_f1,
            f1 >= config.min_f1,
            f"ensemble holdout F1 (weighted over both classes) {f1:.3f} "
            f"{'>=' if f1 >= config.min_f1 else '<'} {config.min_f1} (the seed's minimum)",
        ),
        _gain_check(skill, config),
    ]
    if config.money.enabled:
        checks.append(_money_check(money, config.money))
    if champion is not None:
        checks.append(_champion_check(champion, config.skill_metric, config))
    return GateResult(checks=tuple(checks), forced=forced)


def _gain_check(skill: Skill, config: QualityGateConfig) -> GateCheck:
    """The ensemble must beat the best trivial rule by the margin across the lower end of the
    paired interval of its gain: a lead the holdout cannot tell from luck is not skill."""
    metric, baselines = config.skill_metric, skill.baselines
    best_name = max(baselines, key=lambda name: baselines[name][metric])
    gain = skill.candidate[metric] - baselines[best_name][metric]
    interval, margin = skill.gain_interval, config.min_gain_over_best_baseline
    return GateCheck(
        "gain_over_best_baseline",
        gain,
        margin,
        interval.low >= margin,
        f"ensemble holdout {metric} {skill.candidate[metric]:.3f} is {gain:+.3f} over the best "
        f"baseline {best_name} ({baselines[best_name][metric]:.3f}), 90% paired interval "
        f"{interval.low:+.3f} to {interval.high:+.3f}; its lower end needs >= {margin:+.3f}",
    )


def _money_check(money: Money, config: MoneyCheckConfig) -> GateCheck:
    costs = describe_costs(money.costs)
    if money.policy_flat:
        return GateCheck(
            "money",
            0.0,
            config.min_excess_return,
            False,
            f"the trading policy is flat: no tradeable edge after costs ({costs}) on the "
            "out-of-fold rows, so the set is not promoted as a trading model (--force promotes "
            "it anyway)",
        )
    policy, held, interval = money.policy, money.buy_and_hold, money.excess_interval
    excess = policy.net_return - held.net_return
    passed = interval.low >= config.min_excess_return and policy.trades >= config.min_trades
    return GateCheck(
        "money",
        excess,
        config.min_excess_return,
        passed,
        f"after costs ({costs}) the policy made {policy.net_return:+.2%} on the holdout "
        f"against buy-and-hold {held.net_return:+.2%}: excess {excess:+.2%}, 90% interval "
        f"{interval.low:+.2%} to {interval.high:+.2%} (its lower end needs >= "
        f"{config.min_excess_return:+.2%}) over {policy.trades} trades (needs >= "
        f"{config.min_trades})",
    )


def _champion_check(champion: Champion, skill: str, config: QualityGateConfig) -> GateCheck:
    """The challenger loses only when the live set's lead is above the margin across the whole
    90% paired interval: a lead the rows cannot tell from noise does not keep a stale set."""
    production, candidate = champion.production[skill], champion.candidate[skill]
    lead, interval = production - candidate, champion.lead_interval
    margin = config.max_drop_vs_production
    return GateCheck(
        "max_drop_vs_production",
        lead,
        margin,
        interval.low <= margin,
        f"on {champion.rows} holdout rows the live models never trained on, production "
        f"{skill} {production:.3f} vs candidate {candidate:.3f}: the live set leads by "
        f"{lead:+.3f}, 90% paired interval {interval.low:+.3f} to {interval.high:+.3f} (fails "
        f"only when the whole interval is above the margin {margin:.3f})",
    )
