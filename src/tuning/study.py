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
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState

from src.compute import Compute, TaskCut, TaskFailure
from src.config import MODEL_NAMES, Choice, IntRange, Settings, TuningConfig
from src.ml.evaluation import purged_time_series_cv
from src.ml.training import training_window
from src.tuning.checks import check_tuning
from src.tuning.errors import TuningError
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
    holdout's purge), then return settings with the best parameters in.

    The three studies advance together, one batch each per round, so a round gives the workers
    every model's trials at once and they wait only at the end of the round."""
    tuning, training = settings.tuning, settings.training
    if not tuning.enabled:
        return Tuning(settings, {"enabled": False})
    check_tuning(settings)
    X_train, y_train = training_window(candles, settings)
    folds = list(purged_time_series_cv(training.cv.n_splits, training.cv.gap).split(X_train))
    data = compute.share(CVData(X_train, y_train, folds, training.seed, training.n_jobs))
    started_at = f"{datetime.now(UTC):%Y%m%dT%H%M%S}"
    searches = [
        _Search.start(name, settings, started_at)
        for name in MODEL_NAMES
        if getattr(tuning.search_space, name)
    ]
    started = time.perf_counter()
    deadline = started + tuning.timeout_minutes * 60
    while (active := [s for s in searches if s.wants_more(tuning)]) and (
        time.perf_counter() < deadline
    ):
        asked = [(search, trial, task) for search in active for trial, task in search.ask(tuning)]
        # The budget holds inside a round too: what is still running when it ends is cut.
        budget_s = max(deadline - time.perf_counter(), 0.0)
        results = compute.map(run_trial, [task for _, _, task in asked], data, budget_s)
        for (search, trial, _), result in zip(asked, results, strict=True):
            search.tell(trial, result)
        progress(_progress_line(searches, tuning, started, deadline))
    _check_outcome(searches, tuning, compute, progress)
    records = {search.name: _model_record(search, tuning, training.seed) for search in searches}
    models = dict(training.models.model_dump())
    for name, record in records.items():
        models[name] = {**models[name], **record["chosen_params"]}
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
        "wall_seconds": round(time.perf_counter() - started, 3),
        "models": records,
    }
    return Tuning(tuned, record)


@dataclass
class _Search:
    """One model's study and the trials it has run so far."""

    name: str
    study: optuna.Study
    distributions: dict[str, optuna.distributions.BaseDistribution]
    defaults: dict
    history: list[dict] = field(default_factory=list)
    cut: int = 0  # trials the time budget ended before they finished

    @classmethod
    def start(cls, name: str, settings: Settings, started_at: str) -> _Search:
        tuning = settings.tuning
        space = getattr(tuning.search_space, name)
        defaults = getattr(settings.training.models, name)
        study = optuna.create_study(
            study_name=f"{name}-{started_at}",
            storage=tuning.storage,
            direction="minimize",
            sampler=_sampler(tuning, settings.training.seed),
        )
        study.enqueue_trial({param: defaults[param] for param in space})  # trial 0: untuned
        distributions = {param: distribution(dimension) for param, dimension in space.items()}
        return cls(name, study, distributions, defaults)

    def wants_more(self, tuning: TuningConfig) -> bool:
        return len(self.history) < tuning.n_trials

    def ask(self, tuning: TuningConfig) -> list[tuple[optuna.Trial, TrialTask]]:
        """This round's batch: its trials, and the tasks that run them."""
        run = len(self.history)
        batch = [
            self.study.ask(self.distributions)
            for _ in range(min(_batch_size(tuning, run), tuning.n_trials - run))
        ]
        earlier = self.study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        return [
            (
                trial,
                TrialTask(
                    self.name,
                    {**self.defaults, **trial.params},
                    trial.params,
                    self.distributions,
                    earlier,
                    tuning.startup_trials,
                ),
            )
            for trial in batch
        ]

    def tell(self, trial: optuna.Trial, result: TrialResult | TaskFailure) -> None:
        self.history.append(_tell(self.study, trial, result))
        self.cut += isinstance(result, TaskCut)

    @property
    def failures(self) -> list[dict]:
        """The trials that failed on their own (not cut by the time budget)."""
        cut = TaskCut().error
        return [e for e in self.history if e["state"] == "failed" and e["error"] != cut]

    @property
    def finished(self) -> int:
        return sum(entry["state"] in ("complete", "pruned") for entry in self.history)


def _check_outcome(searches: list[_Search], tuning: TuningConfig, compute: Compute, progress):
    """A model whose every trial failed is an error, not a quiet untuned run; a budget that
    ended before a model's first trial finished is said, and its untuned values stay."""
    for search in searches:
        if search.failures and not search.finished:
            first = search.failures[0]["error"]
            raise TuningError(
                f"every {search.name} trial that ran {compute.where} failed "
                f"({len(search.failures)}; the first: {first}); workers that die may need more "
                "memory: raise compute.memory_limit_mib (or the cluster's --memory-limit); "
                f"otherwise check tuning.search_space.{search.name}"
            )
    cut = sum(search.cut for search in searches)
    if cut:
        untuned = [search.name for search in searches if not search.finished]
        progress(
            f"tuning: the time budget ({tuning.timeout_minutes:g} min) ended with {cut} trial(s) "
            "unfinished, which are recorded as cut; training with the best found so far"
            + (f" ({', '.join(untuned)}: base.yaml's values, no trial finished)" if untuned else "")
        )


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


def _progress_line(searches: list[_Search], tuning: TuningConfig, started, deadline) -> str:
    run = sum(len(search.history) for search in searches)
    remaining = sum(tuning.n_trials - len(search.history) for search in searches)
    elapsed = time.perf_counter() - started
    left = min(deadline - time.perf_counter(), elapsed / run * remaining)
    parts = []
    for search in searches:
        best = _best(search.study)
        best_text = f"best {best.value:.5f}" if best else "none completed yet"
        parts.append(f"{search.name} trial {len(search.history)}/{tuning.n_trials} ({best_text})")
    return f"tuning: {', '.join(parts)}; ~{max(left, 0) / 60:.1f} min left"


def _importances(study: optuna.Study, seed: int) -> dict[str, float]:
    """fANOVA importance of each parameter for the CV log loss (empty with too few trials)."""
    evaluator = optuna.importance.FanovaImportanceEvaluator(seed=seed)
    try:
        importances = optuna.importance.get_param_importances(study, evaluator=evaluator)
    except (RuntimeError, ValueError):
        return {}
    return {param: float(value) for param, value in importances.items()}


def _model_record(search: _Search, tuning: TuningConfig, seed: int) -> dict:
    history, best = search.history, _best(search.study)
    default = history[0] if history else None
    states = [entry["state"] for entry in history]
    return {
        "trials": len(history),
        "completed": states.count("complete"),
        "pruned": states.count("pruned"),
        "failed": states.count("failed"),
        "stopped_by": "timeout" if search.cut or len(history) < tuning.n_trials else "n_trials",
        "default_cv_log_loss": (
            default["cv_log_loss"] if default and default["state"] == "complete" else None
        ),
        "best_cv_log_loss": best.value if best else None,
        "best_trial": best.number if best else None,
        # No completed trial: training.models' values stay (trial 0's params are those).
        "chosen_params": best.params if best else {},
        "param_importances": _importances(search.study, seed),
        "trial_seconds": round(sum(entry["seconds"] or 0.0 for entry in history), 3),
        "history": history,
    }
