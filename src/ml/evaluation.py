"""Honest evaluation: purged time-ordered CV, a chronological holdout, metrics and baselines."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.base import ClassifierMixin, clone
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    f1_score,
    log_loss,
    matthews_corrcoef,
    precision_score,
    recall_score,
    roc_auc_score,
)
from sklearn.model_selection import TimeSeriesSplit

from src.ml.errors import TrainingDataError

# Fewer rows than this per CV block (and in the holdout) make every score mostly noise.
MIN_ROWS_PER_BLOCK = 50

METRIC_NAMES = (
    "f1_score",
    "accuracy",
    "precision",
    "recall",
    "f1_up",
    "precision_up",
    "recall_up",
    "mcc",
    "balanced_accuracy",
    "roc_auc",
    "log_loss",
)


@dataclass(frozen=True)
class HoldoutSplit:
    """Row positions: fit on [0, train_end), score on [holdout_start, n_rows)."""

    train_end: int
    holdout_start: int
    n_rows: int


def split_holdout(
    n_rows: int, holdout_fraction: float, gap: int, n_splits: int = 1
) -> HoldoutSplit:
    """The most recent `holdout_fraction` of rows is the holdout; `gap` rows before it are purged
    so no training label (which looks `horizon` bars ahead) reads a holdout close. The training
    part must hold `n_splits` + 1 CV blocks of at least MIN_ROWS_PER_BLOCK rows each."""
    holdout_start = n_rows - int(round(n_rows * holdout_fraction))
    train_end = holdout_start - gap
    needed_train = MIN_ROWS_PER_BLOCK * (n_splits + 1) + gap * n_splits
    if train_end < needed_train or n_rows - holdout_start < MIN_ROWS_PER_BLOCK:
        raise TrainingDataError(
            f"{n_rows} labelled rows are too few for a {holdout_fraction:.0%} holdout with a "
            f"{gap}-bar purge and {n_splits} CV folds of >= {MIN_ROWS_PER_BLOCK} rows; "
            "fetch a longer period"
        )
    return HoldoutSplit(train_end=train_end, holdout_start=holdout_start, n_rows=n_rows)


def classification_metrics(
    y_true: np.ndarray, y_pred: np.ndarray, p_up: np.ndarray
) -> dict[str, float]:
    """Every metric the metadata and the gate use, on one set of rows.

    `f1_score`, `precision` and `recall` are support-weighted averages over both classes, as the
    original code's `f1_score(average="weighted")`: always-up scores about 0.35 on balanced
    classes, so the seed's F1 >= 0.6 means skill. The up-class figures are `*_up`.
    """
    y_true = np.asarray(y_true)
    both_classes = len(np.unique(y_true)) == 2
    p_clipped = np.clip(np.asarray(p_up, dtype="float64"), 1e-15, 1 - 1e-15)
    weighted = {"average": "weighted", "labels": [0, 1], "zero_division": 0}
    return {
        "f1_score": float(f1_score(y_true, y_pred, **weighted)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "precision": float(precision_score(y_true, y_pred, **weighted)),
        "recall": float(recall_score(y_true, y_pred, **weighted)),
        "f1_up": float(f1_score(y_true, y_pred, zero_division=0)),
        "precision_up": float(precision_score(y_true, y_pred, zero_division=0)),
        "recall_up": float(recall_score(y_true, y_pred, zero_division=0)),
        "mcc": float(matthews_corrcoef(y_true, y_pred)),
        "balanced_accuracy": float(balanced_accuracy_score(y_true, y_pred)),
        "roc_auc": float(roc_auc_score(y_true, p_up)) if both_classes else float("nan"),
        "log_loss": float(log_loss(y_true, p_clipped, labels=[0, 1])),
    }


def probability_metrics(y_true: np.ndarray, p_up: np.ndarray) -> dict[str, float]:
    """Metrics of a probabilistic classifier, predicting up when P(up) > 0.5.

    Strictly greater, as the models' own `predict` (argmax, class 0 on a tie) decides, so the
    recorded figures describe what the saved files predict.
    """
    p_up = np.asarray(p_up)
    return classification_metrics(y_true, (p_up > 0.5).astype("int64"), p_up)


@dataclass(frozen=True)
class CrossValidation:
    """Out-of-fold P(up) per model (NaN where a row was never in a test fold) and fold scores."""

    oof_p_up: dict[str, np.ndarray]
    fold_metrics: dict[str, list[dict[str, float]]]
    folds: list[tuple[int, int]]  # (test_start, test_end) row positions


def purged_time_series_cv(n_splits: int, gap: int) -> TimeSeriesSplit:
    return TimeSeriesSplit(n_splits=n_splits, gap=gap)


def out_of_fold_p_up(
    models: Mapping[str, ClassifierMixin],
    X: pd.DataFrame,
    y: pd.Series,
    cv: TimeSeriesSplit,
    progress: Callable[[str], None] = lambda message: None,
) -> tuple[dict[str, np.ndarray], list[tuple[int, int]]]:
    """P(up) of clones fitted on each expanding window, for the rows of its purged test block.

    Rows never in a test block (the first window) stay NaN. Returns the folds' row ranges too.
    """
    oof = {name: np.full(len(y), np.nan) for name in models}
    folds = []
    for number, (train_idx, test_idx) in enumerate(cv.split(X), start=1):
        progress(
            f"CV fold {number}/{cv.get_n_splits()}: fitting on {len(train_idx)} rows, "
            f"scoring {len(test_idx)}"
        )
        folds.append((int(test_idx[0]), int(test_idx[-1]) + 1))
        for name, model in models.items():
            fitted = clone(model).fit(X.iloc[train_idx], y.iloc[train_idx])
            oof[name][test_idx] = fitted.predict_proba(X.iloc[test_idx])[:, 1]
    return oof, folds


def cross_validate(
    models: Mapping[str, ClassifierMixin],
    X: pd.DataFrame,
    y: pd.Series,
    cv: TimeSeriesSplit,
    progress: Callable[[str], None] = lambda message: None,
) -> CrossValidation:
    """Out-of-fold predictions of every model and its metrics on each test fold."""
    oof, folds = out_of_fold_p_up(models, X, y, cv, progress)
    fold_metrics = {
        name: [probability_metrics(y.iloc[start:end], p_up[start:end]) for start, end in folds]
        for name, p_up in oof.items()
    }
    return CrossValidation(oof_p_up=oof, fold_metrics=fold_metrics, folds=folds)


def summarise_folds(fold_metrics: list[dict[str, float]]) -> dict[str, float]:
    """Mean and standard deviation of each metric over the CV folds."""
    summary = {}
    for metric in METRIC_NAMES:
        values = np.array([fold[metric] for fold in fold_metrics], dtype="float64")
        short = metric.removesuffix("_score")  # the seed's key is cv_f1_mean
        summary[f"cv_{short}_mean"] = float(np.nanmean(values))
        summary[f"cv_{short}_std"] = float(np.nanstd(values))
    return summary


def _one_rule(y_train: np.ndarray, train_says: np.ndarray, holdout_says: np.ndarray, y_hold):
    """Metrics of a rule that says up (1) or down (0) on each row.

    Its P(up) is its hit rate on the training window when it says up, one minus that when it
    says down (at least 0.501, so the probability always points where the rule does): its
    labels and probabilities agree, and its log loss and AUC are honest floors.
    """
    hit_rate = float(np.clip(np.mean(train_says == y_train), 0.501, 0.999))
    p_up = np.where(holdout_says == 1, hit_rate, 1.0 - hit_rate)
    return classification_metrics(y_hold, holdout_says, p_up)


@dataclass(frozen=True)
class Baselines:
    """The four trivial rules on the holdout: their metrics and their calls, row by row."""

    metrics: dict[str, dict[str, float]]
    holdout_calls: dict[str, np.ndarray]

    def best(self, skill_metric: str) -> str:
        return max(self.metrics, key=lambda name: self.metrics[name][skill_metric])


def baselines_on_holdout(
    y_train: pd.Series, y_holdout: pd.Series, past_move_up: pd.Series
) -> Baselines:
    """Four trivial rules, each scored on the same holdout as the models.

    `past_move_up` is 1.0 where the last `horizon` bars rose by more than the label threshold,
    0.0 where not, NaN where that move spans a candle gap (known at the bar's close), indexed
    like the features. Momentum repeats the past move, reversal bets against it; where the past
    move is unknown both say what the training window's majority class says.
    """
    y_train_values, y_hold_values = y_train.to_numpy(), y_holdout.to_numpy()
    majority = int(y_train_values.mean() >= 0.5)

    def constant(value: int, n_rows: int) -> np.ndarray:
        return np.full(n_rows, value, dtype="int64")

    def momentum(index: pd.Index) -> np.ndarray:
        past = past_move_up.reindex(index).to_numpy()
        return np.where(np.isnan(past), majority, past).astype("int64")

    def reversal(index: pd.Index) -> np.ndarray:
        past = past_move_up.reindex(index).to_numpy()
        return np.where(np.isnan(past), majority, 1.0 - past).astype("int64")

    rules = {
        "always_up": lambda index: constant(1, len(index)),
        "majority_class": lambda index: constant(majority, len(index)),
        "momentum": momentum,
        "reversal": reversal,
    }
    calls = {name: says(y_holdout.index) for name, says in rules.items()}
    metrics = {
        name: _one_rule(y_train_values, says(y_train.index), calls[name], y_hold_values)
        for name, says in rules.items()
    }
    return Baselines(metrics, calls)
