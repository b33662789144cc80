"""From P(up) to a position: entry and exit thresholds with hysteresis, chosen out-of-sample.

The policy goes long when P(up) rises above `entry` and stays long until P(up) falls below
`exit` (<= entry), so a probability hovering near one threshold does not pay a round trip every
bar. With `allow_short` the mirror rule holds on the other side: short below 1 - entry, covered
above 1 - exit. A policy with no thresholds is flat: no tradeable edge after costs was found.

`choose_policy` picks the thresholds on the out-of-fold predictions of the purged CV folds of
the training window, never on the holdout: it maximises the net return after fees and slippage
(the figure the trader keeps, and the one the gate then judges against buy-and-hold on the
holdout) among thresholds that trade at least `min_trades` times, and stays flat unless that
beats staying out (a net return above zero).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.ml.backtest import NextBars, simulate, strategy_stats
from src.registry.metadata import PolicyRecord, StrategyStats

ENTRY_GRID = np.round(np.arange(0.50, 0.8001, 0.01), 2)
EXIT_OFFSETS = (0.0, 0.02, 0.05, 0.10)  # hysteresis: exit = entry - offset


@dataclass(frozen=True)
class TradingPolicy:
    entry: float | None = None  # long while P(up) > entry (None: the flat policy)
    exit: float | None = None  # a long is closed when P(up) < exit
    allow_short: bool = False

    def __post_init__(self) -> None:
        if (self.entry is None) != (self.exit is None):
            raise ValueError("a policy has both an entry and an exit threshold, or neither")
        if self.entry is None:
            return
        lowest_exit = 0.5 if self.allow_short else 0.0
        if not (0.5 <= self.entry < 1.0 and lowest_exit <= self.exit <= self.entry):
            raise ValueError(
                f"need 0.5 <= entry < 1 and {lowest_exit} <= exit <= entry; got entry "
                f"{self.entry}, exit {self.exit}"
            )

    @property
    def flat(self) -> bool:
        return self.entry is None

    def next_position(self, p_up: float, held: int = 0) -> int:
        """The position to hold over the next bar, given P(up) at this bar's close and the
        position held now (+1 long, -1 short, 0 flat). The bot calls this once per bar."""
        if self.flat:
            return 0
        if (held == 1 and p_up < self.exit) or (held == -1 and p_up > 1.0 - self.exit):
            held = 0
        if held == 0 and p_up > self.entry:
            return 1
        if held == 0 and self.allow_short and p_up < 1.0 - self.entry:
            return -1
        return held

    def positions(self, p_up: np.ndarray, segment_starts: np.ndarray) -> np.ndarray:
        """`next_position` over a series, starting flat at each segment start (after a gap)."""
        p_up = np.asarray(p_up, dtype="float64")
        if self.flat:
            return np.zeros(len(p_up))
        long = _latch(p_up > self.entry, p_up < self.exit, segment_starts)
        if not self.allow_short:
            return long
        short = _latch(p_up < 1.0 - self.entry, p_up > 1.0 - self.exit, segment_starts)
        return long - short

    def describe(self) -> str:
        if self.flat:
            return "flat (no trades)"
        side = "long and short" if self.allow_short else "long only"
        return f"{side}: enter when P(up) > {self.entry:.2f}, exit when P(up) < {self.exit:.2f}"

    def to_record(self) -> dict:
        return {"entry": self.entry, "exit": self.exit, "allow_short": self.allow_short}

    @classmethod
    def from_record(cls, record) -> TradingPolicy:
        """The policy a set's metadata (`PolicyRecord`) describes."""
        return cls(record.entry, record.exit, record.allow_short)


def _latch(on: np.ndarray, off: np.ndarray, resets: np.ndarray) -> np.ndarray:
    """1.0 from a row where `on` holds until the next row where `off` holds (or a reset)."""
    events = np.where(on, 1, np.where(off | resets, -1, 0))
    last_event = np.maximum.accumulate(np.where(events != 0, np.arange(len(events)), 0))
    return (events[last_event] == 1).astype("float64")


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


def _best_loser(table: pd.DataFrame, min_trades: int) -> str:
    trading = table[table["trades"] >= min_trades]
    if trading.empty:
        return f" (none traded {min_trades} times)"
    best = trading.sort_values("net_return", ascending=False).iloc[0]
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
    eligible = table[(table["trades"] >= min_trades) & (table["net_return"] > 0.0)]
    if eligible.empty:
        policy = TradingPolicy(allow_short=allow_short)
        reason = (
            f"no tradeable edge after costs: no threshold pair with >= {min_trades} trades made "
            f"a positive net return on the out-of-fold rows{_best_loser(table, min_trades)}"
        )
    else:
        best = eligible.sort_values(["net_return", "trades"], ascending=[False, True]).iloc[0]
        policy = TradingPolicy(float(best.entry), float(best.exit), allow_short)
        reason = (
            f"best net return after costs of {len(table)} threshold pairs with >= "
            f"{min_trades} trades on the out-of-fold rows"
        )
    record = PolicyRecord(
        **policy.to_record(),
        cost_per_side=cost_per_side,
        min_trades=min_trades,
        objective="net return after fees and slippage",
        chosen_on=chosen_on,
        reason=reason,
        out_of_fold=evaluate(policy, oof_p_up, bars, cost_per_side),
    )
    return PolicyChoice(policy, record, table)
