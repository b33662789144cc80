"""The tuning options of the training CLIs, run as a user runs them."""

from __future__ import annotations

import json

import yaml


def test_tune_on_two_local_workers_records_the_search(repo_copy, random_walk_csv, tmp_path):
    # Two workers of 512 MiB fit limits.max_rss_mib's 1 GiB (two of the default 1 GiB do not).
    path = repo_copy.root / "config" / "core" / "base.yaml"
    config = yaml.safe_load(path.read_text())
    config["compute"]["memory_limit_mib"] = 512
    path.write_text(yaml.safe_dump(config))
    models = tmp_path / "models"
    completed = repo_copy.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(models), "--verbose",
        "--tune", "--tune-trials", "3", "--workers", "2", "--force",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "tuning: lightgbm trial 3/3" in completed.stdout
    assert "Tuning, CV log loss of the training window, untuned -> chosen" in completed.stdout
    metadata = json.loads((models / "training" / "training_metadata.json").read_text())
    tuning = metadata["tuning"]
    assert tuning["enabled"] and "LocalCluster of 2" in tuning["compute"]
    for name, model in tuning["models"].items():
        assert model["trials"] == 3
        chosen = model["chosen_params"]
        assert chosen and {k: metadata["hyperparameters"][name][k] for k in chosen} == chosen


def test_no_tune_trains_with_the_configured_values(cli, random_walk_csv, tmp_path):
    models = tmp_path / "models"
    completed = cli.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(models), "--no-tune", "--force"
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "Tuning: off" in completed.stdout
    metadata = json.loads((models / "training" / "training_metadata.json").read_text())
    assert metadata["tuning"] == {"enabled": False}


def test_an_unreachable_scheduler_is_bad_input_exit_2(cli, random_walk_csv, tmp_path):
    completed = cli.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(tmp_path / "models"),
        "--tune", "--scheduler", "tcp://127.0.0.1:9",
    )  # fmt: skip
    assert completed.returncode == 2, completed.stdout + completed.stderr
    assert "error: no Dask scheduler answers at tcp://127.0.0.1:9" in completed.stderr
    assert "Traceback" not in completed.stderr
    assert not (tmp_path / "models" / "training").exists()


def test_tune_on_a_dask_cluster_records_where_the_trials_ran(
    cli, random_walk_csv, tmp_path, dask_cluster
):
    models = tmp_path / "models"
    completed = cli.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(models), "--verbose",
        "--tune", "--tune-trials", "2", "--scheduler", dask_cluster.address, "--force",
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "tuning: lightgbm trial 2/2" in completed.stdout
    tuning = json.loads((models / "training" / "training_metadata.json").read_text())["tuning"]
    assert tuning["compute"] == f"on the Dask cluster at {dask_cluster.address}"
    assert {model["trials"] for model in tuning["models"].values()} == {2}
