"""The training commands' documented options on their success paths, run as a user runs them:
bitbank over --days, the shipped sample, a file with --symbol/--timeframe/--seed, --force-memory,
and `dev_check.py ml-models` with a tuning budget."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest

from src.config import MODEL_NAMES
from src.ml.memory import estimate_peak

from .conftest import N_BARS

EXIT_OK, EXIT_REJECTED = 0, 3

pytestmark = pytest.mark.slow


def _metadata(set_dir: Path) -> dict:
    return json.loads((set_dir / "training" / "training_metadata.json").read_text())


def _candidate(models_dir: Path) -> Path:
    (candidate,) = (models_dir / "candidates").iterdir()
    return candidate


def test_bitbank_candles_of_the_last_days_train_and_promote(repo_copy, bitbank, tmp_path):
    models = tmp_path / "models"
    # As the weekly workflow runs it, against the local bitbank; the cache lands in the copy.
    result = repo_copy.create_ml_models(
        "--verbose", "--source", "bitbank", "--days", "25", "--models-dir", str(models),
        env={"BITBANK_API_URL": bitbank.url},
    )  # fmt: skip

    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert re.search(r"^bitbank BTC/JPY 15m: day 26/26 \(", result.stdout, re.M)
    assert len(bitbank.candle_requests()) == 26  # one request per UTC day of the 25-day window
    data = _metadata(models)["data"]
    assert (data["source"], data["symbol"], data["timeframe"]) == ("bitbank", "BTC/JPY", "15m")
    span = pd.Timestamp(data["end"]) - pd.Timestamp(data["start"])
    assert pd.Timedelta(days=24, hours=23) <= span < pd.Timedelta(days=25)
    assert f"Data: bitbank BTC/JPY 15m, {data['candles']} candles" in result.stdout
    assert f"promoted to {models}/ (previous version: None)" in result.stdout
    assert (repo_copy.root / "data" / "cache" / "bitbank_BTC_JPY_15m.parquet").is_file()


def test_the_shipped_sample_trains_and_is_rejected(cli, tmp_path):
    models = tmp_path / "models"

    result = cli.create_ml_models("--source", "sample", "--verbose", "--models-dir", str(models))

    # The README's verdict on the sample: real but small skill, no edge after fees.
    assert result.returncode == EXIT_REJECTED, result.stdout + result.stderr
    assert "Data: sample ETH/BTC 5m, 5760 candles 2018-01-10" in result.stdout
    assert "Quality gate: REJECTED" in result.stdout
    assert re.search(r"^Skill: on 1142 holdout rows", result.stdout, re.M)
    assert re.search(r"^Money: the policy stays flat", result.stdout, re.M)
    candidate = _candidate(models)
    assert f"not promoted; candidate kept at {candidate}" in result.stdout
    assert _metadata(candidate)["data"]["source"] == "sample"
    assert not (models / "current").exists()


def test_a_file_with_symbol_timeframe_and_seed_records_them(cli, trained_set, tmp_path):
    models = tmp_path / "models"

    result = cli.create_ml_models(
        "--source", str(trained_set.csv), "--timeframe", "15m", "--symbol", "BTC/JPY",
        "--seed", "11", "--models-dir", str(models),
    )  # fmt: skip

    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert f"Data: file:{trained_set.csv} BTC/JPY 15m, {N_BARS} candles" in result.stdout
    metadata = _metadata(models)
    assert (metadata["data"]["symbol"], metadata["data"]["timeframe"]) == ("BTC/JPY", "15m")
    assert metadata["random_seed"] == 11 != trained_set.metadata()["random_seed"]
    # The seed reaches the models: other trees than the default seed's on the same candles.
    assert metadata["file_hashes"]["random_forest"] != (
        trained_set.metadata()["file_hashes"]["random_forest"]
    )


def test_force_memory_trains_a_window_above_the_memory_limit(
    repo_copy, random_walk_csv, tmp_path
):
    limit = int(estimate_peak(N_BARS, 1024).peak_mib) - 1  # one MiB too small for the window
    base_yaml = repo_copy.root / "config" / "core" / "base.yaml"
    base_yaml.write_text(
        base_yaml.read_text().replace("max_rss_mib: 1024", f"max_rss_mib: {limit}")
    )
    models = tmp_path / "models"

    result = repo_copy.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(models), "--verbose",
        "--force-memory",
    )  # fmt: skip

    assert result.returncode == EXIT_REJECTED, result.stdout + result.stderr
    line = re.search(r"^memory: ([\d,]+) candles, estimated peak ([\d,]+) MiB "
                     r"\(limits\.max_rss_mib ([\d,]+)\)$", result.stdout, re.M)  # fmt: skip
    assert line, result.stdout
    rows, peak, shown_limit = (int(group.replace(",", "")) for group in line.groups())
    assert rows == N_BARS and shown_limit == limit < peak
    assert "Quality gate: REJECTED" in result.stdout  # trained all the way to the verdict
    assert _metadata(_candidate(models))["training_samples"] > 0


def test_ml_models_trains_tunes_within_its_budget_and_promotes(cli, trained_set, tmp_path):
    models = tmp_path / "models"

    result = cli.dev_check(
        "ml-models", "--source", str(trained_set.csv), "--models-dir", str(models),
        "--tune", "--tune-trials", "2", "--tune-minutes", "5",
    )  # fmt: skip

    assert result.returncode == EXIT_OK, result.stdout + result.stderr
    assert re.search(r"^fitting lightgbm on \d+ rows$", result.stdout, re.M)  # always verbose
    assert "Tuning, CV log loss of the training window, untuned -> chosen" in result.stdout
    assert "Quality gate: PASSED" in result.stdout
    assert f"promoted to {models}/ (previous version: None)" in result.stdout
    tuning = _metadata(models)["tuning"]
    assert (tuning["n_trials"], tuning["timeout_minutes"]) == (2, 5.0)
    for name in MODEL_NAMES:
        assert (tuning["models"][name]["trials"], tuning["models"][name]["stopped_by"]) == (
            2, "n_trials",
        )  # fmt: skip
