"""`dev_check.py replay` for real, in subprocesses, on a planted signal that switches on halfway,
with small models set in a private copy of base.yaml."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from tests.integration.conftest import DEV_CHECK
from tests.unit.replay.conftest import switching_candles, write_small_config


@pytest.fixture
def small_repo(repo_copy, tmp_path):
    write_small_config(repo_copy.root / "config" / "core" / "base.yaml")
    csv = tmp_path / "switching.csv"
    switching_candles().to_csv(csv)
    return repo_copy, csv


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
