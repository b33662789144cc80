"""Purged time-ordered evaluation: holdout split, metrics, baselines and cross-validation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
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

from src.ml.errors import TrainingDataError
from src.ml.evaluation import (
    METRIC_NAMES,
    baselines_on_holdout,
    classification_metrics,
    cross_validate,
    probability_metrics,
    purged_time_series_cv,
    split_holdout,
    summarise_folds,
)


@pytest.mark.parametrize(
    ("n_rows", "fraction", "gap", "train_end", "holdout_start"),
    [
        (1000, 0.2, 1, 799, 800),
        (1000, 0.2, 3, 797, 800),
        (1000, 0.25, 0, 750, 750),
        (700, 0.3, 1, 489, 490),
    ],
)
def test_split_holdout_purges_gap_rows_before_the_holdout(
    n_rows, fraction, gap, train_end, holdout_start
):
    split = split_holdout(n_rows, fraction, gap)

    assert (split.train_end, split.holdout_start, split.n_rows) == (
        train_end,
        holdout_start,
        n_rows,
    )
    assert split.holdout_start - split.train_end == gap


@pytest.mark.parametrize(
    ("n_rows", "fraction", "gap", "n_splits"),
    [
        (3, 0.2, 3, 1),  # no training row left
        (2, 0.2, 1, 1),  # an empty holdout
        (200, 0.2, 1, 1),  # a 40-row holdout
        (340, 0.2, 1, 5),  # 271 training rows cannot hold 6 CV blocks of 50 plus gaps
    ],
)
def test_split_holdout_with_too_few_rows_names_the_fix(n_rows, fraction, gap, n_splits):
    with pytest.raises(
        TrainingDataError, match=rf"{n_rows} labelled rows are too few.*fetch a longer"
    ):
        split_holdout(n_rows, fraction, gap, n_splits)


Y_TRUE = np.array([0, 1, 1, 0, 1, 1, 0, 0, 1, 1])
P_UP = np.array([0.2, 0.9, 0.4, 0.6, 0.7, 0.55, 0.1, 0.3, 0.8, 0.45])


def test_classification_metrics_agree_with_sklearn():
    y_pred = (P_UP > 0.5).astype(int)

    metrics = classification_metrics(Y_TRUE, y_pred, P_UP)

    assert set(metrics) == set(METRIC_NAMES)
    expected = {
        "f1_score": f1_score(Y_TRUE, y_pred, average="weighted"),
        "accuracy": accuracy_score(Y_TRUE, y_pred),
        "precision": precision_score(Y_TRUE, y_pred, average="weighted"),
        "recall": recall_score(Y_TRUE, y_pred, average="weighted"),
        "f1_up": f1_score(Y_TRUE, y_pred),
        "precision_up": precision_score(Y_TRUE, y_pred),
        "recall_up": recall_score(Y_TRUE, y_pred),
        "mcc": matthews_corrcoef(Y_TRUE, y_pred),
        "balanced_accuracy": balanced_accuracy_score(Y_TRUE, y_pred),
        "roc_auc": roc_auc_score(Y_TRUE, P_UP),
        "log_loss": log_loss(Y_TRUE, P_UP),
    }
    assert metrics == pytest.approx(expected, abs=1e-12)
    # By hand: 4 of 6 ups caught, 1 false alarm -> precision 0.8, recall 2/3, F1 8/11; downs:
    # 3 of 4 right, 2 missed ups among 5 "down" calls -> precision 0.6, recall 0.75, F1 2/3.
    assert metrics["f1_up"] == pytest.approx(8 / 11)
    assert metrics["f1_score"] == pytest.approx(0.6 * 8 / 11 + 0.4 * 2 / 3)


def test_probability_metrics_predict_like_predict_does_at_a_tie():
    # scikit-learn's predict is the argmax of predict_proba, which picks class 0 at exactly 0.5;
    # the recorded metrics must describe those predictions.
    p_up = np.array([0.5, 0.5, 0.9, 0.1])
    y_true = np.array([0, 1, 1, 0])
    argmax_prediction = np.argmax(np.column_stack([1 - p_up, p_up]), axis=1)

    metrics = probability_metrics(y_true, p_up)

    assert metrics == classification_metrics(y_true, argmax_prediction, p_up)


@pytest.mark.filterwarnings("ignore:A single label was found")
def test_one_class_holdout_has_undefined_auc_not_a_crash():
    metrics = classification_metrics(np.ones(5, int), np.ones(5, int), np.full(5, 0.7))

    assert np.isnan(metrics["roc_auc"])
    assert metrics["f1_score"] == 1.0


def _labels(values, start: int = 0) -> pd.Series:
    index = pd.date_range("2025-01-01", periods=len(values), freq="15min", tz="UTC")
    return pd.Series(values, index=index[start:] if start else index, dtype="int64")


@pytest.mark.parametrize("up_rate", [0.5, 0.6, 0.3])
def test_always_up_scores_a_weighted_f1_of_p_times_2p_over_1_plus_p_and_no_skill(up_rate):
    rng = np.random.default_rng(0)
    y = _labels(rng.random(1_000) < up_rate)
    y_train, y_holdout = y.iloc[:600], y.iloc[600:]
    p = y_holdout.mean()

    always_up = baselines_on_holdout(y_train, y_holdout, _past(y)).metrics["always_up"]

    # The up class's F1 is 2p/(1+p) (0.67 on balanced classes) and weighs p; the down class
    # scores 0: the seed's F1 >= 0.6 on the weighted figure needs real skill.
    assert always_up["f1_up"] == pytest.approx(2 * p / (1 + p))
    assert always_up["f1_score"] == pytest.approx(p * 2 * p / (1 + p))
    assert always_up["recall_up"] == 1.0
    assert always_up["mcc"] == 0.0
    assert always_up["roc_auc"] == 0.5


def test_majority_class_follows_the_training_window():
    y = _labels([1, 0, 0, 0, 0, 1, 1, 1, 1, 0])  # training rows mostly down, holdout mostly up

    baselines = baselines_on_holdout(y.iloc[:5], y.iloc[5:], _past(y)).metrics

    assert baselines["majority_class"]["recall_up"] == 0.0  # it always says "down"
    assert baselines["majority_class"]["accuracy"] == pytest.approx(0.2)
    # It was right on 80% of the training rows: P(up) 0.2 when it says down, as it always does.
    assert baselines["majority_class"]["log_loss"] == pytest.approx(
        log_loss(y.iloc[5:], np.full(5, 0.2))
    )


def _past(y: pd.Series) -> pd.Series:
    """A past-move series for tests where it does not matter: the previous label."""
    return y.shift(1).astype("float64")


@pytest.mark.parametrize(("persistent", "momentum_mcc"), [(True, 1.0), (False, -1.0)])
def test_momentum_and_reversal_are_one_rule_each(persistent, momentum_mcc):
    rng = np.random.default_rng(1)
    past = _labels(rng.integers(0, 2, 400)).astype("float64")
    # The next move repeats (or reverses) the past one exactly.
    y = past.astype("int64") if persistent else 1 - past.astype("int64")

    baselines = baselines_on_holdout(y.iloc[:300], y.iloc[300:], past).metrics

    assert baselines["momentum"]["mcc"] == pytest.approx(momentum_mcc)
    assert baselines["reversal"]["mcc"] == pytest.approx(-momentum_mcc)


@pytest.mark.parametrize("name", ["always_up", "majority_class", "momentum", "reversal"])
@pytest.mark.parametrize("seed", [2, 3])
def test_every_baselines_probabilities_agree_with_its_labels(name, seed):
    # Hard calls and probabilities from one rule: P(up) > 0.5 exactly where it says up, so its
    # F1 and its AUC describe the same predictor.
    rng = np.random.default_rng(seed)
    past = _labels(rng.integers(0, 2, 400)).astype("float64")
    y = _labels(np.where(rng.random(400) < 0.3, past, 1 - past))  # mostly reversal

    metrics = baselines_on_holdout(y.iloc[:300], y.iloc[300:], past).metrics[name]
    majority = float(y.iloc[:300].mean() >= 0.5)
    says_up = {
        "always_up": np.ones(100),
        "majority_class": np.full(100, majority),
        "momentum": past.iloc[300:],
        "reversal": 1 - past.iloc[300:],
    }[name]

    assert metrics["recall_up"] == pytest.approx(recall_score(y[300:], says_up, zero_division=0))
    if len(np.unique(says_up)) == 2:
        assert metrics["roc_auc"] == pytest.approx(roc_auc_score(y[300:], says_up))


def test_a_past_move_that_spans_a_gap_is_unknown_and_the_rules_fall_back_to_the_majority():
    y = _labels([1, 1, 1, 0, 1, 0, 1, 1])
    past = pd.Series([np.nan, 1, 1, 1, 0, np.nan, 0, 1], index=y.index)  # NaN: across a gap

    baselines = baselines_on_holdout(y.iloc[:4], y.iloc[4:], past).metrics

    # holdout rows: past 0, NaN, 0, 1 -> momentum says 0, 1 (majority up), 0, 1
    assert baselines["momentum"]["accuracy"] == pytest.approx(1 / 4)
    assert baselines["reversal"]["accuracy"] == pytest.approx(2 / 4)


def test_past_moves_are_aligned_by_timestamp_not_position():
    y = _labels([1, 0, 1, 1, 0, 0, 1, 0])
    # The past-move series covers more rows than the labels (as in training: it is computed on
    # all candles); each holdout row must take the value at its own timestamp.
    longer_index = pd.date_range(y.index[0] - pd.Timedelta("30min"), y.index[-1], freq="15min")
    past = pd.Series(0.0, index=longer_index)
    past.loc[y.index] = y.to_numpy()

    baselines = baselines_on_holdout(y.iloc[:4], y.iloc[4:], past).metrics

    assert baselines["momentum"]["accuracy"] == 1.0


@pytest.mark.parametrize(("n_splits", "gap"), [(3, 1), (4, 3), (5, 10)])
def test_cv_test_blocks_come_after_their_training_window_with_a_purge(n_splits, gap):
    X = pd.DataFrame({"x": np.arange(300.0)})

    for train_idx, test_idx in purged_time_series_cv(n_splits, gap).split(X):
        assert train_idx[0] == 0  # an expanding window from the start
        np.testing.assert_array_equal(np.diff(test_idx), 1)
        assert test_idx[0] - train_idx[-1] - 1 >= gap


def test_cross_validate_oof_is_nan_before_the_first_test_block(planted_dataset, small_models):
    X, y = planted_dataset
    X, y = X.iloc[:600], y.iloc[:600]
    models = small_models()
    cv = purged_time_series_cv(n_splits=3, gap=2)

    result = cross_validate(models, X, y, cv)

    first_test = result.folds[0][0]
    expected_folds = [(int(test[0]), int(test[-1]) + 1) for _, test in cv.split(X)]
    assert result.folds == expected_folds
    assert result.folds[-1][1] == len(y)
    for name, p_up in result.oof_p_up.items():
        assert np.isnan(p_up[:first_test]).all(), name
        assert not np.isnan(p_up[first_test:]).any(), name
        assert len(result.fold_metrics[name]) == 3


def test_cross_validate_oof_comes_from_a_model_fitted_on_its_window_only(
    planted_dataset, small_models
):
    X, y = planted_dataset
    X, y = X.iloc[:600], y.iloc[:600]
    model = small_models()["random_forest"]
    cv = purged_time_series_cv(n_splits=3, gap=2)

    result = cross_validate({"random_forest": model}, X, y, cv)

    train_idx, test_idx = list(cv.split(X))[-1]
    refitted = clone(model).fit(X.iloc[train_idx], y.iloc[train_idx])
    np.testing.assert_array_equal(
        result.oof_p_up["random_forest"][test_idx], refitted.predict_proba(X.iloc[test_idx])[:, 1]
    )
    start, end = result.folds[-1]
    assert result.fold_metrics["random_forest"][-1] == probability_metrics(
        y.iloc[start:end], result.oof_p_up["random_forest"][start:end]
    )


def test_summarise_folds_uses_the_seed_key_names():
    folds = [
        dict.fromkeys(METRIC_NAMES, 0.5) | {"f1_score": 0.6},
        dict.fromkeys(METRIC_NAMES, 0.5) | {"f1_score": 0.8, "roc_auc": float("nan")},
    ]

    summary = summarise_folds(folds)

    assert summary["cv_f1_mean"] == pytest.approx(0.7)
    assert summary["cv_f1_std"] == pytest.approx(0.1)
    assert summary["cv_roc_auc_mean"] == pytest.approx(0.5)  # an undefined fold is skipped
    assert summary["cv_mcc_mean"] == pytest.approx(0.5)
