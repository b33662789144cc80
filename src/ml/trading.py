"""The money side of a training run: a policy chosen on out-of-fold rows, checked on the holdout.

Every settlement charges the window's cost per side (src/ml/costs.py: fee, half the spread the
candles imply, slippage). The holdout check settles the saved policy's decisions on their next
candles beside buy-and-hold and staying flat, with block-bootstrap intervals (paired where two
things are compared). The holdout threshold sweep is computed for the report only, to show how
the choice would have fared; it never feeds back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.config import TradingConfig
from src.ml.backtest import (
    NextBars,
    Simulation,
    buy_and_hold,
    hold_log_growth,
    next_bars,
    simulate,
    strategy_stats,
)
from src.ml.bootstrap import HoldoutRows, bootstrap_intervals
from src.ml.costs import Costs
from src.ml.policy import PolicyChoice, TradingPolicy, best_pair, choose_policy, sweep
from src.registry.trading_record import SpreadFreeBest, TradingCheck


@dataclass(frozen=True)
class Settled:
    """A series of decisions and what they earned, for the record and the plots."""

    bars: NextBars
    simulation: Simulation


@dataclass(frozen=True)
class HoldoutTrading:
    record: TradingCheck
    policy: Settled
    buy_and_hold: Settled
    sweep: pd.DataFrame  # every candidate on the holdout: NOT used for the choice


@dataclass(frozen=True)
class SkillRows:
    """The ensemble's rival on the holdout for the paired skill interval: the best trivial rule."""

    metric: str
    baseline_name: str
    baseline_calls: np.ndarray


def choose_on_out_of_fold(
    candles: pd.DataFrame, oof_p_up: pd.Series, config: TradingConfig, costs: Costs
) -> PolicyChoice:
    """The policy for this set, chosen on the ensemble's out-of-fold P(up) (training window) at
    the window's cost per side; and the best pair had the spread been free, which tells an edge
    from the bid-ask bounce."""
    chosen_on = (
        f"{len(oof_p_up)} out-of-fold rows of the purged CV folds, "
        f"{oof_p_up.index[0]} .. {oof_p_up.index[-1]}"
    )
    bars = next_bars(candles, oof_p_up.index)
    p_up = oof_p_up.to_numpy()
    choice = choose_policy(
        p_up, bars, costs.per_side, config.allow_short, config.min_trades, chosen_on
    )
    free = best_pair(
        sweep(p_up, bars, costs.without_spread, config.allow_short), config.min_trades
    )
    without_spread = SpreadFreeBest(
        cost_per_side=costs.without_spread,
        entry=None if free is None else float(free.entry),
        exit=None if free is None else float(free.exit),
        net_return=None if free is None else float(free.net_return),
        trades=0 if free is None else int(free.trades),
    )
    record = choice.record.model_copy(update={"without_spread": without_spread})
    return PolicyChoice(choice.policy, record, choice.sweep)


def holdout_trading(
    candles: pd.DataFrame,
    policy: TradingPolicy,
    p_up: pd.Series,
    y_hold: pd.Series,
    cost_per_side: float,
    config: TradingConfig,
    seed: int,
    skill: SkillRows | None = None,
) -> HoldoutTrading:
    """The saved policy on the holdout rows, beside buy-and-hold and flat, at `cost_per_side`."""
    cost = cost_per_side
    bars = next_bars(candles, p_up.index)
    positions = policy.positions(p_up.to_numpy(), bars.segment_starts)
    simulation = simulate(positions, bars, cost)
    held = buy_and_hold(candles, p_up.index[0], bars.settled_at[-1])
    held_simulation = simulate(np.ones(len(held.index)), held, cost)
    flat = simulate(np.zeros(len(bars.index)), bars, cost)
    rows = HoldoutRows(
        y_true=y_hold.to_numpy(),
        y_pred=(p_up.to_numpy() > 0.5).astype("int64"),
        policy_net=simulation.net,
        hold_log_growth=hold_log_growth(candles, bars, cost),
        skill_metric=skill.metric if skill else "mcc",
        baseline_name=skill.baseline_name if skill else None,
        baseline_pred=skill.baseline_calls if skill else None,
    )
    record = TradingCheck(
        policy=strategy_stats(simulation, bars, cost),
        buy_and_hold=strategy_stats(held_simulation, held, cost),
        flat=strategy_stats(flat, bars, cost),
        bars_per_year=bars.bars_per_year,
        bootstrap=bootstrap_intervals(rows, config.bootstrap_samples, seed),
    )
    return HoldoutTrading(
        record=record,
        policy=Settled(bars, simulation),
        buy_and_hold=Settled(held, held_simulation),
        sweep=sweep(p_up.to_numpy(), bars, cost, config.allow_short),
    )
