"""`dev_check.py paper` as a bot owner runs it: a set trained while a planted signal held is
paper-traded on the candles after it, where the signal is gone; killed and resumed; following a
local bitbank; and the retired set's rollback."""

from __future__ import annotations

import shutil
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from src.config import load_settings
from src.inference import FeatureStream, LivePredictor
from src.registry.store import Registry
from tests.integration.conftest import Cli, once_per_session
from tests.support.candles import make_planted_candles
from tests.support.documented_commands import DEV_CHECK

pytestmark = pytest.mark.slow

EXIT_OK, EXIT_BAD_INPUT, EXIT_DEGRADED = 0, 2, 3
SIGNAL_BARS, AFTER_BARS = 2_500, 700


def _train_on_signal(shared: Path) -> dict:
    """A set trained on 2,500 bars whose next move follows the volume 85% of the time, and
    the same candles continued for 700 bars where it follows it half the time (no signal)."""
    accuracy = np.r_[np.full(SIGNAL_BARS, 0.85), np.full(AFTER_BARS, 0.5)]
    candles = make_planted_candles(SIGNAL_BARS + AFTER_BARS, seed=7, accuracy=accuracy)
    trained_on, continued = shared / "signal.csv", shared / "continued.csv"
    candles.iloc[:SIGNAL_BARS].to_csv(trained_on)
    candles.to_csv(continued)
    models = shared / "models"
    completed = Cli().create_ml_models("--source", str(trained_on), "--models-dir", str(models))
    return {"models": str(models), "continued": str(continued), "code": completed.returncode,
            "output": completed.stdout + completed.stderr}  # fmt: skip


@pytest.fixture
def signal_set(request, tmp_path_factory, tmp_path) -> tuple[Path, Path]:
    """A private copy of the promoted set's models dir, and the continued candles' CSV."""
    trained = once_per_session(request, tmp_path_factory, "paper-signal-set", _train_on_signal)
    assert trained["code"] == EXIT_OK, trained["output"]
    models = tmp_path / "models"
    shutil.copytree(trained["models"], models, symlinks=True)
    return models, Path(trained["continued"])


def _journal(path: Path) -> tuple[list[tuple], list[tuple]]:
    with sqlite3.connect(path) as db:
        decisions = db.execute("SELECT * FROM decisions ORDER BY candle_time").fetchall()
        events = db.execute("SELECT * FROM events ORDER BY candle_time, kind").fetchall()
    return decisions, events


def test_paper_journals_each_candle_and_retires_the_set_once_its_signal_is_gone(
    cli, signal_set, tmp_path
):
    models, candles_csv = signal_set
    journal = tmp_path / "journal.sqlite"

    run = cli.dev_check("paper", "--source", str(candles_csv), "--models-dir", str(models),
                        "--journal", str(journal))  # fmt: skip

    assert run.returncode == EXIT_DEGRADED, run.stdout + run.stderr
    decisions, events = _journal(journal)
    candles = pd.read_csv(candles_csv, index_col=0, parse_dates=True)
    assert [row[0] for row in decisions] == [t.isoformat() for t in candles.index[SIGNAL_BARS:]]
    retired = [event for event in events if event[1] == "retired"]
    assert len(retired) == 1 and retired[0][3].startswith("skill gone")
    bars_to_retire = [row[0] for row in decisions].index(retired[0][0])
    # Judged from min_samples settled bars on: retired within twice that many.
    assert bars_to_retire <= 2 * load_settings().degradation.min_samples
    assert {row[3] for row in decisions[bars_to_retire:]} == {0}  # flat from then on
    assert f"retired {retired[0][2]}" in run.stdout

    history = cli.dev_check("history", "--models-dir", str(models))
    assert history.returncode == EXIT_OK and f"RETIRED at {retired[0][0]}" in history.stdout

    row = FeatureStream.from_candles(candles).latest
    assert LivePredictor.load(models).position(row, held=1) == 0
    features = pd.DataFrame([row.values], columns=list(row.as_dict()), index=[row.timestamp])
    assert Registry(models).load().position(features, held=1) == 0

    again = cli.dev_check("paper", "--source", str(candles_csv), "--models-dir", str(models),
                          "--journal", str(journal))  # fmt: skip
    assert again.returncode == EXIT_OK and "0 new row(s)" in again.stdout
    assert _journal(journal) == (decisions, events)


def test_paper_killed_midway_resumes_to_the_journal_of_an_uninterrupted_run(
    cli, signal_set, tmp_path
):
    models, candles_csv = signal_set
    whole = tmp_path / "whole-models"
    shutil.copytree(models, whole, symlinks=True)
    args = ["paper", "--source", str(candles_csv), "--journal"]
    uninterrupted = cli.dev_check(*args, str(tmp_path / "whole.sqlite"), "--models-dir", str(whole))
    assert uninterrupted.returncode == EXIT_DEGRADED, uninterrupted.stderr

    journal = tmp_path / "killed.sqlite"
    process = cli.spawn(
        str(cli.root / DEV_CHECK), *args, str(journal), "--models-dir", str(models),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    rows_at_kill = _wait_for_rows(journal, process, at_least=40)
    process.send_signal(signal.SIGKILL)
    assert process.wait(timeout=30) == -signal.SIGKILL
    assert 40 <= rows_at_kill < AFTER_BARS  # killed mid-way, not after it finished

    resumed = cli.dev_check(*args, str(journal), "--models-dir", str(models))

    assert resumed.returncode in (EXIT_OK, EXIT_DEGRADED), resumed.stdout + resumed.stderr
    assert _journal(journal) == _journal(tmp_path / "whole.sqlite")


def _wait_for_rows(journal: Path, process: subprocess.Popen, at_least: int) -> int:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        if journal.exists():
            try:
                with sqlite3.connect(journal, timeout=0.1) as db:
                    rows = db.execute("SELECT COUNT(*) FROM decisions").fetchone()[0]
            except sqlite3.OperationalError:  # the tables are being created
                rows = 0
            if rows >= at_least:
                return rows
        time.sleep(0.01)
    raise AssertionError(f"the paper run ended ({process.poll()}) before {at_least} rows")


def test_rollback_refuses_a_retired_set_unless_forced(cli, signal_set, tmp_path):
    models, candles_csv = signal_set
    retired = (models / "current").resolve().name
    paper = cli.dev_check("paper", "--source", str(candles_csv), "--models-dir", str(models),
                          "--journal", str(tmp_path / "journal.sqlite"))  # fmt: skip
    assert paper.returncode == EXIT_DEGRADED, paper.stdout + paper.stderr
    forced = cli.create_ml_models("--source", str(candles_csv), "--models-dir", str(models),
                                  "--force")  # fmt: skip
    assert forced.returncode == EXIT_OK, forced.stdout + forced.stderr

    refused = cli.dev_check("rollback", "--to", retired, "--models-dir", str(models))
    assert refused.returncode == EXIT_BAD_INPUT
    assert f"{retired} was retired" in refused.stderr and "--force" in refused.stderr
    assert "Traceback" not in refused.stderr

    restored = cli.dev_check("rollback", "--to", retired, "--force", "--models-dir", str(models))
    assert restored.returncode == EXIT_OK, restored.stdout + restored.stderr
    assert "its retirement is lifted" in restored.stdout
    history = cli.dev_check("history", "--models-dir", str(models))
    assert "retirement lifted" in history.stdout and f"* {retired}" in history.stdout


def test_paper_follow_polls_bitbank_for_each_new_closed_candle(cli, bitbank, tmp_path):
    models, journal = tmp_path / "models", tmp_path / "journal.sqlite"
    bitbank.now = pd.Timestamp.now(tz="UTC").floor("15min") - pd.Timedelta(days=2)
    env = {"BITBANK_API_URL": bitbank.url}
    trained = cli.create_ml_models("--source", "bitbank", "--days", "20", "--models-dir",
                                   str(models), "--force", env=env)  # fmt: skip
    assert trained.returncode == EXIT_OK, trained.stdout + trained.stderr
    trained_until = pd.Timestamp(Registry(models).load().metadata.data.end)

    process = cli.spawn(
        str(cli.root / DEV_CHECK), "paper", "--source", "bitbank", "--models-dir", str(models),
        "--journal", str(journal), "--follow", "--poll-seconds", "0.2",
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        for closed in range(1, 5):  # the server's clock moves on: one more candle closes
            bitbank.now += pd.Timedelta(minutes=15)
            _wait_for_rows(journal, process, at_least=closed)
    finally:
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=30)
        cli.ended(process)

    assert process.returncode == EXIT_OK, out + err
    assert "stopped; the next run resumes after the newest row" in out
    decisions, events = _journal(journal)
    times = pd.DatetimeIndex([row[0] for row in decisions])
    assert times[0] == trained_until + pd.Timedelta(minutes=15)
    assert (times[1:] - times[:-1] == pd.Timedelta(minutes=15)).all()  # each once, in order
    assert times[-1] == trained_until + pd.Timedelta(hours=1)
    assert [event[1] for event in events] == ["start"]


def test_paper_imports_no_training_library(cli, signal_set, tmp_path):
    models, candles_csv = signal_set
    probe = (
        "import runpy, sys\n"
        f"sys.argv = [{str(cli.root / DEV_CHECK)!r}, 'paper', '--source', {str(candles_csv)!r},"
        f" '--models-dir', {str(models)!r}, '--journal', {str(tmp_path / 'j.sqlite')!r}]\n"
        "try:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
        "except SystemExit as stop:\n    code = stop.code\n"
        "heavy = ('sklearn', 'lightgbm', 'xgboost', 'scipy', 'optuna', 'dask', 'distributed',"
        " 'matplotlib', 'onnx', 'skl2onnx')\n"
        "print('exit', code, 'loaded', sorted(m for m in heavy if m in sys.modules))\n"
    )
    result = cli.python("-c", probe)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == f"exit {EXIT_DEGRADED} loaded []"


@pytest.mark.parametrize("seconds", ["0", "-5", "nan", "soon"])
def test_a_poll_interval_that_is_not_positive_is_refused_before_anything_runs(
    cli, tmp_path, seconds
):
    refused = cli.dev_check("paper", "--source", "sample", "--models-dir", str(tmp_path),
                            "--follow", "--poll-seconds", seconds)  # fmt: skip
    assert refused.returncode == EXIT_BAD_INPUT
    assert "must be a number of seconds above 0" in refused.stderr
    assert not (tmp_path / "paper-journal.sqlite").exists()
