"""How much memory a training run will need, known from its row count before anything is fitted.

Peak RSS of a whole weekly run (import, features, CV, final fits, metrics, pickling, report)
grows linearly with the candle rows once the data dominates it. The two constants below are
measured by `bench/memory.py`, which runs the real CLI at several window sizes, compares this
estimate with each measured peak, and prints the line through its two largest sizes: the slope
where the data dominates is what decides near the limit (a year of 5m bars is ~105k rows, the
1 GiB limit ~814k). Below ~50k rows a fixed part of the run sets the peak and the estimate is up
to ~10% low, far from any limit. Anything that changes the run's memory (e.g. hyperparameter
tuning) means re-running the bench and updating these two numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from src.ml.errors import MemoryBudgetError

# The line bench/memory.py drew through its peaks at 105,120 and 315,360 5m bars (2026-12-02,
# this repo's dev machine: bench/memory_calibration.json); bench/memory_results.json checks it
# at other sizes.
IMPORT_FLOOR_MIB = 285.4  # the line's value at 0 rows: interpreter, libraries, fixed costs
MIB_PER_10K_ROWS = 9.08  # what each further 10,000 candles add to the peak


@dataclass(frozen=True)
class MemoryEstimate:
    rows: int
    peak_mib: float
    limit_mib: int

    @property
    def fits(self) -> bool:
        return self.peak_mib <= self.limit_mib

    @property
    def rows_that_fit(self) -> int:
        return max(0, math.floor((self.limit_mib - IMPORT_FLOOR_MIB) / MIB_PER_10K_ROWS * 1e4))

    def describe(self) -> str:
        return (
            f"{self.rows:,} candles, estimated peak {self.peak_mib:,.0f} MiB "
            f"(limits.max_rss_mib {self.limit_mib:,})"
        )


def estimate_peak(rows: int, limit_mib: int) -> MemoryEstimate:
    return MemoryEstimate(rows, IMPORT_FLOOR_MIB + MIB_PER_10K_ROWS * rows / 1e4, limit_mib)


def check_memory(rows: int, limit_mib: int, force: bool) -> MemoryEstimate:
    """The estimate for `rows` candles; refuses a window above the limit unless `force`d."""
    estimate = estimate_peak(rows, limit_mib)
    if not estimate.fits and not force:
        raise MemoryBudgetError(
            f"a training window of {rows:,} candles needs an estimated {estimate.peak_mib:,.0f} "
            f"MiB of memory at its peak, above limits.max_rss_mib = {limit_mib:,} in "
            f"config/core/base.yaml; at most {estimate.rows_that_fit:,} candles fit: shorten "
            "--days (or the candle file), raise the limit on a larger machine, or pass "
            "--force-memory to train anyway"
        )
    return estimate
