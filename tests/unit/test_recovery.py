"""The weekly job's watch over the live set, on tiny real sets: what it judges the set on."""

from __future__ import annotations

from src.config import load_settings
from src.data.sources import CandleSet
from src.data.synthetic import generate_sample_market_data
from src.recovery import check_live_set
from src.registry.live_since import live_since_path
from src.registry.store import Registry

SETTINGS = load_settings()


def _candles(timeframe: str = "15m") -> CandleSet:
    """900 bars from the tiny sets' start: 300 after their training window."""
    return CandleSet(generate_sample_market_data(900, seed=11), "synthetic", "BTC/JPY", timeframe)


def test_a_set_restored_by_rollback_is_judged_only_on_bars_after_its_restoration(
    trained_set, models_dir
):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    restored = registry.load().path
    trained_set("B").promote(registry)
    registry.rollback(restored.name)  # now, long after the candles below end
    assert live_since_path(restored).exists()

    not_yet = check_live_set(registry, _candles(), SETTINGS)
    assert not_yet.health is None and not not_yet.retired

    live_since_path(restored).unlink()  # as if it had been live since its training window
    judged = check_live_set(registry, _candles(), SETTINGS)
    assert judged.health is not None and judged.health.bars >= SETTINGS.degradation.min_samples


def test_candles_of_another_timeframe_are_not_judged_on(trained_set, models_dir):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    check = check_live_set(registry, _candles("1h"), SETTINGS)
    assert check.health is None and check.retirement is None
    assert check.note == "not judged: it trades BTC/JPY 15m, these candles are BTC/JPY 1h"
