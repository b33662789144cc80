"""The paper trader on tiny real sets: a row per candle, settled as the backtest settles, resumable,
following promotions, and flat for a retired set."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import load_settings
from src.data.synthetic import generate_sample_market_data
from src.features.errors import FeatureError
from src.live.journal import Journal, JournalError
from src.live.paper import PaperTrader
from src.ml.backtest import next_bars, simulate
from src.ml.live_health import Judging
from src.registry.store import Registry

SETTINGS = load_settings()
JUDGING = Judging(SETTINGS.degradation, 200, SETTINGS.training.seed)
MARKET = "BTC/JPY 15m"


@pytest.fixture
def candles() -> pd.DataFrame:
    """900 bars from the tiny sets' start: the last 300 are newer than their training window."""
    return generate_sample_market_data(n_bars=900, seed=11)


def _promote_trading(trained, registry: Registry) -> None:
    """The tiny set with a policy that is always in the market (long above P(up) 0.5, short
    below), so every settlement path runs: its own chosen policy is flat on random candles."""
    models, ensemble, metadata, report, onnx = trained.parts()
    policy = metadata.policy.model_copy(update={"entry": 0.5, "exit": 0.5, "allow_short": True})
    registry.promote(models, ensemble, metadata.model_copy(update={"policy": policy}), report, onnx)


@pytest.fixture
def registry(trained_set, models_dir) -> Registry:
    registry = Registry(models_dir)
    _promote_trading(trained_set("A"), registry)
    return registry


def _paper(registry: Registry, journal_path, candles, **kwargs):
    with Journal(journal_path) as journal:
        trader = PaperTrader(registry.paths.root, journal, JUDGING, progress=lambda m: None)
        run = trader.run(candles, MARKET, **kwargs)
        return run, journal.decisions(), journal.events(), trader


def test_one_row_per_newer_candle_settled_as_the_backtest_settles(registry, candles, tmp_path):
    run, rows, events, trader = _paper(registry, tmp_path / "j.sqlite", candles)

    trained_until = pd.Timestamp(registry.load().metadata.data.end)
    newer = candles.index[candles.index > trained_until]
    assert run.rows == len(rows) == len(newer) == 300
    assert {-1, 1} <= {row.position for row in rows}  # it trades both ways
    assert [pd.Timestamp(row.candle_time) for row in rows] == list(newer)
    assert [(e.kind, e.candle_time) for e in events][0] == ("start", rows[0].candle_time)
    positions = np.array([row.position for row in rows], dtype="float64")
    settled = simulate(positions, next_bars(candles, newer), trader.predictor.cost_per_side)
    bar_net = np.array([row.bar_net for row in rows])
    assert bar_net[0] == 0.0  # nothing was held into the first candle
    np.testing.assert_allclose(bar_net[1:], settled.net[:-1], rtol=1e-12, atol=1e-15)
    assert rows[-1].cumulative_net == pytest.approx(np.prod(1 + bar_net) - 1, rel=1e-12)


def test_a_run_in_two_parts_journals_what_one_run_does(trained_set, tmp_path, candles):
    whole, parts = Registry(tmp_path / "m1"), Registry(tmp_path / "m2")
    _promote_trading(trained_set("A"), whole)
    _promote_trading(trained_set("A"), parts)
    _, once, once_events, _ = _paper(whole, tmp_path / "once.sqlite", candles)
    _paper(parts, tmp_path / "twice.sqlite", candles.iloc[:750])
    run, twice, twice_events, _ = _paper(parts, tmp_path / "twice.sqlite", candles)
    assert run.rows == 150
    assert twice == once and twice_events == once_events


def test_a_gap_settles_the_held_position_across_it_and_is_journalled(registry, candles, tmp_path):
    gapped = candles.drop(candles.index[700:703])
    _, rows, events, trader = _paper(registry, tmp_path / "j.sqlite", gapped)
    assert len(rows) == 297
    gap = [e for e in events if e.kind == "gap"]
    assert [e.candle_time for e in gap] == [candles.index[703].isoformat()]
    at = next(i for i, row in enumerate(rows) if row.candle_time == gap[0].candle_time)
    before, held, opened = rows[at - 1], rows[at - 1].position, rows[at - 2].position
    assert held != 0
    keep = (1 - trader.predictor.cost_per_side) ** abs(held - opened)
    move = rows[at].price / before.price - 1  # across the three missing bars
    assert rows[at].bar_net == pytest.approx(keep * (1 + held * move) - 1, rel=1e-12)


def test_a_promotion_between_runs_is_picked_up_at_the_next_candle(
    trained_set, registry, candles, tmp_path
):
    journal = tmp_path / "j.sqlite"
    _paper(registry, journal, candles.iloc[:700])
    first = registry.load().path.name
    _promote_trading(trained_set("B"), registry)
    second = registry.load().path.name
    _, rows, events, _ = _paper(registry, journal, candles)
    switch = [e for e in events if e.kind == "switch"]
    assert [(e.set_name, e.detail) for e in switch] == [(second, f"from {first}")]
    assert switch[0].candle_time == candles.index[700].isoformat()
    assert {row.set_name for row in rows[100:]} == {second}


def test_a_set_retired_elsewhere_trades_flat_and_the_retirement_is_journalled(
    registry, candles, tmp_path
):
    live = registry.load()
    registry.retire(live.path, "2025-01-07T00:00:00+00:00", "retired by the weekly job", {})
    run, rows, events, _ = _paper(registry, tmp_path / "j.sqlite", candles)
    assert {row.position for row in rows} == {0}
    assert [(e.kind, e.detail) for e in events if e.kind == "retired"] == [
        ("retired", "retired by the weekly job")
    ]
    assert [r.reason for r in run.retired] == ["retired by the weekly job"]


def test_a_journal_of_another_market_is_refused(registry, candles, tmp_path):
    _paper(registry, tmp_path / "j.sqlite", candles.iloc[:650])
    with Journal(tmp_path / "j.sqlite") as journal:
        trader = PaperTrader(registry.paths.root, journal, JUDGING, progress=lambda m: None)
        with pytest.raises(JournalError, match="journals BTC/JPY 15m, not ETH/BTC 15m"):
            trader.run(candles, "ETH/BTC 15m")


def test_candles_without_history_before_the_window_are_refused(registry, candles, tmp_path):
    trained_until = pd.Timestamp(registry.load().metadata.data.end)
    with pytest.raises(FeatureError, match="reach further back"):
        _paper(registry, tmp_path / "j.sqlite", candles.loc[trained_until - pd.Timedelta("1h") :])
