"""The weekly job's watch over the live set, run as the workflow runs it: it retires a set that
failed on the candles since its training window and, when no candidate replaces it, names (and
with auto_restore, restores) the archived set that still trades well."""

from __future__ import annotations

import numpy as np
import pytest
import yaml

from tests.support.candles import make_planted_candles

pytestmark = pytest.mark.slow

EXIT_OK, EXIT_REJECTED = 0, 3
# One timeline: the volume rule reversed, then the rule, then noise, then the rule back.
PERIODS = {"anti": (1500, 0.15), "signal": (1500, 0.85), "noise": (2000, 0.5), "back": (700, 0.85)}


def _period_files(directory):
    accuracy = np.concatenate([np.full(n, a) for n, a in PERIODS.values()])
    candles = make_planted_candles(len(accuracy), seed=9, accuracy=accuracy)
    edges = np.cumsum([0, *(n for n, _ in PERIODS.values())])
    files = {name: directory / f"{name}.csv" for name in ("signal", "anti", "latest")}
    candles.iloc[edges[1] : edges[2]].to_csv(files["signal"])
    candles.iloc[: edges[1]].to_csv(files["anti"])  # dated before the signal set's window
    candles.iloc[edges[2] :].to_csv(files["latest"])  # noise, then the rule back for a week
    return files


def test_the_weekly_job_retires_a_failed_set_and_restores_the_one_that_still_trades(
    repo_copy, tmp_path
):
    config = repo_copy.root / "config" / "core" / "thresholds.yaml"
    thresholds = yaml.safe_load(config.read_text())
    thresholds["degradation"]["retirement"]["auto_restore"] = True
    config.write_text(yaml.safe_dump(thresholds))
    files, models = _period_files(tmp_path), tmp_path / "models"

    def train(*args):
        return repo_copy.create_ml_models("--models-dir", str(models), "--source", *args)

    assert train(str(files["signal"])).returncode == EXIT_OK
    good = (models / "current").resolve().name
    # Forced live on candles older than the good set's window: nothing to judge it on yet.
    assert train(str(files["anti"]), "--force").returncode == EXIT_OK
    failing = (models / "current").resolve().name

    weekly = train(str(files["latest"]))

    out = weekly.stdout
    assert weekly.returncode == EXIT_REJECTED, out + weekly.stderr
    assert f"the live set {failing} is RETIRED" in out and "skill gone" in out
    assert f"restorable: {good} on the latest week" in out
    assert f"restored {good} (degradation.retirement.auto_restore is on)" in out
    assert (models / "current").resolve().name == good
    history = repo_copy.dev_check("history", "--models-dir", str(models)).stdout
    assert "RETIRED at" in history.split(failing)[1].split("training_")[0]
