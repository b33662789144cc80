"""How much memory a training run will need, known from its row count before anything is fitted.

Peak RSS of a whole weekly run (import, features, CV, final fits, metrics, pickling, report)
grows linearly with the candle rows once the data dominates it. The two constants below are
measured by `bench/memory.py`, which runs the real CLI at several window sizes, compares this
estimate with each measured peak, and prints the line through its two largest sizes: the slope
where the data dominates is what decides near the limit (a year of 5m bars is ~105k rows, the
1 GiB limit ~800k). Below ~50k rows a fixed part of the run sets the peak and the estimate
can be up to ~10% low, far from any limit. Anything that changes the run's memory (e.g.
hyperparameter tuning) means re-running the bench and updating these numbers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from src.ml.errors import MemoryBudgetError

# Lines bench/memory.py drew through measured peaks; each JSON's stamp names the commit it
# measured, and tests/unit/ml/test_memory.py holds these constants to those lines.
# Without tuning: through 105,120 and 315,360 5m bars (bench/memory_calibration.json).
IMPORT_FLOOR_MIB = 328.4  # the line's value at 0 rows: interpreter, libraries, fixed costs
MIB_PER_10K_ROWS = 8.71  # what each further 10,000 candles add to the peak
# With tuning at base.yaml's defaults (the weekly job): through 52,560 and 105,120 5m bars,
# checked at 17,520 5m and 35,040 15m bars (bench/memory_results.json, bench/tuning_results.json).
# Tuning raises the fixed part (Optuna, the search's own fits), not the slope, and tuned runs
# were not measured beyond a year of 5m bars (each takes minutes per size), so a tuned run is
# held to both lines: near the limit, the untuned line's steeper slope decides.
TUNED_IMPORT_FLOOR_MIB = 338.3
TUNED_MIB_PER_10K_ROWS = 8.30


def _lines(tuned: bool) -> list[tuple[float, float]]:
    untuned = (IMPORT_FLOOR_MIB, MIB_PER_10K_ROWS)
    return [untuned, (TUNED_IMPORT_FLOOR_MIB, TUNED_MIB_PER_10K_ROWS)] if tuned else [untuned]


@dataclass(frozen=True)
class MemoryEstimate:
    rows: int
    peak_mib: float
    limit_mib: int
    tuned: bool = False

    @property
    def fits(self) -> bool:
        return self.peak_mib <= self.limit_mib

    @property
    def rows_that_fit(self) -> int:
        return max(
            0,
            min(
                math.floor((self.limit_mib - floor) / slope * 1e4)
                for floor, slope in _lines(self.tuned)
            ),
        )

    def describe(self) -> str:
        return (
            f"{self.rows:,} candles, estimated peak {self.peak_mib:,.0f} MiB "
            f"(limits.max_rss_mib {self.limit_mib:,})"
        )


def estimate_peak(rows: int, limit_mib: int, tuned: bool = False) -> MemoryEstimate:
    """`tuned`: the run searches hyperparameters first (tuning.enabled)."""
    peak = max(floor + slope * rows / 1e4 for floor, slope in _lines(tuned))
    return MemoryEstimate(rows, peak, limit_mib, tuned)


def check_memory(rows: int, limit_mib: int, force: bool, tuned: bool = False) -> MemoryEstimate:
    """The estimate for `rows` candles; refuses a window above the limit unless `force`d."""
    estimate = estimate_peak(rows, limit_mib, tuned)
    if not estimate.fits and not force:
        raise MemoryBudgetError(
            f"a training window of {rows:,} candles needs an estimated {estimate.peak_mib:,.0f} "
            f"MiB of memory at its peak, above limits.max_rss_mib = {limit_mib:,} in "
            f"config/core/base.yaml; at most {estimate.rows_that_fit:,} candles fit: shorten "
            "--days (or the candle file), raise the limit on a larger machine, or pass "
            "--force-memory to train anyway"
        )
    return estimate
