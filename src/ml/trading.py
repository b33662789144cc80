"""The money side of a training run: a policy chosen on out-of-fold rows, checked on the holdout.

The holdout check settles the saved policy's decisions on their next candles beside
buy-and-hold and staying flat, with block-bootstrap intervals. The holdout threshold sweep is
computed for the report only, to show how the choice would have fared; it never feeds back.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.config import TradingConfig
from src.ml.backtest import NextBars, Simulation, buy_and_hold, next_bars, simulate, strategy_stats
from src.ml.bootstrap import bootstrap_intervals
from src.ml.policy import PolicyChoice, TradingPolicy, choose_policy, sweep
from src.registry.metadata import TradingCheck


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


def choose_on_out_of_fold(
    candles: pd.DataFrame, oof_p_up: pd.Series, config: TradingConfig
) -> PolicyChoice:
    """The policy for this set, chosen on the ensemble's out-of-fold P(up) (training window)."""
    chosen_on = (
        f"{len(oof_p_up)} out-of-fold rows of the purged CV folds, "
        f"{oof_p_up.index[0]} .. {oof_p_up.index[-1]}"
    )
    bars = next_bars(candles, oof_p_up.index)
    return choose_policy(
        oof_p_up.to_numpy(),
        bars,
        config.cost_per_side,
        config.allow_short,
        config.min_trades,
        chosen_on,
    )


def holdout_trading(
    candles: pd.DataFrame,
    policy: TradingPolicy,
    p_up: pd.Series,
    y_hold: pd.Series,
    config: TradingConfig,
    seed: int,
) -> HoldoutTrading:
    """The saved policy on the holdout rows, beside buy-and-hold and flat."""
    cost = config.cost_per_side
    bars = next_bars(candles, p_up.index)
    positions = policy.positions(p_up.to_numpy(), bars.segment_starts)
    simulation = simulate(positions, bars, cost)
    held = buy_and_hold(candles, p_up.index[0], bars.settled_at[-1])
    held_simulation = simulate(np.ones(len(held.index)), held, cost)
    flat = simulate(np.zeros(len(bars.index)), bars, cost)
    y_pred = (p_up.to_numpy() > 0.5).astype("int64")
    record = TradingCheck(
        policy=strategy_stats(simulation, bars, cost),
        buy_and_hold=strategy_stats(held_simulation, held, cost),
        flat=strategy_stats(flat, bars, cost),
        bars_per_year=bars.bars_per_year,
        bootstrap=bootstrap_intervals(
            y_hold.to_numpy(), y_pred, simulation.net, config.bootstrap_samples, seed
        ),
    )
    return HoldoutTrading(
        record=record,
        policy=Settled(bars, simulation),
        buy_and_hold=Settled(held, held_simulation),
        sweep=sweep(p_up.to_numpy(), bars, cost, config.allow_short),
    )
