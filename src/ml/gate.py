"""Quality gate: the seed's F1 floor, skill over the best baseline, and champion/challenger."""

from __future__ import annotations

from dataclasses import dataclass

from src.config import QualityGateConfig
from src.ml.evaluation import two_standard_errors


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
    config: QualityGateConfig,
    forced: bool = False,
) -> GateResult:
    """Judge the candidate ensemble's holdout metrics. All checks must pass to promote.

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
            f"ensemble holdout F1 {f1:.3f} {'>=' if f1 >= config.min_f1 else '<'} "
            f"{config.min_f1} (the seed's minimum)",
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
    if champion is not None:
        checks.append(_champion_check(champion, skill, config))
    return GateResult(checks=tuple(checks), forced=forced)


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
