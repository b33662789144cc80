"""Whole sweeps, in process: a planted edge that survives the search, a random walk where
nothing does, and a rerun that trains nothing again."""

from __future__ import annotations

import json

import pytest

from src.data.synthetic import generate_sample_market_data
from tests.support.candles import make_bounce_candles
from tests.unit.sweep.conftest import N_BARS, WEEKS, sweep

HORIZONS = ["training.label.horizon=1,4,16"]


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    """A next-bar edge (the direction follows the last bar's volume 3 times in 4, 0.5% a bar)
    on a market whose spread is tiny (0.02%): the next bar is the question worth asking."""
    candles = make_bounce_candles(N_BARS, spread=0.0002, seed=1, signal_accuracy=0.75,
                                  signal_move=0.005, timeframe="15min")  # fmt: skip
    out = tmp_path_factory.mktemp("planted")
    return sweep(candles, HORIZONS, out), out


def test_a_planted_next_bar_edge_ranks_horizon_1_first_and_survives_the_search(planted):
    summary = planted[0].summary
    ranked = sorted(summary["setups"], key=lambda setup: setup["rank"])
    assert [setup["values"]["training.label.horizon"] for setup in ranked][0] == 1
    assert summary["best"] == {"training.label.horizon": 1}
    assert summary["weeks"] == WEEKS and summary["search"]["setups"] == 3
    assert summary["p_value"] < 0.05 and summary["search"]["survives"]
    assert ranked[0]["excess"] > 0 and ranked[0]["interval"]["low"] > 0
    assert "it survives the search" in summary["sentence"]
    # The longer horizons had to purge more: the diff of the best changes nothing else.
    assert {setup["values"]["training.label.horizon"]: setup["adjusted"]
            for setup in ranked} == {1: {}, 4: {"training.cv.gap": 4},
                                     16: {"training.cv.gap": 16}}  # fmt: skip
    assert summary["config_diff"] == {}  # horizon 1 is the config as it is
    assert summary["sentence"].endswith("It is the config as it is.")


def test_a_rerun_trains_nothing_again_and_writes_the_same_summary(planted, tmp_path):
    first, out = planted
    candles = make_bounce_candles(N_BARS, spread=0.0002, seed=1, signal_accuracy=0.75,
                                  signal_move=0.005, timeframe="15min")  # fmt: skip
    again = sweep(candles, HORIZONS, out)
    assert again.resumed == 3 * WEEKS
    assert again.summary == first.summary
    assert json.loads((out / "summary.json").read_text())["p_value"] == first.summary["p_value"]


def test_on_a_random_walk_no_setup_survives_the_search(tmp_path):
    summary = sweep(generate_sample_market_data(N_BARS, seed=0), HORIZONS, tmp_path).summary
    assert summary["p_value"] >= 0.1 and not summary["search"]["survives"]
    assert "no setup survives the search" in summary["sentence"]
    assert "Keep the config as it is" in summary["sentence"]
