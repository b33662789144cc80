"""A week whose task failed, its worker killed included, is run again."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from src.compute import Compute, open_compute
from src.replay.calendar import Week
from src.replay.training import ReplayTaskError, map_with_retries


def _weeks(n: int) -> list[Week]:
    start = pd.Timestamp("2025-01-06 09:00", tz="UTC")
    return [Week(start + pd.Timedelta(weeks=k), start) for k in range(n)]


def _dies_once(week: Week, marker_dir: str) -> str:
    """Kills its own worker process the first time it runs week 1."""
    marker = Path(marker_dir) / week.key
    if week.run_at.day == 13 and not marker.exists():
        marker.touch()
        os._exit(1)
    return week.key


def _always_fails(week: Week, marker_dir: str) -> str:
    (Path(marker_dir) / f"{week.key}.{len(list(Path(marker_dir).iterdir()))}").touch()
    raise RuntimeError("no")


def test_a_week_whose_worker_died_is_trained_again(tmp_path):
    weeks, messages = _weeks(3), []
    with open_compute(workers=2, memory_limit_mib=512) as compute:
        results = map_with_retries(compute, _dies_once, weeks, str(tmp_path), 2, messages.append)
    assert results == [week.key for week in weeks]
    assert len(messages) == 1 and "died" in messages[0] and weeks[1].key in messages[0]


def test_a_week_failing_every_attempt_stops_the_replay_naming_it(tmp_path):
    with pytest.raises(ReplayTaskError, match="2025-01-06T0900Z failed 3 times, last: Runt"):
        map_with_retries(Compute(), _always_fails, _weeks(1), str(tmp_path), 2, lambda m: None)
    assert len(list(tmp_path.iterdir())) == 3
