"""Walk-forward trading check of the signal on the holdout, beside buy-and-hold."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class TradingCheck:
    summary: dict[str, float | int]  # recorded in the metadata
    equity: np.ndarray  # signal equity after each holdout bar, starting from 1.0
    buy_and_hold: np.ndarray


def _max_drawdown(equity: np.ndarray) -> float:
    peaks = np.maximum.accumulate(equity)
    return float(np.max(1.0 - equity / peaks)) if len(equity) else 0.0


def trading_check(
    close: pd.Series, p_up: np.ndarray, entry_probability: float, fee_rate: float
) -> TradingCheck:
    """Long over bar t -> t+1 while P(up) at t's close > `entry_probability`, flat otherwise.

    `close` holds the holdout closes plus the one bar after the last holdout row, so every
    decision has its realised next-bar return. Fees are charged on each entry and exit.
    """
    prices = close.to_numpy(dtype="float64")
    if len(prices) != len(p_up) + 1:
        raise ValueError(f"need {len(p_up) + 1} closes for {len(p_up)} signals, got {len(prices)}")
    next_bar_return = prices[1:] / prices[:-1] - 1.0
    position = (np.asarray(p_up) > entry_probability).astype("float64")
    turnover = np.abs(np.diff(np.r_[0.0, position, 0.0]))
    fees = fee_rate * turnover[:-1]
    fees[-1] += fee_rate * turnover[-1]  # close any position open at the end
    strategy_return = position * next_bar_return - fees
    equity = np.cumprod(1.0 + strategy_return)
    buy_and_hold = prices / prices[0] * (1.0 - fee_rate) ** 2
    in_market = position == 1.0
    summary = {
        "signal_total_return": float(equity[-1] - 1.0),
        "signal_max_drawdown": _max_drawdown(np.r_[1.0, equity]),
        "signal_hit_rate": float(np.mean(next_bar_return[in_market] > 0))
        if in_market.any()
        else float("nan"),
        "signal_trades": int(np.sum(np.diff(np.r_[0.0, position]) == 1.0)),
        "signal_exposure": float(in_market.mean()),
        "buy_and_hold_return": float(buy_and_hold[-1] - 1.0),
        "buy_and_hold_max_drawdown": _max_drawdown(buy_and_hold),
        "entry_probability": entry_probability,
        "fee_rate": fee_rate,
    }
    return TradingCheck(summary=summary, equity=equity, buy_and_hold=buy_and_hold[1:])
