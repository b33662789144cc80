"""What a trade costs, read off the candles: the effective bid-ask spread and the cost per side.

On a thin market closes print alternately at the bid and at the ask, so close-to-close returns
bounce (negative lag-1 autocorrelation) and "buy the close that printed at the bid, sell the next
that printed at the ask" looks like an edge that no trader can take: buying pays the ask and
selling gets the bid. Every settlement therefore charges, per side, the fee, half the effective
spread and the slippage (market impact beyond the spread).

Two estimators of the effective spread, both on log prices, as fractions of the price:
- Abdi & Ranaldo (2017), the main one: with c the close and eta the mid-range (high and low's
  midpoint), E[(c_t - eta_t)(c_t - eta_{t+1})] = s^2 / 4. The products are averaged over the
  window first and the root taken last, which keeps the estimate unbiased in s^2 where the noise
  of one pair is larger than the spread (averaging per-pair roots, set to 0 when negative, would
  turn noise into spread).
- Roll (1984), the cross-check: cov(r_t, r_{t-1}) = -s^2 / 4 for close-to-close returns r.
A negative mean (the bounce is below the noise of the window) gives a negative signed estimate,
recorded as it is and charged as 0. A pair that spans a gap in the candles is skipped: the move
across a hole is not a bounce.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from src.config import TradingConfig
from src.ml.labels import bar_step
from src.registry.trading_record import CostRecord, SpreadEstimate


def _consecutive(index: pd.DatetimeIndex) -> np.ndarray:
    """Per bar after the first: whether it directly follows the previous one (no gap)."""
    return np.diff(index.asi8) == bar_step(index)


def _signed_root(mean_square: float) -> float:
    return float(np.sign(mean_square) * np.sqrt(abs(mean_square)))


def abdi_ranaldo_spread(candles: pd.DataFrame) -> SpreadEstimate:
    """Abdi & Ranaldo's close-high-low estimate over pairs of consecutive candles."""
    close = np.log(candles["close"].to_numpy())
    mid_range = (np.log(candles["high"].to_numpy()) + np.log(candles["low"].to_numpy())) / 2
    products = 4.0 * (close[:-1] - mid_range[:-1]) * (close[:-1] - mid_range[1:])
    usable = _consecutive(candles.index)
    kept = products[usable]
    mean_square = float(kept.mean()) if len(kept) else None
    return _estimate("abdi_ranaldo_2017", mean_square, len(kept), len(usable) - len(kept))


def roll_spread(candles: pd.DataFrame) -> SpreadEstimate:
    """Roll's estimate from the autocovariance of consecutive close-to-close returns."""
    later, earlier, skipped = _return_pairs(candles)
    pairs = len(later)
    if pairs < 2:
        return _estimate("roll_1984", None, pairs, skipped)
    covariance = (np.mean(later * earlier) - later.mean() * earlier.mean()) * pairs / (pairs - 1)
    return _estimate("roll_1984", -4.0 * covariance, pairs, skipped)


def _return_pairs(candles: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, int]:
    """Each close-to-close return and the one before it, where three candles follow each other
    without a gap; and how many pairs a gap removed."""
    returns = np.diff(np.log(candles["close"].to_numpy()))
    consecutive = _consecutive(candles.index)
    usable = consecutive[1:] & consecutive[:-1]
    return returns[1:][usable], returns[:-1][usable], len(usable) - int(usable.sum())


def _estimate(name: str, mean_square: float | None, pairs: int, skipped: int) -> SpreadEstimate:
    spread = None if mean_square is None else _signed_root(mean_square)
    return SpreadEstimate(estimator=name, spread=spread, pairs=pairs, skipped_at_gaps=skipped)


def lag1_autocorrelation(candles: pd.DataFrame) -> float | None:
    """Correlation of each close-to-close return with the previous one, within runs of
    consecutive candles: negative on a market whose closes bounce between bid and ask."""
    later, earlier, _ = _return_pairs(candles)
    if len(later) < 3 or later.std() == 0 or earlier.std() == 0:
        return None
    return float(np.corrcoef(later, earlier)[0, 1])


@dataclass(frozen=True)
class Costs:
    """The cost of one side of a trade on this window's market, and how it was reached."""

    record: CostRecord

    @property
    def per_side(self) -> float:
        return self.record.cost_per_side

    @property
    def without_spread(self) -> float:
        """Fee and slippage only: what the run would charge if the spread were free."""
        return self.record.fee_rate + self.record.slippage_rate


def estimate_costs(candles: pd.DataFrame, config: TradingConfig) -> Costs:
    """The spread estimates of `candles` and the cost per side the run charges: fee + half the
    spread (`trading.spread`, or Abdi-Ranaldo's estimate when it is `auto`) + slippage."""
    main, check = abdi_ranaldo_spread(candles), roll_spread(candles)
    estimated = config.spread == "auto"
    charged = max(main.spread or 0.0, 0.0) if estimated else float(config.spread)
    return Costs(
        CostRecord(
            window_start=candles.index[0].isoformat(),
            window_end=candles.index[-1].isoformat(),
            candles=len(candles),
            abdi_ranaldo=main,
            roll=check,
            return_autocorrelation_lag1=lag1_autocorrelation(candles),
            spread_source="estimated (abdi_ranaldo_2017)" if estimated else "config",
            spread=charged,
            fee_rate=config.fee_rate,
            slippage_rate=config.slippage_rate,
            cost_per_side=config.fee_rate + charged / 2.0 + config.slippage_rate,
        )
    )


def describe_costs(costs: CostRecord) -> str:
    """E.g. '0.29% per side: fee 0.12% + half the 0.32% spread (Abdi-Ranaldo; Roll 0.28%) +
    slippage 0.01%'."""
    roll = costs.roll.spread
    if costs.spread_source == "config":
        spread = f"half the {costs.spread:.2%} spread set in trading.spread"
    else:
        cross_check = "n/a" if roll is None else f"{roll:.2%}"
        spread = (
            f"half the {costs.spread:.2%} spread the candles imply (Abdi-Ranaldo; Roll "
            f"{cross_check})"
        )
    return (
        f"{costs.cost_per_side:.3%} per side: fee {costs.fee_rate:.2%} + {spread} + slippage "
        f"{costs.slippage_rate:.2%}"
    )
