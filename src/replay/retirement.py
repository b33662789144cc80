"""The weekly job with the gate and retirement, replayed: the live set is judged at every bar of
the weeks it trades, on its decisions since it went live (src/ml/live_health.py, as the paper
trader judges it), and trades flat from the bar it fails until the gate promotes a successor.

Its gate is its own: a retired set is no champion, so a candidate the gate alone would keep for
falling short of a failed live set can replace it here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from src.config import Settings
from src.ml.backtest import hold_log_growth, next_bars, simulate, strategy_stats
from src.ml.live_health import Judging, TradedBars, judge_live, with_entry_and_exit


@dataclass
class RetiringLive:
    """The set this policy has live, what it traded since it went live, and whether it is
    retired."""

    key: str
    model_set: dict
    holdout_mcc: float
    holdout_rows: int
    p_up: list[np.ndarray] = field(default_factory=list)
    went_up: list[np.ndarray] = field(default_factory=list)
    net: list[np.ndarray] = field(default_factory=list)
    hold: list[np.ndarray] = field(default_factory=list)  # log growth per bar, before costs
    retired_at: str | None = None
    reason: str | None = None


def trade_week(live: RetiringLive | None, X, y, candles, cost: float, settings: Settings) -> dict:
    """The week's trading under retirement: the live set until the bar it fails, then flat."""
    if live is None or live.retired_at is not None:
        return {"set": live and live.key, "retired_at": live and live.retired_at,
                "net_return": 0.0, "trades": 0}  # fmt: skip
    p_up = live.model_set["ensemble"].predict_proba(X)[:, 1]
    bars = next_bars(candles, X.index)
    positions = live.model_set["policy"].positions(p_up, bars.segment_starts)
    week = (p_up, y.to_numpy(), simulate(positions, bars, cost).net,
            hold_log_growth(candles, bars, 0.0))  # fmt: skip
    horizon = settings.training.label.horizon
    earlier = sum(len(part) for part in live.p_up)
    # The set's decisions since it went live, this week's included; each bar reads a prefix.
    tenure = [
        np.concatenate([*kept, now])
        for kept, now in zip((live.p_up, live.went_up, live.net, live.hold), week, strict=True)
    ]
    retired_bar, judging = None, Judging.of(settings)
    judged_bars = range(len(p_up)) if settings.degradation.retirement.enabled else range(0)
    for bar in judged_bars:
        # At a bar's close the decisions up to `horizon` bars back are settled and labelled.
        known = earlier + max(0, bar - horizon + 1)
        p_known, up_known, net_known, hold_known = (part[:known] for part in tenure)
        bars_known = TradedBars(p_known, up_known, net_known, with_entry_and_exit(hold_known, cost))
        health = judge_live(bars_known, live.holdout_mcc, live.holdout_rows, judging)
        if health is not None and health.failed:
            retired_bar, live.reason = bar, "; ".join(health.problems)
            live.retired_at = X.index[bar].isoformat()
            break
    if retired_bar is not None:
        positions = np.where(np.arange(len(positions)) >= retired_bar, 0.0, positions)
    settled = simulate(positions, bars, cost)
    net = settled.net
    for kept, values in zip((live.p_up, live.went_up, live.net, live.hold),
                            (p_up, y.to_numpy(), net, week[3]), strict=True):  # fmt: skip
        kept.append(values[:retired_bar])
    return {
        "set": live.key,
        "retired_at": live.retired_at,
        "net_return": float(np.prod(1.0 + net) - 1.0),
        "trades": strategy_stats(settled, bars, cost).trades,
    }
