"""Is the live set still worth trading? Judged on the bars it traded since it went live.

Two failures count, each beyond noise, with the `degradation` thresholds:
- skill: its MCC on those bars is below its holdout MCC by more than the larger of
  `max_metric_drop` and three standard errors of that difference (both MCCs are estimates:
  1/sqrt(live bars) and 1/sqrt(holdout rows) each);
- money: its net after costs trails buy-and-hold over the same bars with the whole 98%
  block-bootstrap interval of the difference below zero (the gate asks a 90% interval's low end
  to clear zero before a set goes live; this asks the high end to be below zero before it leaves).

Judged from `min_samples` bars on, again at every bar. Those repeated looks are why the bands
are wider than the gate's and the dry run's single look (two standard errors, 90%): each look
is another chance to retire a good set by luck (a trial of bench/replay_example.py's replay at two
standard errors did that to the set of its best week).

numpy and the bootstrap only, so the paper trader (the live side) judges without the training
libraries.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from src.config import DegradationConfig, Settings
from src.ml.bootstrap import SKILL_METRICS, excess_interval
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
    excess_interval: Interval  # LOOK_LEVEL, of net minus buy-and-hold's net
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
            f"{self.buy_and_hold:+.2%} (98% interval of the difference "
            f"[{self.excess_interval.low:+.2%}, {self.excess_interval.high:+.2%}])"
        )


LOOK_SIGMAS = 3.0  # the skill band, in standard errors of the difference
LOOK_LEVEL = 0.98  # the money interval


def live_drop_limit(config: DegradationConfig, live_bars: int, holdout_rows: int) -> float:
    """The largest drop of the live MCC below the holdout MCC still called noise."""
    standard_error = np.sqrt(1.0 / max(live_bars, 1) + 1.0 / max(holdout_rows, 1))
    return max(config.max_metric_drop, LOOK_SIGMAS * float(standard_error))


@dataclass(frozen=True)
class Judging:
    """How a live set is judged: the degradation thresholds and the bootstrap's draws."""

    config: DegradationConfig
    samples: int
    seed: int

    @classmethod
    def of(cls, settings: Settings) -> Judging:
        return cls(settings.degradation, settings.trading.bootstrap_samples, settings.training.seed)


def judge_live(
    bars: TradedBars, holdout_mcc: float, holdout_rows: int, judging: Judging
) -> LiveHealth | None:
    """The verdict on `bars`, or None while there are fewer than `min_samples` of them."""
    config, samples, seed = judging.config, judging.samples, judging.seed
    if len(bars) < config.min_samples:
        return None
    went_up = np.asarray(bars.went_up, dtype="int64")
    calls = (np.asarray(bars.p_up) > 0.5).astype("int64")
    mcc = float(SKILL_METRICS["mcc"](went_up[None, :], calls[None, :])[0])
    limit = live_drop_limit(config, len(bars), holdout_rows)
    net = float(np.prod(1.0 + np.asarray(bars.policy_net)) - 1.0)
    held = float(np.expm1(np.sum(bars.hold_log_growth)))
    excess = excess_interval(bars.policy_net, bars.hold_log_growth, samples, seed, LOOK_LEVEL)
    problems = []
    if holdout_mcc - mcc > limit:
        problems.append(
            f"skill gone: MCC {mcc:.3f} over its {len(bars)} live bars vs {holdout_mcc:.3f} on "
            f"its holdout (drop {holdout_mcc - mcc:.3f} > {limit:.3f}, the larger of "
            f"max_metric_drop {config.max_metric_drop} and 3 standard errors)"
        )
    if excess.high < 0:
        problems.append(
            f"losing money: net {net:+.2%} after costs vs buy-and-hold {held:+.2%} over its "
            f"{len(bars)} live bars, the 98% interval of the difference "
            f"[{excess.low:+.2%}, {excess.high:+.2%}] entirely below zero"
        )
    return LiveHealth(len(bars), mcc, holdout_mcc, limit, net, held, excess, tuple(problems))


def with_entry_and_exit(log_growth: np.ndarray, cost_per_side: float) -> np.ndarray:
    """Buy-and-hold's log growth per row with its one entry paid at the first row and its one
    exit at the last (both at the same row when there is only one)."""
    charged = np.array(log_growth, dtype="float64")
    if len(charged):
        charged[0] += np.log1p(-cost_per_side)
        charged[-1] += np.log1p(-cost_per_side)
    return charged
