"""Tuning on a real cluster: `dask scheduler` and two `dask worker` processes on 127.0.0.1,
started as the README tells a user to."""

from __future__ import annotations

import os
import threading
import time

import pytest

from src.compute import open_compute
from src.config import with_overrides
from src.data.synthetic import generate_sample_market_data
from src.registry.tuning_record import TuningOn
from src.tuning import tune
from tests.support.dask_cluster import start_cluster
from tests.support.tuning_runs import SMALL_MODELS, decisions, small_tuning_settings


@pytest.fixture
def cluster(tmp_path):
    cluster = start_cluster(2, tmp_path)
    yield cluster
    cluster.stop()


def test_a_real_cluster_runs_a_study_to_the_same_choice(
    cluster, in_process_tuning, tuning_settings, tuning_candles
):
    with open_compute(scheduler_address=cluster.address) as compute:
        assert compute.workers == 2
        on_cluster = tune(tuning_settings, tuning_candles, compute, progress=lambda line: None)
    assert cluster.address in on_cluster.record["compute"]
    TuningOn.model_validate(on_cluster.record)
    assert decisions(on_cluster) == decisions(in_process_tuning)


def _kill_a_busy_worker(cluster, killed: list[int]) -> None:
    from distributed import Client

    with Client(cluster.address) as watcher:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            busy = [address for address, keys in watcher.processing().items() if keys]
            if busy:
                pid = watcher.run(os.getpid, workers=busy[:1])[busy[0]]
                cluster.kill_worker(pid)
                killed.append(pid)
                return
            time.sleep(0.05)


def test_killing_a_worker_mid_study_fails_its_trial_and_the_study_goes_on(cluster):
    # Trials of seconds (hundreds of trees on a few thousand rows), so the kill lands while one
    # runs even on a loaded machine, where the watcher may see a task late.
    settings = small_tuning_settings(n_trials=4, batch_size=2, startup_trials=2, search_space={
        "lightgbm": {}, "xgboost": {},
        "random_forest": {"n_estimators": {"type": "int", "low": 20, "high": 600}},
    })  # fmt: skip
    settings = with_overrides(
        settings,
        training={"models": {**SMALL_MODELS, "random_forest": {
            **SMALL_MODELS["random_forest"], "n_estimators": 300, "min_samples_leaf": 5}}},
    )  # fmt: skip
    tuning_candles = generate_sample_market_data(n_bars=3_000, seed=4)
    killed: list[int] = []
    killer = threading.Thread(target=_kill_a_busy_worker, args=(cluster, killed))
    with open_compute(scheduler_address=cluster.address) as compute:
        killer.start()
        record = tune(settings, tuning_candles, compute, progress=lambda line: None).record
    killer.join()
    assert killed, "no worker was ever busy"
    model = TuningOn.model_validate(record).models["random_forest"]
    assert model.trials == 4 and model.stopped_by == "n_trials"
    failed = [trial for trial in model.history if trial.state == "failed"]
    assert len(failed) == model.failed >= 1
    assert all("worker died" in trial.error for trial in failed)
    assert model.completed >= 1 and model.best_trial is not None
