"""Is the live set still worth trading? Judged on the bars it traded since it went live.

Two failures count, each beyond noise, with the `degradation` thresholds:
- skill: its MCC on those bars is below its holdout MCC by more than the larger of
  `max_metric_drop` and two standard errors at that many bars (the dry run's rule);
- money: its net after costs trails buy-and-hold over the same bars with the whole 90%
  block-bootstrap interval of the difference below zero (the gate asks the interval's low end to
  clear zero before a set goes live; this asks its high end to be below zero before it leaves).

Judged from `min_samples` bars on, again at every bar: repeated looks raise the chance that a
set with its recorded skill is retired by luck above a single test's 5%; the two-standard-error
band and the bar minimum keep it rare, and a retired set's successor still has to pass the gate.

numpy and the bootstrap only, so the paper trader (the live side) judges without the training
libraries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.config import DegradationConfig
from src.ml.bootstrap import SKILL_METRICS, excess_interval, two_standard_errors
from src.registry.trading_record import Interval


@dataclass(frozen=True)
class TradedBars:
    """What a set traded, one entry per settled decision, oldest first."""

    p_up: np.ndarray
    went_up: np.ndarray  # 1 where the decision's label (the set's horizon and threshold) was up
    policy_net: np.ndarray  # the decision's net return after its costs
    # Buy-and-hold's log growth per decision, its entry and exit costs at the first and last.
    hold_log_growth: np.ndarray

    def __len__(self) -> int:
        return len(self.p_up)


@dataclass(frozen=True)
class LiveHealth:
    bars: int
    mcc: float
    holdout_mcc: float
    mcc_limit: float  # the largest drop from holdout_mcc still called noise
    net_return: float
    buy_and_hold: float
    excess_interval: Interval  # 90%, of net minus buy-and-hold's net
    problems: tuple[str, ...]

    @property
    def failed(self) -> bool:
        return bool(self.problems)

    def evidence(self) -> dict:
        """What a retirement event records."""
        return {
            "bars": self.bars,
            "mcc": self.mcc,
            "holdout_mcc": self.holdout_mcc,
            "mcc_limit": self.mcc_limit,
            "net_return": self.net_return,
            "buy_and_hold": self.buy_and_hold,
            "excess_interval": self.excess_interval.to_dict(),
        }

    def summary(self) -> str:
        return (
            f"{self.bars} bars live: MCC {self.mcc:.3f} (holdout {self.holdout_mcc:.3f}, noise "
            f"band {self.mcc_limit:.3f}); net {self.net_return:+.2%} vs buy-and-hold "
            f"{self.buy_and_hold:+.2%} (90% interval of the difference "
            f"[{self.excess_interval.low:+.2%}, {self.excess_interval.high:+.2%}])"
        )


def skill_drop_limit(config: DegradationConfig, metric: str, rows: int) -> float:
    """The largest drop of a skill metric below its recorded value still called noise."""
    return max(config.max_metric_drop, two_standard_errors(metric, rows))


def judge_live(
    bars: TradedBars, holdout_mcc: float, config: DegradationConfig, samples: int, seed: int
) -> LiveHealth | None:
    """The verdict on `bars`, or None while there are fewer than `config.min_samples`."""
    if len(bars) < config.min_samples:
        return None
    went_up = np.asarray(bars.went_up, dtype="int64")
    calls = (np.asarray(bars.p_up) > 0.5).astype("int64")
    mcc = float(SKILL_METRICS["mcc"](went_up[None, :], calls[None, :])[0])
    limit = skill_drop_limit(config, "mcc", len(bars))
    net = float(np.prod(1.0 + np.asarray(bars.policy_net)) - 1.0)
    held = float(np.expm1(np.sum(bars.hold_log_growth)))
    excess = excess_interval(bars.policy_net, bars.hold_log_growth, samples, seed)
    problems = []
    if holdout_mcc - mcc > limit:
        problems.append(
            f"skill gone: MCC {mcc:.3f} over its {len(bars)} live bars vs {holdout_mcc:.3f} on "
            f"its holdout (drop {holdout_mcc - mcc:.3f} > {limit:.3f}, the larger of "
            f"max_metric_drop {config.max_metric_drop} and 2 standard errors)"
        )
    if excess.high < 0:
        problems.append(
            f"losing money: net {net:+.2%} after costs vs buy-and-hold {held:+.2%} over its "
            f"{len(bars)} live bars, the 90% interval of the difference "
            f"[{excess.low:+.2%}, {excess.high:+.2%}] entirely below zero"
        )
    return LiveHealth(len(bars), mcc, holdout_mcc, limit, net, held, excess, tuple(problems))

