"""One training run: features -> labels -> purged CV -> fits -> ensemble -> policy -> holdout.

A short function that calls the other rooms in order; every figure it records says on which rows
it was measured (holdout, CV folds, out-of-fold rows, or in-sample where the name says so), and
the shipped models are the ones scored on the holdout unless `refit_on_full` is set, which the
metadata then says. Nothing fitted, weighted or chosen here ever sees a holdout row.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import version as package_version

import numpy as np
import pandas as pd

from src.config import MODEL_NAMES, ROUND_TRIP, Settings, TrainingConfig
from src.data.schema import candles_sha256
from src.data.sources import CandleSet
from src.ml.costs import Costs, estimate_costs
from src.ml.ensemble import ProductionEnsemble, blend, optimise_weights
from src.ml.errors import TrainingDataError
from src.ml.evaluation import (
    CrossValidation,
    HoldoutSplit,
    baselines_on_holdout,
    cross_validate,
    probability_metrics,
    purged_time_series_cv,
    split_holdout,
    summarise_folds,
)
from src.ml.gate import Money, Skill
from src.ml.labels import build_dataset, make_labels, past_move_up
from src.ml.models import FeatureCheckedModel, build_model
from src.ml.onnx_export import OnnxExport, export_onnx
from src.ml.policy import PolicyChoice
from src.ml.trading import HoldoutTrading, SkillRows, choose_on_out_of_fold, holdout_trading

Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainingRun:
    """Everything a run produced: fitted models, the ensemble, the policy, and their scores."""

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
    in_sample_train_metrics: dict[str, dict[str, float]]  # on the fitted rows: overfitting only
    costs: Costs  # what one side of a trade costs on this window's market
    policy: PolicyChoice
    trading: HoldoutTrading
    fit_seconds: dict[str, float]
    cv_seconds: float
    refit_on_full: bool
    data_sha256: str  # of the candles it was trained on, as "sha256:<hex>"
    onnx: OnnxExport  # ONNX copies of the shipped models, checked on the holdout (or refused)
    label_threshold: float  # the labels' threshold (training.label.threshold, resolved)

    @property
    def skill(self) -> Skill:
        """What the gate's skill checks judge: the ensemble against the trivial rules."""
        gain = self.trading.record.bootstrap.gain_over_best_baseline
        return Skill(self.ensemble_metrics, self.baselines, gain)

    @property
    def money(self) -> Money:
        """What the gate's money check judges: the saved policy on the holdout."""
        record = self.trading.record
        return Money(
            self.policy.policy.flat,
            record.policy,
            record.buy_and_hold,
            record.bootstrap.excess_over_buy_and_hold,
            self.costs.record,
        )


def _fresh_model(name: str, training: TrainingConfig):
    return build_model(name, getattr(training.models, name), training.seed, training.n_jobs)


def _fit(name: str, training: TrainingConfig, X, y, progress: Progress):
    """The fitted model, wrapped so that its pickle refuses features of another version."""
    progress(f"fitting {name} on {len(y)} rows")
    started = time.perf_counter()
    model = _fresh_model(name, training).fit(X, y)
    return FeatureCheckedModel(model), time.perf_counter() - started


def _members_p_up(models, X: pd.DataFrame) -> dict[str, np.ndarray]:
    return {name: models[name].predict_proba(X)[:, 1] for name in MODEL_NAMES}


def _p_up(models, ensemble, X: pd.DataFrame) -> pd.DataFrame:
    """Every member's P(up) and the shipped ensemble's own (so its recorded figures are exactly
    what the saved file predicts)."""
    p_up = {**_members_p_up(models, X), "ensemble": ensemble.predict_proba(X)[:, 1]}
    return pd.DataFrame(p_up, index=X.index)


def _ensemble(models, weights, model_version: str, X: pd.DataFrame, y: pd.Series):
    """Join the fitted members with their out-of-fold weights: they are FeatureCheckedModels,
    frozen, so the ensemble's fit checks X and y against them and refits nothing."""
    members = [(name, models[name]) for name in MODEL_NAMES]
    return ProductionEnsemble(members, weights=weights, model_version=model_version).fit(X, y)


def _oof_ensemble_p_up(cv_result: CrossValidation, weights, index: pd.Index) -> pd.Series:
    p_up = pd.Series(blend(cv_result.oof_p_up, weights), index=index)
    return p_up.dropna()  # the first CV training block has no out-of-fold prediction


@dataclass(frozen=True)
class Dataset:
    """Features, labels, where the holdout starts, what a trade costs on the training window,
    and the label threshold the labels were made with."""

    X: pd.DataFrame
    y: pd.Series
    split: HoldoutSplit
    costs: Costs
    label_threshold: float

    @property
    def training_rows(self) -> tuple[pd.DataFrame, pd.Series]:
        return self.X.iloc[: self.split.train_end], self.y.iloc[: self.split.train_end]


def _dataset(candles: pd.DataFrame, settings: Settings) -> Dataset:
    training, label = settings.training, settings.training.label
    round_trip = label.threshold == ROUND_TRIP
    # Which rows have a label depends on the horizon and the gaps, never on the threshold, so
    # the split (and the window the costs are read from) is known before the threshold is.
    X, y = build_dataset(candles, label.horizon, 0.0 if round_trip else label.threshold)
    split = split_holdout(len(y), training.holdout_fraction, training.cv.gap, training.cv.n_splits)
    # The spread is read off the training window's candles only: the holdout must not shape
    # the cost the policy is chosen with (nor the labels), any more than the thresholds.
    costs = estimate_costs(candles.loc[: X.index[split.train_end - 1]], settings.trading)
    threshold = 2.0 * costs.per_side if round_trip else label.threshold
    if round_trip:
        y = make_labels(candles["close"], label.horizon, threshold).reindex(X.index)
        y = y.astype("int64")
    if y.iloc[: split.train_end].nunique() < 2:
        raise TrainingDataError(
            f"every training label is {int(y.iloc[0])}: nothing to learn; fetch a longer "
            "period or lower training.label.threshold"
        )
    return Dataset(X, y, split, costs, threshold)


def training_window(candles: pd.DataFrame, settings: Settings):
    """The rows any fit, CV fold, tuning trial or weight may use: those before the holdout's
    purge. What `train_models` fits on, for callers that search before it (tuning)."""
    return _dataset(candles, settings).training_rows


def train_models(
    candle_set: CandleSet, settings: Settings, progress: Progress = print
) -> TrainingRun:
    """Train, cross-validate and score the three models, the ensemble and the policy."""
    training, candles = settings.training, candle_set.candles
    progress(f"features and labels from {len(candles)} candles")
    dataset = _dataset(candles, settings)
    X, y, split, costs = dataset.X, dataset.y, dataset.split, dataset.costs
    X_train, y_train = dataset.training_rows
    X_hold, y_hold = X.iloc[split.holdout_start :], y.iloc[split.holdout_start :]
    progress(
        f"dataset: {len(y)} labelled rows; fitting on {len(y_train)}, holdout {len(y_hold)} "
        f"({X_hold.index[0]:%Y-%m-%d %H:%M} .. {X_hold.index[-1]:%Y-%m-%d %H:%M} UTC)"
    )

    started = time.perf_counter()
    cv_result = cross_validate(
        {name: _fresh_model(name, training) for name in MODEL_NAMES},
        X_train,
        y_train,
        purged_time_series_cv(training.cv.n_splits, training.cv.gap),
        progress,
    )
    cv_seconds = time.perf_counter() - started

    fitted = {name: _fit(name, training, X_train, y_train, progress) for name in MODEL_NAMES}
    models = {name: model for name, (model, _) in fitted.items()}
    weight_choice = optimise_weights(cv_result.oof_p_up, y_train.to_numpy())
    weights = weight_choice.weights
    data_sha256 = candles_sha256(candles)
    model_version = (
        f"bitbank-mlops {package_version('bitbank-mlops')}, "
        f"data {data_sha256[7:19]}, seed {training.seed}"
    )
    ensemble = _ensemble(models, weights, model_version, X_train, y_train)

    progress(
        f"costs: {costs.per_side:.3%} per side (spread {costs.record.spread:.3%}, "
        f"{costs.record.spread_source})"
    )
    progress("choosing the trading policy on the out-of-fold predictions")
    oof_p_up = _oof_ensemble_p_up(cv_result, weights, X_train.index)
    policy = choose_on_out_of_fold(candles, oof_p_up, settings.trading, costs)

    progress("scoring the holdout")
    holdout_p_up = _p_up(models, ensemble, X_hold)
    train_p_up = _members_p_up(models, X_train)  # in-sample, for the overfitting view only
    train_p_up["ensemble"] = blend(train_p_up, ensemble.weights_)
    baselines = baselines_on_holdout(
        y_train,
        y_hold,
        past_move_up(candles["close"], training.label.horizon, dataset.label_threshold),
    )
    skill = settings.quality_gate.skill_metric
    best_rule = baselines.best(skill)
    trading = holdout_trading(
        candles,
        policy.policy,
        holdout_p_up["ensemble"],
        y_hold,
        costs.per_side,
        settings.trading,
        training.seed,
        SkillRows(skill, best_rule, baselines.holdout_calls[best_rule]),
    )

    if training.refit_on_full:
        progress("refit_on_full: refitting the shipped models on every labelled row")
        models = {name: _fit(name, training, X, y, progress)[0] for name in MODEL_NAMES}
        ensemble = _ensemble(models, weights, f"{model_version}, refit on full", X, y)

    progress("exporting ONNX copies and comparing them with the models on the holdout")
    onnx = export_onnx(models, ensemble, X_hold)
    progress(
        f"ONNX: {onnx.record['reason']}"
        if onnx.exported
        else f"ONNX export refused, the set is pickle-only: {onnx.record['reason']}"
    )

    return TrainingRun(
        models=models,
        ensemble=ensemble,
        split=split,
        features=X,
        labels=y,
        cv=cv_result,
        holdout_p_up=holdout_p_up,
        model_metrics={
            name: {
                **probability_metrics(y_hold, holdout_p_up[name]),
                **summarise_folds(cv_result.fold_metrics[name]),
            }
            for name in MODEL_NAMES
        },
        ensemble_metrics={
            **probability_metrics(y_hold, holdout_p_up["ensemble"]),
            "weights": ensemble.named_weights,
            "weight_choice": weight_choice.to_record(),
        },
        baselines=baselines.metrics,
        in_sample_train_metrics={
            name: probability_metrics(y_train, p_up) for name, p_up in train_p_up.items()
        },
        costs=costs,
        policy=policy,
        trading=trading,
        fit_seconds={name: seconds for name, (_, seconds) in fitted.items()},
        cv_seconds=cv_seconds,
        refit_on_full=training.refit_on_full,
        data_sha256=data_sha256,
        onnx=onnx,
        label_threshold=dataset.label_threshold,
    )
