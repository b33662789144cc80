"""The floor: the same fits as the weekly run, done directly with the libraries on numpy arrays.

Same hyperparameters (config/core/base.yaml through src.config.load_settings), same seed, one
thread, same row counts: n_splits fits on the expanding TimeSeriesSplit windows of the training
rows plus one final fit on all training rows, per model. Nothing else (no metrics, no pickling,
no pandas), so full-run wall / floor wall is the price of everything around the fits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from lightgbm import LGBMClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.model_selection import TimeSeriesSplit
from xgboost import XGBClassifier

from src.config import Settings
from src.ml.evaluation import split_holdout


def raw_classifiers(settings: Settings) -> dict:
    """Fresh library estimators with the configured hyperparameters, seeded, one thread."""
    training = settings.training
    params, seed = training.models, training.seed
    return {
        "lightgbm": lambda: LGBMClassifier(
            **params.lightgbm, random_state=seed, n_jobs=1, deterministic=True, verbose=-1
        ),
        "xgboost": lambda: XGBClassifier(
            **params.xgboost, random_state=seed, n_jobs=1, eval_metric="logloss"
        ),
        "random_forest": lambda: RandomForestClassifier(
            **params.random_forest, random_state=seed, n_jobs=1
        ),
    }


@dataclass
class Floor:
    fit_s: float  # all fits: n_splits CV windows + 1 final, per model
    fit_cpu_s: float  # the same, process CPU time (the bench runs nothing else meanwhile)
    predict_s: float  # P(up) of each CV test block and of the holdout, per model
    fit_s_by_model: dict[str, float]
    n_fits: int
    fit_rows: list[int]  # training rows of each fit, per model (same list for every model)


def measure_floor(X: np.ndarray, y: np.ndarray, settings: Settings) -> Floor:
    training = settings.training
    split = split_holdout(len(y), training.holdout_fraction, training.cv.gap)
    X_train, y_train = X[: split.train_end], y[: split.train_end]
    X_hold = X[split.holdout_start :]
    windows = [
        (train_idx[-1] + 1, test_idx)
        for train_idx, test_idx in TimeSeriesSplit(
            n_splits=training.cv.n_splits, gap=training.cv.gap
        ).split(X_train)
    ]
    fit_rows = [end for end, _ in windows] + [len(y_train)]
    fit_s, predict_s, n_fits, fit_cpu_s = {}, 0.0, 0, 0.0
    for name, make in raw_classifiers(settings).items():
        fit_s[name] = 0.0
        for end, test_idx in [*windows, (len(y_train), None)]:
            # Expanding windows start at row 0, so a contiguous slice equals X[train_idx].
            started, cpu_started = time.perf_counter(), time.process_time()
            model = make().fit(X_train[:end], y_train[:end])
            fit_s[name] += time.perf_counter() - started
            fit_cpu_s += time.process_time() - cpu_started
            n_fits += 1
            started = time.perf_counter()
            model.predict_proba(X_hold if test_idx is None else X_train[test_idx])
            predict_s += time.perf_counter() - started
    return Floor(
        fit_s=sum(fit_s.values()),
        fit_cpu_s=fit_cpu_s,
        predict_s=predict_s,
        fit_s_by_model=fit_s,
        n_fits=n_fits,
        fit_rows=fit_rows,
    )
