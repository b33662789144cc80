"""Choosing the trading policy: entry and exit thresholds with hysteresis, chosen out-of-sample.

The rule that turns P(up) into a position is `TradingPolicy` (src/position_rule.py, shared
with the live predictor).

`choose_policy` picks the thresholds on the out-of-fold predictions of the purged CV folds of
the training window, never on the holdout: it maximises the net return after costs per side
(the figure the trader keeps, and the one the gate then judges against buy-and-hold on the
holdout) among thresholds that trade at least `min_trades` times, and stays flat unless that
beats staying out (a net return above zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.ml.backtest import NextBars, simulate, strategy_stats
from src.position_rule import TradingPolicy
from src.registry.trading_record import PolicyRecord, StrategyStats

ENTRY_GRID = np.round(np.arange(0.50, 0.8001, 0.01), 2)
EXIT_OFFSETS = (0.0, 0.02, 0.05, 0.10)  # hysteresis: exit = entry - offset


@dataclass(frozen=True)
class PolicyChoice:
    policy: TradingPolicy
    record: PolicyRecord  # what the metadata keeps: thresholds, costs, the OOF figures, why
    sweep: pd.DataFrame  # entry, exit, net_return, trades for every candidate, on the OOF rows


def evaluate(
    policy: TradingPolicy, p_up: np.ndarray, bars: NextBars, cost_per_side: float
) -> StrategyStats:
    positions = policy.positions(p_up, bars.segment_starts)
    return strategy_stats(simulate(positions, bars, cost_per_side), bars, cost_per_side)


def candidate_policies(allow_short: bool) -> list[TradingPolicy]:
    lowest_exit = 0.5 if allow_short else 0.0
    pairs = {
        (float(entry), round(max(float(entry) - offset, lowest_exit), 2))
        for entry in ENTRY_GRID
        for offset in EXIT_OFFSETS
    }
    return [TradingPolicy(entry, exit_, allow_short) for entry, exit_ in sorted(pairs)]


def sweep(p_up: np.ndarray, bars: NextBars, cost_per_side: float, allow_short: bool):
    """Net return and trades of every candidate policy on these rows."""
    rows = []
    for policy in candidate_policies(allow_short):
        stats = evaluate(policy, p_up, bars, cost_per_side)
        rows.append((policy.entry, policy.exit, stats.net_return, stats.trades))
    return pd.DataFrame(rows, columns=["entry", "exit", "net_return", "trades"])


def best_pair(table: pd.DataFrame, min_trades: int):
    """The row of the sweep with the best net return among pairs with >= `min_trades` trades
    (fewer trades first on a tie), or None when none traded that often."""
    trading = table[table["trades"] >= min_trades]
    if trading.empty:
        return None
    return trading.sort_values(["net_return", "trades"], ascending=[False, True]).iloc[0]


def _best_loser(table: pd.DataFrame, min_trades: int) -> str:
    best = best_pair(table, min_trades)
    if best is None:
        return f" (none traded {min_trades} times)"
    return (
        f" (the best lost {-best.net_return:.2%} over {int(best.trades)} trades, entry "
        f"{best.entry:.2f}, exit {best.exit:.2f})"
    )


def choose_policy(
    oof_p_up: np.ndarray,
    bars: NextBars,
    cost_per_side: float,
    allow_short: bool,
    min_trades: int,
    chosen_on: str,
) -> PolicyChoice:
    """The thresholds with the best net return after costs on out-of-fold rows, or flat."""
    table = sweep(oof_p_up, bars, cost_per_side, allow_short)
    best = best_pair(table, min_trades)
    if best is None or best.net_return <= 0.0:
        policy = TradingPolicy(allow_short=allow_short)
        reason = (
            f"no tradeable edge after costs: no threshold pair with >= {min_trades} trades made "
            f"a positive net return on the out-of-fold rows{_best_loser(table, min_trades)}"
        )
    else:
        policy = TradingPolicy(float(best.entry), float(best.exit), allow_short)
        reason = (
            f"best net return after costs of {len(table)} threshold pairs with >= "
            f"{min_trades} trades on the out-of-fold rows"
        )
    record = PolicyRecord(
        **policy.to_record(),
        cost_per_side=cost_per_side,
        min_trades=min_trades,
        objective="net return after costs, half the spread and slippage per side",
        chosen_on=chosen_on,
        reason=reason,
        out_of_fold=evaluate(policy, oof_p_up, bars, cost_per_side),
    )
    return PolicyChoice(policy, record, table)
