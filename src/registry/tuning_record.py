"""The metadata's record of the hyperparameter search: each model's trials and what was chosen."""

from __future__ import annotations

from typing import Literal

from src.registry.record import Record

Param = float | int | str | bool | None


class TrialRecord(Record):
    number: int
    state: Literal["complete", "pruned", "failed"]
    cv_log_loss: float | None  # mean over the folds run (fewer than all when pruned)
    folds_run: int
    seconds: float | None
    params: dict[str, Param]
    error: str | None  # why a failed trial failed


class ModelTuning(Record):
    trials: int
    completed: int
    pruned: int
    failed: int
    stopped_by: Literal["n_trials", "timeout"]
    default_cv_log_loss: float | None  # trial 0: training.models' untuned values
    best_cv_log_loss: float | None
    best_trial: int | None
    chosen_params: dict[str, Param]  # empty: no trial completed, the untuned values stay
    param_importances: dict[str, float]  # fANOVA, for the CV log loss
    trial_seconds: float  # its trials' time, summed (the studies run side by side)
    history: list[TrialRecord]


class TuningOn(Record):
    enabled: Literal[True]
    objective: str
    sampler: str
    seed: int
    pruner: str
    n_trials: int
    timeout_minutes: float
    batch_size: int
    compute: str
    storage: str
    search_space: dict[str, dict[str, dict[str, Param | list[Param]]]]
    wall_seconds: float  # the whole search
    models: dict[Literal["lightgbm", "xgboost", "random_forest"], ModelTuning]


class TuningOff(Record):
    enabled: Literal[False]
