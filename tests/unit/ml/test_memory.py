"""The memory check before fitting: the estimate, the rows that fit, and the refusal."""

from __future__ import annotations

import json
import re

import pytest

from src.config import REPO_ROOT, with_overrides
from src.ml import memory
from src.ml.errors import MemoryBudgetError
from src.ml.memory import IMPORT_FLOOR_MIB, MIB_PER_10K_ROWS, check_memory, estimate_peak
from src.registry.store import Registry
from src.retrain import retrain


def test_the_estimate_is_the_import_floor_plus_the_measured_slope():
    assert estimate_peak(0, 1024).peak_mib == IMPORT_FLOOR_MIB
    assert estimate_peak(250_000, 1024).peak_mib == pytest.approx(
        IMPORT_FLOOR_MIB + 25 * MIB_PER_10K_ROWS
    )


@pytest.mark.parametrize("limit_mib", [512, 1024, 4096])
def test_rows_that_fit_is_the_largest_window_under_the_limit(limit_mib):
    fit = estimate_peak(0, limit_mib).rows_that_fit
    assert estimate_peak(fit, limit_mib).fits
    assert not estimate_peak(fit + 1, limit_mib).fits


def test_a_limit_below_the_floor_fits_no_window():
    assert estimate_peak(0, int(IMPORT_FLOOR_MIB) - 1).rows_that_fit == 0


def test_a_year_of_5m_bars_fits_the_1_gib_box():
    assert estimate_peak(365 * 288, 1024).fits  # SPEC section 11


def test_a_window_above_the_limit_is_refused_naming_the_rows_that_fit_and_the_way_out():
    rows_that_fit = estimate_peak(0, 1024).rows_that_fit
    with pytest.raises(MemoryBudgetError) as caught:
        check_memory(rows_that_fit + 1, 1024, force=False)
    message = str(caught.value)
    assert f"at most {rows_that_fit:,} candles fit" in message
    assert "limits.max_rss_mib = 1,024" in message and "--force-memory" in message
    assert "\n" not in message


def test_force_memory_trains_anyway():
    estimate = check_memory(10_000_000, 1024, force=True)
    assert not estimate.fits


def test_retrain_refuses_before_taking_the_lock_or_fitting(
    tmp_path, planted_candles, generated_set, small_settings
):
    candle_set = generated_set(planted_candles(1_000, seed=1))
    tight = estimate_peak(1_000, 1024).peak_mib - 1  # one MiB short of this window's estimate
    settings = with_overrides(small_settings, limits={"max_rss_mib": int(tight)})
    registry = Registry(tmp_path / "models")
    messages: list[str] = []

    with pytest.raises(MemoryBudgetError, match=re.escape("a training window of 1,000 candles")):
        retrain(settings, candle_set, registry, progress=messages.append)
    assert messages == []
    assert not (tmp_path / "models").exists()  # no lock, no directory: nothing started


def test_a_tuned_run_is_held_to_both_measured_lines():
    from src.ml.memory import TUNED_IMPORT_FLOOR_MIB, TUNED_MIB_PER_10K_ROWS

    small, large = estimate_peak(20_000, 1024, tuned=True), estimate_peak(900_000, 1024, tuned=True)
    # small windows: the search's fixed cost decides; near the limit, the steeper untuned slope
    assert small.peak_mib == pytest.approx(TUNED_IMPORT_FLOOR_MIB + 2 * TUNED_MIB_PER_10K_ROWS)
    assert large.peak_mib == pytest.approx(estimate_peak(900_000, 1024).peak_mib)
    assert small.peak_mib > estimate_peak(20_000, 1024).peak_mib
    fit = estimate_peak(0, 1024, tuned=True).rows_that_fit
    assert estimate_peak(fit, 1024, tuned=True).fits
    assert not estimate_peak(fit + 1, 1024, tuned=True).fits


@pytest.mark.parametrize(
    ("json_name", "floor", "slope"),
    [
        ("memory_calibration.json", "IMPORT_FLOOR_MIB", "MIB_PER_10K_ROWS"),
        ("memory_results.json", "TUNED_IMPORT_FLOOR_MIB", "TUNED_MIB_PER_10K_ROWS"),
    ],
    ids=["untuned", "tuned"],
)
def test_the_constants_are_the_lines_the_memory_bench_drew(json_name, floor, slope):
    # bench/memory.py draws each line through the peaks of its two largest sizes; the constants
    # must be those lines (as written, to 0.1 MiB and 0.01 MiB per 10k rows), or the refusal
    # near the limit rests on a run the pipeline has outgrown.
    fit = json.loads((REPO_ROOT / "bench" / json_name).read_text())["fit_of_this_run"]

    assert getattr(memory, floor) == pytest.approx(fit["IMPORT_FLOOR_MIB"], abs=0.05)
    assert getattr(memory, slope) == pytest.approx(fit["MIB_PER_10K_ROWS"], abs=0.005)
