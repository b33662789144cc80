"""The metadata's trading records: the cost of a side and the spread estimates behind it, the
policy saved with the set, and its check on the holdout with the bootstrap intervals."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from src.registry.record import Record, Share, Timestamp


class StrategyStats(Record):
    """A run of trading decisions, after costs (fee, half the spread, slippage) unless gross.

    Returns are compounded fractions (0.05 = +5%); trades count positions opened; hit rate and
    profit factor are over trades (each paying one entry and one exit); Sharpe and Sortino are
    per-bar figures annualised from the timeframe (365.25 days a year: crypto never closes).
    """

    gross_return: float
    net_return: float
    fee_drag: float  # gross_return - net_return
    costs_paid: float  # sum of the per-side costs paid, in fractions of the notional
    trades: Annotated[int, Field(ge=0)]
    time_in_market: Share
    avg_trade_net_return: float | None
    round_trip_cost: float
    hit_rate: Share | None
    profit_factor: float | None  # null without a losing trade
    max_drawdown: Share
    sharpe: float | None
    sortino: float | None
    skipped_at_gaps: Annotated[int, Field(ge=0)]  # decisions forced flat: next candle missing
    # Before costs, per trade: set it beside round_trip_cost to see whether an edge pays its way
    # (null in records from before version 5, and without a trade).
    avg_trade_gross_return: float | None = None


class SpreadFreeBest(Record):
    """The best threshold pair on the out-of-fold rows when only the fee and slippage are
    charged: an edge there that is gone once half the spread is charged per side was the
    bid-ask bounce, not an edge."""

    cost_per_side: float
    entry: float | None  # null: no pair with enough trades made money even then
    exit: float | None
    net_return: float | None
    trades: Annotated[int, Field(ge=0)]


class PolicyRecord(Record):
    """The trading policy saved with the set, and the out-of-fold figures it was chosen on."""

    entry: float | None  # null: the flat policy (no tradeable edge after costs)
    exit: float | None
    allow_short: bool
    cost_per_side: float
    min_trades: int
    objective: str
    chosen_on: str
    reason: str
    out_of_fold: StrategyStats  # in-sample for the choice: the holdout figure is the honest one
    without_spread: SpreadFreeBest | None = None  # null before version 5


class Interval(Record):
    low: float
    high: float


class BootstrapRecord(Record):
    samples: int
    block_length: int  # rows per block of the moving-block bootstrap
    seed: int
    level: float
    net_return: Interval
    mcc: Interval
    # Paired: each resample of holdout rows scores both sides (null before version 5).
    excess_over_buy_and_hold: Interval | None = None  # policy net minus buy-and-hold's net
    best_baseline: str | None = None
    gain_over_best_baseline: Interval | None = None  # skill metric, ensemble minus that rule


class SpreadEstimate(Record):
    """One estimator's effective bid-ask spread of a window, as a fraction of the price (0.003 is
    0.3%). Negative: the bounce is below the window's noise (charged as 0); null: too few pairs."""

    estimator: Literal["abdi_ranaldo_2017", "roll_1984"]
    spread: float | None
    pairs: Annotated[int, Field(ge=0)]  # consecutive candles used
    skipped_at_gaps: Annotated[int, Field(ge=0)]  # pairs left out because they span a gap


class CostRecord(Record):
    """What one side of a trade costs on the window's market, and the estimates behind it:
    cost_per_side = fee_rate + spread / 2 + slippage_rate (slippage: impact beyond the spread)."""

    window_start: Timestamp  # the candles the spread was measured on
    window_end: Timestamp
    candles: Annotated[int, Field(ge=1)]
    abdi_ranaldo: SpreadEstimate  # the main estimate
    roll: SpreadEstimate  # the cross-check
    return_autocorrelation_lag1: float | None  # of close-to-close returns, within gap-free runs
    spread_source: str  # estimated (which estimator), or config (trading.spread)
    spread: Annotated[float, Field(ge=0.0)]  # the spread charged
    fee_rate: float
    slippage_rate: float
    cost_per_side: float


class TradingCheck(Record):
    """The saved policy on the holdout, beside buy-and-hold and staying flat."""

    policy: StrategyStats
    buy_and_hold: StrategyStats
    flat: StrategyStats
    bars_per_year: float
    bootstrap: BootstrapRecord
