"""One tuning trial, as it runs on a worker: fit the purged CV folds, stop early on a bad fold.

A trial is a plain task (no shared study storage): it carries its parameters and the trials
completed in earlier batches, and asks Optuna's own pruner, on a private copy of those, whether
its running CV log loss is bad enough to stop. Only earlier batches are in that copy, so the
decision is the same whichever worker runs the trial and whenever its batch-mates finish.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
from sklearn.metrics import log_loss

from src.ml.models import build_model

optuna.logging.set_verbosity(optuna.logging.WARNING)


def make_pruner(startup_trials: int) -> optuna.pruners.BasePruner:
    """Stops a trial whose mean log loss over its folds so far is worse than the median of the
    completed trials' at the same fold, once `startup_trials` trials have completed."""
    return optuna.pruners.MedianPruner(n_startup_trials=startup_trials, n_warmup_steps=0)


@dataclass(frozen=True)
class CVData:
    """The training window and its purged CV folds, shared with every worker once."""

    X: pd.DataFrame
    y: pd.Series
    folds: list[tuple[np.ndarray, np.ndarray]]  # (train rows, test rows) by position
    seed: int
    n_jobs: int


@dataclass(frozen=True)
class TrialTask:
    model: str
    params: dict  # every hyperparameter: training.models' values with the sampled ones in
    sampled: dict
    distributions: dict[str, optuna.distributions.BaseDistribution]
    earlier: list[optuna.trial.FrozenTrial]  # the pruner's view: completed, earlier batches
    startup_trials: int


@dataclass(frozen=True)
class TrialResult:
    fold_log_losses: list[float]  # one per fold run; fewer than the folds when pruned
    pruned: bool
    seconds: float

    @property
    def cv_log_loss(self) -> float:
        return float(np.mean(self.fold_log_losses))


def _pruner_view(task: TrialTask) -> optuna.Trial:
    study = optuna.create_study(direction="minimize", pruner=make_pruner(task.startup_trials))
    study.add_trials(task.earlier)
    study.enqueue_trial(task.sampled)
    return study.ask(task.distributions)


def run_trial(task: TrialTask, data: CVData) -> TrialResult:
    """Fit `task.params` on each fold in time order; the objective is the mean test log loss."""
    started = time.perf_counter()
    view = _pruner_view(task)
    losses: list[float] = []
    for step, (train_rows, test_rows) in enumerate(data.folds):
        model = build_model(task.model, task.params, data.seed, data.n_jobs)
        model.fit(data.X.iloc[train_rows], data.y.iloc[train_rows])
        p_up = np.clip(model.predict_proba(data.X.iloc[test_rows])[:, 1], 1e-15, 1 - 1e-15)
        losses.append(float(log_loss(data.y.iloc[test_rows], p_up, labels=[0, 1])))
        view.report(float(np.mean(losses)), step)
        if step < len(data.folds) - 1 and view.should_prune():
            return TrialResult(losses, True, time.perf_counter() - started)
    return TrialResult(losses, False, time.perf_counter() - started)
