"""One training run: features -> labels -> purged CV -> holdout -> ensemble -> metadata.

A short function that calls the other rooms in order; every figure it records says on which rows
it was measured (holdout, CV folds), and the shipped models are the ones scored on the holdout
unless `refit_on_full` is set, which the metadata then says.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as package_version

import numpy as np
import pandas as pd

from src.config import MODEL_NAMES, Settings
from src.data.schema import candles_sha256
from src.data.sources import CandleSet
from src.ml.backtest import TradingCheck, trading_check
from src.ml.ensemble import ProductionEnsemble, optimise_weights
from src.ml.errors import TrainingDataError
from src.ml.evaluation import (
    CrossValidation,
    HoldoutSplit,
    baseline_metrics,
    cross_validate,
    probability_metrics,
    purged_time_series_cv,
    split_holdout,
    summarise_folds,
)
from src.ml.labels import build_dataset
from src.ml.models import FeatureCheckedModel, build_model

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainingRun:
    """Everything a run produced: fitted models, the ensemble, and what they were scored on."""

    models: dict[str, object]
    ensemble: ProductionEnsemble
    split: HoldoutSplit
    features: pd.DataFrame
    labels: pd.Series
    cv: CrossValidation
    holdout_p_up: pd.DataFrame  # one column per model and "ensemble", holdout rows only
    model_metrics: dict[str, dict[str, float]]
    ensemble_metrics: dict[str, float]
    baselines: dict[str, dict[str, float]]
    trading: TradingCheck
    fit_seconds: dict[str, float]
    cv_seconds: float
    refit_on_full: bool
    data_sha256: str  # of the candles it was trained on, as "sha256:<hex>"


def _fit_timed(model, X: pd.DataFrame, y: pd.Series) -> tuple[FeatureCheckedModel, float]:
    """The fitted model, wrapped so that its pickle refuses features of another version."""
    started = time.perf_counter()
    model.fit(X, y)
    return FeatureCheckedModel(model), time.perf_counter() - started


def _fresh_model(name: str, training):
    params = getattr(training.models, name)
    return build_model(name, params, training.seed, training.n_jobs)


def _holdout_p_up(models, ensemble, X_hold: pd.DataFrame) -> pd.DataFrame:
    p_up = {name: models[name].predict_proba(X_hold)[:, 1] for name in MODEL_NAMES}
    p_up["ensemble"] = ensemble.predict_proba(X_hold)[:, 1]
    return pd.DataFrame(p_up, index=X_hold.index)


def _ensemble(models, weights, model_version: str, X: pd.DataFrame, y: pd.Series):
    """Wrap already-fitted members with their out-of-fold weights (no refit)."""
    members = [(name, models[name]) for name in MODEL_NAMES]
    return ProductionEnsemble(
        members, weights=weights, prefit=True, model_version=model_version
    ).fit(X, y)


def _previous_move_up(candles: pd.DataFrame, horizon: int, threshold: float) -> pd.Series:
    # Known at each bar's close: did the last `horizon` bars rise by more than the threshold?
    past_return = candles["close"] / candles["close"].shift(horizon) - 1.0
    return (past_return > threshold).astype("int64")


def train_models(
    candle_set: CandleSet, settings: Settings, progress: Progress = print
) -> TrainingRun:
    """Train, cross-validate and score the three models and the ensemble on `candle_set`."""
    training = settings.training
    label = training.label
    X, y = build_dataset(candle_set.candles, label.horizon, label.threshold)
    split = split_holdout(
        len(y), training.holdout_fraction, training.cv.gap, training.cv.n_splits
    )
    X_train, y_train = X.iloc[: split.train_end], y.iloc[: split.train_end]
    if y_train.nunique() < 2:
        raise TrainingDataError(
            f"every training label is {int(y_train.iloc[0])}: nothing to learn; fetch a longer "
            "period or lower training.label.threshold"
        )
    X_hold, y_hold = X.iloc[split.holdout_start :], y.iloc[split.holdout_start :]
    progress(
        f"dataset: {len(y)} labelled rows; fitting on {len(y_train)}, "
        f"holdout {len(y_hold)} ({X_hold.index[0]} .. {X_hold.index[-1]})"
    )

    started = time.perf_counter()
    cv_result = cross_validate(
        {name: _fresh_model(name, training) for name in MODEL_NAMES},
        X_train,
        y_train,
        purged_time_series_cv(training.cv.n_splits, training.cv.gap),
    )
    cv_seconds = time.perf_counter() - started
    progress(f"cross-validation: {training.cv.n_splits} purged folds in {cv_seconds:.1f}s")

    models, fit_seconds = {}, {}
    for name in MODEL_NAMES:
        models[name], fit_seconds[name] = _fit_timed(_fresh_model(name, training), X_train, y_train)
        progress(f"fitted {name} on {len(y_train)} rows in {fit_seconds[name]:.1f}s")

    weights = optimise_weights(cv_result.oof_p_up, y_train.to_numpy())
    data_sha256 = candles_sha256(candle_set.candles)
    model_version = (
        f"bitbank-mlops {package_version('bitbank-mlops')}, "
        f"data {data_sha256[7:19]}, seed {training.seed}"
    )
    ensemble = _ensemble(models, weights, model_version, X_train, y_train)

    holdout_p_up = _holdout_p_up(models, ensemble, X_hold)
    model_metrics = {
        name: {
            **probability_metrics(y_hold, holdout_p_up[name]),
            **summarise_folds(cv_result.fold_metrics[name]),
        }
        for name in MODEL_NAMES
    }
    ensemble_metrics = probability_metrics(y_hold, holdout_p_up["ensemble"])
    baselines = baseline_metrics(
        y_train, y_hold, _previous_move_up(candle_set.candles, label.horizon, label.threshold)
    )
    trading = _holdout_trading_check(candle_set.candles, holdout_p_up["ensemble"], settings)

    if training.refit_on_full:
        progress("refit_on_full: refitting the shipped models on every labelled row")
        models = {name: _fit_timed(_fresh_model(name, training), X, y)[0] for name in MODEL_NAMES}
        ensemble = _ensemble(models, weights, f"{model_version}, refit on full", X, y)

    return TrainingRun(
        models=models,
        ensemble=ensemble,
        split=split,
        features=X,
        labels=y,
        cv=cv_result,
        holdout_p_up=holdout_p_up,
        model_metrics=model_metrics,
        ensemble_metrics={**ensemble_metrics, "weights": ensemble.named_weights},
        baselines=baselines,
        trading=trading,
        fit_seconds=fit_seconds,
        cv_seconds=cv_seconds,
        refit_on_full=training.refit_on_full,
        data_sha256=data_sha256,
    )


def _holdout_trading_check(
    candles: pd.DataFrame, p_up: pd.Series, settings: Settings
) -> TradingCheck:
    # The close one bar after each holdout row realises that row's decision.
    positions = candles.index.get_indexer(p_up.index)
    closes = candles["close"].iloc[np.r_[positions, positions[-1] + 1]]
    return trading_check(
        closes,
        p_up.to_numpy(),
        settings.trading.entry_probability,
        settings.trading.fee_rate,
    )
