"""Optuna studies, one per model, over base.yaml's search space, on the training window only.

Trials are asked in batches of `tuning.batch_size` from a seeded TPE sampler, run as tasks of the
compute layer, and told back in trial order when the batch is done: the sampler and the pruner
only ever see whole earlier batches, so one worker and ten choose the same parameters (given
the same trials; a timeout can cut a slower run shorter, which the record says). Trial 0 is
training.models' own values, so the chosen parameters never score worse on the CV than the
untuned defaults. The holdout is not passed in at all.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from src.compute import Compute, TaskFailure
from src.config import (
    BASE_CONFIG_PATH,
    MODEL_NAMES,
    Choice,
    ConfigError,
    IntRange,
    Settings,
    TuningConfig,
)
from src.ml.evaluation import purged_time_series_cv
from src.ml.models import validate_model_params
from src.ml.training import training_window
from src.tuning.trial import CVData, TrialResult, TrialTask, run_trial

Progress = Callable[[str], None]
OBJECTIVE = "mean log loss over the purged CV folds of the training window (holdout never seen)"


@dataclass(frozen=True)
class Tuning:
    """The settings to train with (tuned parameters in) and the metadata's `tuning` record."""

    settings: Settings
    record: dict


def distribution(dimension) -> optuna.distributions.BaseDistribution:
    if isinstance(dimension, Choice):
        return optuna.distributions.CategoricalDistribution(dimension.choices)
    if isinstance(dimension, IntRange):
        return optuna.distributions.IntDistribution(
            dimension.low, dimension.high, log=dimension.log
        )
    return optuna.distributions.FloatDistribution(dimension.low, dimension.high, log=dimension.log)


def check_search_space(settings: Settings) -> None:
    """Raise `ConfigError` unless every tuned parameter has an untuned value in training.models
    inside its range (trial 0), and the libraries accept both ends of every range."""
    training = settings.training
    for name in MODEL_NAMES:
        defaults = getattr(training.models, name)
        for param, dimension in getattr(settings.tuning.search_space, name).items():
            where = f"tuning.search_space.{name}.{param}"
            if param not in defaults:
                raise ConfigError(
                    f"{where}: training.models.{name} has no {param}; give it the untuned value "
                    f"there (trial 0 of the search) in {BASE_CONFIG_PATH}"
                )
            if not _contains(dimension, defaults[param]):
                raise ConfigError(
                    f"{where}: the untuned value {defaults[param]!r} lies outside the range; "
                    f"widen the range or change training.models.{name}.{param}"
                )
    for end in (0, -1):
        validate_model_params(_at_range_end(training, settings.tuning, end))


def _contains(dimension, value) -> bool:
    if isinstance(dimension, Choice):
        return value in dimension.choices
    return dimension.low <= value <= dimension.high


def _range_ends(dimension) -> list:
    return dimension.choices if isinstance(dimension, Choice) else [dimension.low, dimension.high]


def _at_range_end(training, tuning: TuningConfig, end: int):
    """training with every tuned parameter at the first (0) or last (-1) end of its range."""
    models = {
        name: {
            **getattr(training.models, name),
            **{
                param: _range_ends(dimension)[end]
                for param, dimension in getattr(tuning.search_space, name).items()
            },
        }
        for name in MODEL_NAMES
    }
    return training.model_copy(update={"models": type(training.models)(**models)})


def _sampler(tuning: TuningConfig, seed: int) -> optuna.samplers.BaseSampler:
    with warnings.catch_warnings():  # multivariate and constant_liar are marked experimental
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=seed, n_startup_trials=tuning.startup_trials, multivariate=True, constant_liar=True
        )


def _storage_label(storage: str | None) -> str:
    # A database URL may hold a password: record only its kind.
    return "in-memory" if storage is None else f"{storage.split(':', 1)[0]} (URL not recorded)"


def tune(
    settings: Settings, candles: pd.DataFrame, compute: Compute, progress: Progress = print
) -> Tuning:
    """Search each model's space on the training window of `candles` (the rows before the
    holdout's purge), then return settings with the best parameters in."""
    tuning, training = settings.tuning, settings.training
    if not tuning.enabled:
        return Tuning(settings, {"enabled": False})
    check_search_space(settings)
    X_train, y_train = training_window(candles, training)
    folds = list(purged_time_series_cv(training.cv.n_splits, training.cv.gap).split(X_train))
    data = compute.share(CVData(X_train, y_train, folds, training.seed, training.n_jobs))
    started_at = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    records, models = {}, dict(training.models.model_dump())
    for name in MODEL_NAMES:
        space = getattr(tuning.search_space, name)
        if not space:
            continue
        study = _study(name, settings, started_at)
        records[name] = _search(name, study, settings, compute, data, progress)
        models[name] = {**models[name], **records[name]["chosen_params"]}
    tuned = settings.model_copy(
        update={"training": training.model_copy(update={"models": type(training.models)(**models)})}
    )
    record = {
        "enabled": True,
        "objective": OBJECTIVE,
        "sampler": "TPESampler(multivariate=True, constant_liar=True)",
        "seed": training.seed,
        "pruner": f"MedianPruner(n_startup_trials={tuning.startup_trials}) after each fold",
        "n_trials": tuning.n_trials,
        "timeout_minutes": tuning.timeout_minutes,
        "batch_size": tuning.batch_size,
        "compute": compute.where,
        "storage": _storage_label(tuning.storage),
        "search_space": tuning.search_space.model_dump(mode="json"),
        "models": records,
    }
    return Tuning(tuned, record)


def _study(name: str, settings: Settings, started_at: str) -> optuna.Study:
    tuning = settings.tuning
    study = optuna.create_study(
        study_name=f"{name}-{started_at}",
        storage=tuning.storage,
        direction="minimize",
        sampler=_sampler(tuning, settings.training.seed),
    )
    defaults = getattr(settings.training.models, name)
    study.enqueue_trial({param: defaults[param] for param in getattr(tuning.search_space, name)})
    return study


def _search(name, study, settings, compute, data, progress) -> dict:
    tuning = settings.tuning
    defaults = getattr(settings.training.models, name)
    distributions = {
        param: distribution(dimension)
        for param, dimension in getattr(tuning.search_space, name).items()
    }
    started = time.perf_counter()
    deadline = started + tuning.timeout_minutes * 60
    history: list[dict] = []
    while len(history) < tuning.n_trials and time.perf_counter() < deadline:
        size = min(_batch_size(tuning, len(history)), tuning.n_trials - len(history))
        batch = [study.ask(distributions) for _ in range(size)]
        earlier = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        tasks = [
            TrialTask(
                name,
                {**defaults, **trial.params},
                trial.params,
                distributions,
                earlier,
                tuning.startup_trials,
            )
            for trial in batch
        ]
        for trial, result in zip(batch, compute.map(run_trial, tasks, data), strict=True):
            history.append(_tell(study, trial, result))
        progress(_progress_line(name, history, study, tuning, started, deadline))
    return _model_record(study, history, tuning, settings.training.seed, started)


def _batch_size(tuning: TuningConfig, trials_run: int) -> int:
    """`batch_size`, but the startup trials go in one batch: they are sampled at random and no
    pruning starts before they complete, so running them together changes nothing but the wait
    at the end of each batch (the idle worker time that limits the speed-up)."""
    return max(tuning.batch_size, tuning.startup_trials - trials_run)


def _tell(study: optuna.Study, trial: optuna.Trial, result: TrialResult | TaskFailure) -> dict:
    entry = {"number": trial.number, "params": trial.params}
    if isinstance(result, TaskFailure):
        study.tell(trial, state=TrialState.FAIL)
        return {
            **entry,
            "state": "failed",
            "cv_log_loss": None,
            "folds_run": 0,
            "seconds": None,
            "error": result.error,
        }
    for step, _ in enumerate(result.fold_log_losses):
        trial.report(float(np.mean(result.fold_log_losses[: step + 1])), step)
    if result.pruned:
        study.tell(trial, state=TrialState.PRUNED)
    else:
        study.tell(trial, result.cv_log_loss)
    return {
        **entry,
        "state": "pruned" if result.pruned else "complete",
        "cv_log_loss": result.cv_log_loss,  # over the folds run
        "folds_run": len(result.fold_log_losses),
        "seconds": round(result.seconds, 3),
        "error": None,
    }


def _best(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return min(complete, key=lambda trial: (trial.value, trial.number)) if complete else None


def _progress_line(name, history, study, tuning, started, deadline) -> str:
    best = _best(study)
    elapsed = time.perf_counter() - started
    per_trial = elapsed / len(history)
    left = min(deadline - time.perf_counter(), per_trial * (tuning.n_trials - len(history)))
    best_text = f"best CV log loss {best.value:.5f}" if best else "no trial completed yet"
    return (
        f"tuning {name}: trial {len(history)}/{tuning.n_trials}, {best_text}, "
        f"~{max(left, 0) / 60:.1f} min left"
    )


def _importances(study: optuna.Study, seed: int) -> dict[str, float]:
    """fANOVA importance of each parameter for the CV log loss (empty with too few trials)."""
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    try:
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError):
        return {}
    return {param: float(value) for param, value in importances.items()}


def _model_record(study, history, tuning, seed, started) -> dict:
    best = _best(study)
    default = history[0] if history else None
    states = [entry["state"] for entry in history]
    return {
        "trials": len(history),
        "completed": states.count("complete"),
        "pruned": states.count("pruned"),
        "failed": states.count("failed"),
        "stopped_by": "n_trials" if len(history) >= tuning.n_trials else "timeout",
        "default_cv_log_loss": (
            default["cv_log_loss"] if default and default["state"] == "complete" else None
        ),
        "best_cv_log_loss": best.value if best else None,
        "best_trial": best.number if best else None,
        # No completed trial: training.models' values stay (trial 0's params are those).
        "chosen_params": best.params if best else {},
        "param_importances": _importances(study, seed),
        "wall_seconds": round(time.perf_counter() - started, 3),
        "history": history,
    }
