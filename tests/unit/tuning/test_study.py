"""The search: on the training window only, the same choice on any number of workers, and a
record that says what it tried."""

from __future__ import annotations

import numpy as np
import pytest

from src.compute import Compute, TaskCut, open_compute
from src.config import ConfigError, with_overrides
from src.data.sources import CandleSet
from src.ml.evaluation import split_holdout
from src.ml.labels import build_dataset
from src.ml.training import train_models
from src.registry.tuning_record import TuningOn
from src.tuning import check_search_space, tune
from tests.support.tuning_runs import SMALL_MODELS, SMALL_SPACE, decisions, small_tuning_settings

QUIET = {"progress": lambda line: None}


def test_one_worker_records_every_trial_and_chooses_from_the_space(in_process_tuning):
    record = TuningOn.model_validate(in_process_tuning.record)  # the metadata's own schema
    for name, model in record.models.items():
        assert model.trials == len(model.history) == 6
        assert model.completed + model.pruned + model.failed == 6
        assert model.failed == 0 and model.stopped_by == "n_trials"
        # trial 0 is the untuned values, so the choice is never worse on the same folds
        assert model.history[0].params == {p: SMALL_MODELS[name][p] for p in SMALL_SPACE[name]}
        assert model.default_cv_log_loss == model.history[0].cv_log_loss
        assert model.best_cv_log_loss <= model.default_cv_log_loss
        best = model.history[model.best_trial]
        assert best.state == "complete" and best.cv_log_loss == model.best_cv_log_loss
        assert model.chosen_params == best.params
        for param, value in model.chosen_params.items():
            dimension = SMALL_SPACE[name][param]
            if dimension["type"] == "categorical":
                assert value in dimension["choices"]
            else:
                assert dimension["low"] <= value <= dimension["high"]
        tuned = getattr(in_process_tuning.settings.training.models, name)
        assert tuned == {**SMALL_MODELS[name], **model.chosen_params}


def test_the_same_seed_makes_the_same_choices(in_process_tuning, tuning_settings, tuning_candles):
    again = tune(tuning_settings, tuning_candles, Compute(), **QUIET)
    assert decisions(again) == decisions(in_process_tuning)


def test_two_local_workers_choose_what_one_chooses_and_train_valid_models(
    in_process_tuning, tuning_settings, tuning_candles
):
    with open_compute(workers=2, memory_limit_mib=1024) as compute:
        assert compute.workers == 2
        parallel = tune(tuning_settings, tuning_candles, compute, **QUIET)
    assert "LocalCluster of 2" in parallel.record["compute"]
    assert decisions(parallel) == decisions(in_process_tuning)

    candle_set = CandleSet(tuning_candles, "generated", "BTC/JPY", "15m")
    run = train_models(candle_set, parallel.settings, QUIET["progress"])
    for name, model in parallel.record["models"].items():
        fitted = run.models[name].estimator.get_params()
        assert {param: fitted[param] for param in model["chosen_params"]} == model["chosen_params"]
    assert 0.0 < run.ensemble_metrics["log_loss"] < 1.0


def test_changing_holdout_candles_cannot_change_the_choice(
    in_process_tuning, tuning_settings, tuning_candles
):
    training = tuning_settings.training
    X, _ = build_dataset(tuning_candles, training.label.horizon, training.label.threshold)
    split = split_holdout(len(X), training.holdout_fraction, training.cv.gap, training.cv.n_splits)
    holdout_starts = tuning_candles.index.get_loc(X.index[split.holdout_start])
    changed = tuning_candles.copy()
    rows = slice(holdout_starts, None)
    rng = np.random.default_rng(0)
    scale = rng.uniform(0.5, 1.5, len(changed.iloc[rows]))
    for column in ("open", "high", "low", "close"):
        changed.iloc[rows, changed.columns.get_loc(column)] *= scale
    changed.iloc[rows, changed.columns.get_loc("volume")] *= scale[::-1]
    assert not changed.equals(tuning_candles)

    assert decisions(tune(tuning_settings, changed, Compute(), **QUIET)) == decisions(
        in_process_tuning
    )


def test_a_trial_worse_than_the_median_after_a_fold_is_pruned(tuning_candles):
    # learning rates up to 1.0 with deep trees overfit badly: such trials stop after a fold
    settings = small_tuning_settings(
        n_trials=12,
        startup_trials=2,
        search_space={
            "lightgbm": {"learning_rate": {"type": "float", "low": 0.01, "high": 1.0, "log": True},
                         "num_leaves": {"type": "int", "low": 3, "high": 63}},
            "xgboost": {},
            "random_forest": {},
        },
    )  # fmt: skip
    model = tune(settings, tuning_candles, Compute(), **QUIET).record["models"]["lightgbm"]
    pruned = [trial for trial in model["history"] if trial["state"] == "pruned"]
    assert pruned, "no trial was pruned"
    assert all(trial["folds_run"] < 3 for trial in pruned)
    assert model["pruned"] == len(pruned)
    assert set(settings.tuning.search_space.model_dump()) >= {"xgboost", "random_forest"}
    assert list(tune(settings, tuning_candles, Compute(), **QUIET).record["models"]) == [
        "lightgbm"
    ]  # an empty space leaves a model untuned


def test_the_time_budget_cuts_the_trials_still_to_run_and_the_untuned_values_stay(
    tuning_candles,
):
    # 60 microseconds: over before any trial can start (those asked are cut, none runs).
    settings = small_tuning_settings(timeout_minutes=1e-6)
    lines = []
    tuning = tune(settings, tuning_candles, Compute(), progress=lines.append)
    for model in tuning.record["models"].values():
        assert model["stopped_by"] == "timeout" and model["completed"] == 0
        assert all(trial["error"] == TaskCut().error for trial in model["history"])
        assert model["chosen_params"] == {}
    assert tuning.settings.training.models == settings.training.models
    if any(model["trials"] for model in tuning.record["models"].values()):
        assert "trial(s) unfinished, which are recorded as cut" in lines[-1]
        assert "base.yaml's values, no trial finished" in lines[-1]


def test_off_leaves_the_settings_as_they_are(tuning_candles):
    settings = small_tuning_settings(enabled=False)
    tuning = tune(settings, tuning_candles, Compute(), **QUIET)
    assert tuning.settings is settings and tuning.record == {"enabled": False}


@pytest.mark.parametrize(
    ("space", "message"),
    [
        ({"lightgbm": {"reg_alpha": {"type": "float", "low": 0.0, "high": 1.0}}},
         "tuning.search_space.lightgbm.reg_alpha: training.models.lightgbm has no reg_alpha"),
        ({"xgboost": {"max_depth": {"type": "int", "low": 4, "high": 8}}},
         "tuning.search_space.xgboost.max_depth: the untuned value 3 lies outside the range"),
        ({"lightgbm": {"num_leaves": {"type": "int", "low": 1, "high": 15}}},
         "tuning.search_space.lightgbm.num_leaves: 1 is refused by LGBMClassifier"),
    ],
)  # fmt: skip
def test_a_search_space_the_run_cannot_search_is_a_config_error(space, message):
    settings = small_tuning_settings(search_space={**SMALL_SPACE, **space})
    with pytest.raises(ConfigError) as raised:
        check_search_space(settings)
    assert message in str(raised.value)


def test_a_range_must_be_ordered():
    with pytest.raises(ConfigError, match="needs low < high"):
        reversed_range = {"max_depth": {"type": "int", "low": 5, "high": 2}}
        small_tuning_settings(search_space={**SMALL_SPACE, "xgboost": reversed_range})
    with pytest.raises(ConfigError):  # an int range of floats
        with_overrides(
            small_tuning_settings(),
            tuning={"search_space": {**SMALL_SPACE, "xgboost": {
                "max_depth": {"type": "int", "low": 2.5, "high": 4}}}},
        )  # fmt: skip
