"""Quality gate: the seed's F1 floor, skill over the best baseline, money after fees, and
champion/challenger. Every check must pass to promote; each says what it measured."""

from __future__ import annotations

from dataclasses import dataclass

from src.config import MoneyCheckConfig, QualityGateConfig
from src.ml.evaluation import two_standard_errors
from src.registry.metadata import StrategyStats


@dataclass(frozen=True)
class Money:
    """The saved policy's holdout result after costs, and buy-and-hold's on the same period."""

    policy_flat: bool
    policy: StrategyStats
    buy_and_hold: StrategyStats


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
    candidate: dict[str, float],
    baselines: dict[str, dict[str, float]],
    champion: dict | None,
    money: Money,
    config: QualityGateConfig,
    forced: bool = False,
) -> GateResult:
    """Judge the candidate ensemble's holdout metrics and its policy's holdout money.

    `champion` holds the live ensemble's and the candidate's metrics on the same holdout rows
    (those the live models never trained on) and their count, or None when there is no
    comparable live set.
    """
    skill = config.skill_metric
    f1 = candidate["f1_score"]
    checks = [
        GateCheck(
            "min_f1",
            f1,
            config.min_f1,
            f1 >= config.min_f1,
            f"ensemble holdout F1 (weighted over both classes) {f1:.3f} "
            f"{'>=' if f1 >= config.min_f1 else '<'} {config.min_f1} (the seed's minimum)",
        )
    ]
    best_name = max(baselines, key=lambda name: baselines[name][skill])
    gain = candidate[skill] - baselines[best_name][skill]
    checks.append(
        GateCheck(
            "gain_over_best_baseline",
            gain,
            config.min_gain_over_best_baseline,
            gain >= config.min_gain_over_best_baseline,
            f"ensemble holdout {skill} {candidate[skill]:.3f} is {gain:+.3f} over the best "
            f"baseline {best_name} ({baselines[best_name][skill]:.3f}); needs "
            f">= {config.min_gain_over_best_baseline:+.3f}",
        )
    )
    if config.money.enabled:
        checks.append(_money_check(money, config.money))
    if champion is not None:
        checks.append(_champion_check(champion, skill, config))
    return GateResult(checks=tuple(checks), forced=forced)


def _money_check(money: Money, config: MoneyCheckConfig) -> GateCheck:
    if money.policy_flat:
        return GateCheck(
            "money",
            0.0,
            config.min_excess_return,
            False,
            "the trading policy is flat: no tradeable edge after fees on the out-of-fold rows, "
            "so the set is not promoted as a trading model (--force promotes it anyway)",
        )
    policy, held = money.policy, money.buy_and_hold
    excess = policy.net_return - held.net_return
    passed = excess >= config.min_excess_return and policy.trades >= config.min_trades
    return GateCheck(
        "money",
        excess,
        config.min_excess_return,
        passed,
        f"after fees the policy made {policy.net_return:+.2%} on the holdout against "
        f"buy-and-hold {held.net_return:+.2%} ({excess:+.2%}; needs >= "
        f"{config.min_excess_return:+.2%}) over {policy.trades} trades (needs >= "
        f"{config.min_trades})",
    )


def _champion_check(champion: dict, skill: str, config: QualityGateConfig) -> GateCheck:
    """The challenger loses only when the live set beats it by more than the margin and by more
    than two standard errors on the rows compared: a smaller lead is noise."""
    production, candidate = champion["production"][skill], champion["candidate"][skill]
    drop, rows = production - candidate, champion["rows"]
    noise = two_standard_errors(skill, rows)
    bound = max(config.max_drop_vs_production, noise)
    return GateCheck(
        "max_drop_vs_production",
        drop,
        bound,
        drop <= bound,
        f"on {rows} holdout rows the live models never trained on, production {skill} "
        f"{production:.3f} vs candidate {candidate:.3f} (drop {drop:+.3f}; allowed <= "
        f"{bound:.3f}, the larger of the margin {config.max_drop_vs_production:.3f} and 2 "
        f"standard errors {noise:.3f} on {rows} rows)",
    )
