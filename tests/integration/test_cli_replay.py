"""`dev_check.py replay` for real, in subprocesses, on a planted signal that switches on halfway,
with small models set in a private copy of base.yaml."""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from src.replay.compare import week_results
from tests.integration.conftest import (
    DEV_CHECK,
    Cli,
    once_per_session,
    where_to_train,
)
from tests.support.replay_repo import small_replay_repo

SEED = "11"


@pytest.fixture
def small_repo(tmp_path):
    return small_replay_repo(tmp_path)


def _replay_args(csv, out) -> list[str]:
    return ["replay", "--weeks", "4", "--days", "10", "--source", str(csv), "--out", str(out)]


def _train_seconds(out) -> dict[str, float]:
    return {
        path.stem: json.loads(path.read_text())["train_seconds"]
        for path in (out / "weeks").glob("*.json")
    }


def test_a_replay_killed_mid_way_resumes_from_the_weeks_it_finished(small_repo, tmp_path):
    cli, csv = small_repo
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": str(cli.root)}
    env.pop("DISCORD_WEBHOOK_URL", None)
    process = subprocess.Popen(
        [sys.executable, str(cli.root / DEV_CHECK), *_replay_args(csv, out)],
        cwd=cli.root, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.monotonic() + 120
    while not _train_seconds(out) and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    finished = _train_seconds(out)
    assert 1 <= len(finished) < 4, "the kill came too late to test a resume"

    completed = cli.dev_check(*_replay_args(csv, out))
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert f"{len(finished)} already trained" in completed.stdout
    after = _train_seconds(out)
    assert len(after) == 4
    assert {week: after[week] for week in finished} == finished  # not trained again
    rows = [line for line in completed.stdout.splitlines() if line.startswith("2025-")]
    assert [row.split()[0] for row in rows] == ["2025-01-13", "2025-01-20", "2025-01-27",
                                                 "2025-02-03"]  # fmt: skip
    assert "kept: F1" in rows[0] and "promoted" in rows[3]
    assert "weekly job with the gate" in completed.stdout
    assert "needs at least 8 weeks to be compared with" in " ".join(completed.stdout.split())
    summary = json.loads((out / "summary.json").read_text())
    assert summary["weeks"] == 4 and summary["promotions"] == 2


def test_more_weeks_than_the_candles_hold_is_bad_input(small_repo, tmp_path):
    cli, csv = small_repo
    args = _replay_args(csv, tmp_path / "out")
    args[2] = "9"
    completed = cli.dev_check(*args)
    assert completed.returncode == 2
    assert "hold 4 weekly runs with a full 10-day training window" in completed.stderr
    assert not (tmp_path / "out").exists()


def _in_process_replay(shared: Path) -> dict:
    cli, csv = small_replay_repo(shared)
    out = shared / "out"
    completed = cli.dev_check(*_replay_args(csv, out), "--seed", SEED)
    return {"root": str(cli.root), "csv": str(csv), "out": str(out),
            "returncode": completed.returncode, "stdout": completed.stdout,
            "stderr": completed.stderr}  # fmt: skip


@pytest.fixture(scope="session")
def in_process_replay(request, tmp_path_factory) -> dict:
    """The replay trained in this process (compute.workers 1), once for the whole run; other
    runs of the same weeks use its repo copy and candle file, which its settings name."""
    return once_per_session(request, tmp_path_factory, "replay-in-process", _in_process_replay)


def _assert_same_sets(out: Path, other: Path, week: str) -> None:
    """The two pickled sets of a week hold the same ensemble, policy and holdout (their sha256
    is left out of the records' comparison: see RUN_SPECIFIC_FIELDS)."""
    sets = [pickle.loads((root / "sets" / f"{week}.pkl").read_bytes()) for root in (out, other)]
    assert sets[0]["policy"] == sets[1]["policy"]
    holdouts = [model_set["holdout"] for model_set in sets]
    pd.testing.assert_frame_equal(holdouts[0].features, holdouts[1].features, check_exact=True)
    pd.testing.assert_series_equal(holdouts[0].labels, holdouts[1].labels, check_exact=True)
    pd.testing.assert_series_equal(holdouts[0].p_up, holdouts[1].p_up, check_exact=True)
    p_up = [model_set["ensemble"].predict_proba(holdouts[0].features) for model_set in sets]
    assert (p_up[0] == p_up[1]).all()


@pytest.mark.parametrize("where", ["--workers 2", "--scheduler"])
def test_a_replay_writes_the_same_weeks_wherever_they_train(
    request, in_process_replay, tmp_path, where
):
    assert in_process_replay["returncode"] == 0, in_process_replay["stderr"]
    assert "training 4 in this process (1 worker)" in in_process_replay["stdout"]
    cli, csv = Cli(Path(in_process_replay["root"])), in_process_replay["csv"]
    option, expected = where_to_train(request, where, 4)
    out = tmp_path / "out"

    completed = cli.dev_check(*_replay_args(csv, out), "--seed", SEED, *option)

    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert expected in completed.stdout
    reference = Path(in_process_replay["out"])
    records = week_results(out)  # every field of every week's JSON but the run-specific ones
    assert len(records) == 4 and records == week_results(reference)
    assert any(record["outcome"]["promoted"] for record in records.values())
    for week in records:
        _assert_same_sets(reference, out, week)
    summary = json.loads((out / "summary.json").read_text())
    assert summary == json.loads((reference / "summary.json").read_text())
