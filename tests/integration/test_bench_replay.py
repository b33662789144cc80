"""bench/replay.py's quick mode runs its four ways to the end and compares their weeks (the full
bench is run by hand on a quiet machine; its wall times are not judged here)."""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.slow


def test_the_quick_replay_bench_promotes_a_week_and_finds_the_same_records_every_way(
    cli, tmp_path
):
    out = tmp_path / "replay_results.json"

    # Four child processes and three Dask workers, each importing the stack: ~1 CPU-minute,
    # many more of wall time on a busy machine (pytest's own limit is 600 s).
    completed = cli.python("bench/replay.py", "--quick", "--out", str(out), timeout_s=560)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    results = json.loads(out.read_text())
    weeks = results["week_records"]
    assert weeks["weeks"] == results["weeks"] == 2
    promoted = weeks["promoted_weeks"]
    assert promoted["plain_loop"], "no week promoted: the comparison would cover only rejections"
    assert all(found == promoted["plain_loop"] for found in promoted.values())
    assert weeks["identical"] == {"in_process": True, "dask_1_worker": True, "dask_2_workers": True}
    assert results["identical_week_records_every_way"] is True
    assert weeks["fields_left_out"] == ["set_sha256", "train_seconds"]
    assert results["candles"]["on_from"] < results["candles"]["on_until"]
