"""Settling trading decisions: each is made at a bar's close and settled on the next candle.

A decision whose next candle is missing (a gap in the candles) is flat: nothing is realised
across a gap. A position is closed (and paid for) at the end of every run of consecutive bars
and reopened after it. Buy-and-hold is the one exception: it holds through gaps, paying one
entry and one exit cost. Costs are per side (fee plus slippage), as a fraction of the notional.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.ml.labels import bar_step
from src.ml.live_health import with_entry_and_exit
from src.registry.trading_record import StrategyStats

_SECONDS_PER_YEAR = 365.25 * 24 * 3600  # crypto trades around the clock


@dataclass(frozen=True)
class NextBars:
    """What each decision row's next candle holds."""

    index: pd.DatetimeIndex  # the decision rows (their bar's timestamp; decided at its close)
    next_return: np.ndarray  # close of the next candle / close - 1; NaN where it is missing
    continues: np.ndarray  # the next decision row is the very next bar: a position carries on
    settled_at: pd.DatetimeIndex  # when each decision's result is realised (the next bar)
    bars_per_year: float

    @property
    def segment_starts(self) -> np.ndarray:
        """Rows where a run of consecutive bars starts: positions start flat there."""
        return np.r_[True, ~self.continues[:-1]]


def bar_length(candles: pd.DataFrame) -> pd.Timedelta:
    """The timeframe, read off the data: the median step between candles."""
    return pd.Timedelta(bar_step(candles.index), unit=candles.index.unit)


def next_bars(candles: pd.DataFrame, rows: pd.DatetimeIndex) -> NextBars:
    """The next candle of each decision row in `rows` (a subset of the candles' timestamps)."""
    step = bar_step(candles.index)  # in the index's own unit, as `times`
    bar = pd.Timedelta(step, unit=candles.index.unit)
    times = candles.index.asi8
    close = candles["close"].to_numpy()
    positions = candles.index.get_indexer(rows)
    if (positions < 0).any():
        raise ValueError("every decision row must be one of the candles' timestamps")
    has_next = positions + 1 < len(close)
    following = np.minimum(positions + 1, len(close) - 1)
    adjacent = has_next & (times[following] - times[positions] == step)
    next_return = np.where(adjacent, close[following] / close[positions] - 1.0, np.nan)
    continues = np.r_[np.diff(times[positions]) == step, False] & adjacent
    return NextBars(
        rows, next_return, continues, rows + bar, _SECONDS_PER_YEAR / bar.total_seconds()
    )


@dataclass(frozen=True)
class Simulation:
    """Per decision row: the position held over the next bar and what it earned."""

    positions: np.ndarray  # +1 long, -1 short, 0 flat (flat wherever the next bar is missing)
    gross: np.ndarray  # position x next-bar return
    costs: np.ndarray  # sides paid at this row x cost per side (entries, exits, reversals)
    net: np.ndarray  # the row's return after its costs, each paid on the notional at its time
    skipped_at_gaps: int  # decisions forced flat because their next candle is missing


def position_before(positions: np.ndarray, continues: np.ndarray) -> np.ndarray:
    """What was held going into each row: the previous row's position if it carries on to this
    one, else nothing (the first row, or the first after a break)."""
    return np.r_[0.0, np.where(continues[:-1], positions[:-1], 0.0)]


def simulate(positions: np.ndarray, bars: NextBars, cost_per_side: float) -> Simulation:
    """Settle `positions` (one per decision row) on their next candles, with costs per side."""
    missing = np.isnan(bars.next_return)
    wanted = np.asarray(positions, dtype="float64")
    held = np.where(missing, 0.0, wanted)
    before = position_before(held, bars.continues)
    sides_now = np.abs(held - before)  # paid at the decision, before the bar
    sides_after = np.where(bars.continues, 0.0, np.abs(held))  # a run ends: closed when settled
    gross = held * np.nan_to_num(bars.next_return)
    keep = 1.0 - cost_per_side
    net = keep**sides_now * (1.0 + gross) * keep**sides_after - 1.0
    costs = cost_per_side * (sides_now + sides_after)
    skipped = int(np.count_nonzero(missing & (wanted != 0)))
    return Simulation(held, gross, costs, net, skipped)


def _trade_ids(positions: np.ndarray, continues: np.ndarray) -> np.ndarray:
    """A trade number per row in the market (0 where flat): a trade is one position held over
    consecutive bars."""
    before = position_before(positions, continues)
    opens = (positions != 0) & (positions != before)
    return np.where(positions != 0, np.cumsum(opens), 0)


def _ratio(numerator: float, denominator: float) -> float | None:
    return float(numerator / denominator) if denominator > 0 else None


def _max_drawdown(equity: np.ndarray) -> float:
    path = np.r_[1.0, equity]
    return float(np.max(1.0 - path / np.maximum.accumulate(path)))


def strategy_stats(
    simulation: Simulation, bars: NextBars, cost_per_side: float
) -> StrategyStats:
    """What a trader reads off a run of decisions: returns, costs, trades and risk."""
    net, positions = simulation.net, simulation.positions
    trades = _trade_ids(positions, bars.continues)
    n_trades = int(trades.max(initial=0))
    # Each trade's compounded gross return, summed in logs per trade number.
    log_growth = np.bincount(trades, weights=np.log1p(simulation.gross), minlength=n_trades + 1)
    trade_gross = np.exp(log_growth[1:])
    trade_net = trade_gross * (1.0 - cost_per_side) ** 2 - 1.0  # one entry, one exit each
    losses = -trade_net[trade_net < 0].sum()
    downside = np.sqrt(np.mean(np.minimum(net, 0.0) ** 2)) if len(net) else 0.0
    annualise = np.sqrt(bars.bars_per_year)
    gross_return = float(np.prod(1.0 + simulation.gross) - 1.0)
    net_return = float(np.prod(1.0 + net) - 1.0)
    return StrategyStats(
        gross_return=gross_return,
        net_return=net_return,
        fee_drag=gross_return - net_return,
        costs_paid=float(simulation.costs.sum()),
        trades=n_trades,
        time_in_market=float(np.mean(positions != 0)) if len(positions) else 0.0,
        avg_trade_net_return=float(trade_net.mean()) if n_trades else None,
        avg_trade_gross_return=float(trade_gross.mean() - 1.0) if n_trades else None,
        round_trip_cost=2.0 * cost_per_side,
        hit_rate=float(np.mean(trade_net > 0)) if n_trades else None,
        profit_factor=_ratio(trade_net[trade_net > 0].sum(), losses) if n_trades else None,
        max_drawdown=_max_drawdown(np.cumprod(1.0 + net)),
        sharpe=_ratio(net.mean() * annualise, net.std()) if len(net) else None,
        sortino=_ratio(net.mean() * annualise, downside) if len(net) else None,
        skipped_at_gaps=simulation.skipped_at_gaps,
    )


def buy_and_hold(candles: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> NextBars:
    """Holding from the close of `start` to the close of `end`, through any gaps: one position
    that never ends before `end`."""
    window = candles.loc[start:end]
    rows = window.index[:-1]
    close = window["close"].to_numpy()
    bar = bar_length(candles)
    return NextBars(
        index=rows,
        next_return=close[1:] / close[:-1] - 1.0,
        continues=np.r_[np.ones(len(rows) - 1, dtype=bool), False],
        settled_at=window.index[1:],
        bars_per_year=_SECONDS_PER_YEAR / bar.total_seconds(),
    )


def hold_log_growth(candles: pd.DataFrame, bars: NextBars, cost_per_side: float) -> np.ndarray:
    """Buy-and-hold's log growth after costs credited to each decision row: from its close to
    the next decision row's close (the last row's: to the close buy-and-hold sells at), so the
    rows add up to buy-and-hold's whole move across any gap, as `buy_and_hold` holds through it;
    its entry is paid at the first row and its exit at the last, as a policy pays at the rows
    where it trades."""
    close = candles["close"]
    at_rows = close.reindex(bars.index).to_numpy()
    sold_at = close.loc[: bars.settled_at[-1]].iloc[-1]
    return with_entry_and_exit(np.log(np.r_[at_rows[1:], sold_at] / at_rows), cost_per_side)
