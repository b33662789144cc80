"""A replay resumes from the weeks already trained in its --out directory."""

from __future__ import annotations

import shutil

import pytest

from src.compute import Compute
from src.config import with_overrides
from src.ml.errors import MemoryBudgetError
from src.replay import run_replay
from tests.unit.replay.conftest import WEEKS, candle_set, replay, replay_settings, switching_candles


def test_a_second_run_trains_nothing_and_gives_the_same_replay(switching_replay, tmp_path):
    first, out_dir = switching_replay
    copy = tmp_path / "out"
    shutil.copytree(out_dir, copy)
    messages = []
    again = replay(switching_candles(), copy, messages)
    assert again.resumed == 4
    assert not any(message.startswith("trained week") for message in messages)
    assert again.weeks == first.weeks and again.summary == first.summary


def test_a_week_whose_files_are_missing_is_trained_again(switching_replay, tmp_path):
    first, out_dir = switching_replay
    copy = tmp_path / "out"
    shutil.copytree(out_dir, copy)
    missing = first.weeks[2]["week"]
    (copy / "sets" / f"{missing}.pkl").unlink()  # a kill between the set and its record
    messages = []
    again = replay(switching_candles(), copy, messages)
    assert again.resumed == 3
    assert [m.split(":")[0] for m in messages if m.startswith("trained week")] == [
        f"trained week {missing}"
    ]
    drop = "train_seconds"
    assert [{k: v for k, v in w.items() if k != drop} for w in again.weeks] == [
        {k: v for k, v in w.items() if k != drop} for w in first.weeks
    ]


def test_a_set_that_is_not_the_one_its_record_names_is_trained_again(switching_replay, tmp_path):
    first, out_dir = switching_replay
    copy = tmp_path / "out"
    shutil.copytree(out_dir, copy)
    weeks = [week["week"] for week in first.weeks]
    # Week 1's record beside week 0's set: what a kill between the two writes can leave.
    shutil.copyfile(copy / "sets" / f"{weeks[0]}.pkl", copy / "sets" / f"{weeks[1]}.pkl")
    assert replay(switching_candles(), copy).resumed == 3


def test_other_settings_or_candles_are_not_resumed(switching_replay, tmp_path):
    _, out_dir = switching_replay
    copy = tmp_path / "out"
    shutil.copytree(out_dir, copy)
    candles = switching_candles()
    candles.loc[candles.index[-1], "volume"] += 1.0  # after every training window
    assert replay(candles, copy).resumed == 4
    candles.loc["2025-01-05 12:00", "volume"] += 1.0  # in the first week's window only
    assert replay(candles, copy).resumed == 3


def test_a_window_too_large_for_the_memory_limit_is_refused_before_training(tmp_path):
    tiny = with_overrides(replay_settings(), limits={"max_rss_mib": 64})
    with pytest.raises(MemoryBudgetError, match="a training window of 960 candles"):
        run_replay(tiny, candle_set(switching_candles()), WEEKS, tmp_path / "out", Compute())
    assert not (tmp_path / "out").exists()
