"""Honesty: no skill on a random walk, skill on a planted signal, none once labels are shuffled.

A pipeline that leaks the future scores above chance on candles whose next move is unpredictable;
one that cannot learn scores at chance on candles whose next move is planted in a feature.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from src.config import MODEL_NAMES
from src.data.synthetic import generate_sample_market_data
from src.ml.ensemble import ProductionEnsemble, optimise_weights
from src.ml.evaluation import (
    cross_validate,
    probability_metrics,
    purged_time_series_cv,
    split_holdout,
)
from src.ml.labels import build_dataset
from src.ml.models import FeatureCheckedModel, build_model
from src.ml.training import train_models

SCORED = [*MODEL_NAMES, "ensemble"]


def _holdout_metrics(run) -> dict[str, dict[str, float]]:
    return {**run.model_metrics, "ensemble": run.ensemble_metrics}


# One training run per test (not a shared fixture): xdist would otherwise repeat it per worker.
@pytest.mark.slow
def test_random_walk_gives_no_skill(small_settings, generated_set):
    # Seed 0 of 8 tried; with ~790 holdout rows the MCC of a no-skill model has a standard error
    # of about 0.036, so an unlucky seed can leave ±0.05 - more bars, not looser bounds, if so.
    candles = generate_sample_market_data(4_000, seed=0)

    run = train_models(generated_set(candles), small_settings, progress=lambda message: None)

    holdout = _holdout_metrics(run)
    out_of_bounds = {
        name: (holdout[name]["mcc"], holdout[name]["roc_auc"])
        for name in SCORED
        if not (-0.05 <= holdout[name]["mcc"] <= 0.05 and 0.45 <= holdout[name]["roc_auc"] <= 0.55)
    }
    assert out_of_bounds == {}
    for name in MODEL_NAMES:  # nor in the purged CV folds
        assert 0.45 <= run.model_metrics[name]["cv_roc_auc_mean"] <= 0.55, name


@pytest.fixture(scope="module")
def planted_4000(planted_candles):
    return planted_candles(4_000, seed=5)


@pytest.fixture(scope="module")
def planted_run(planted_4000, small_settings, generated_set):
    return train_models(generated_set(planted_4000), small_settings, progress=lambda message: None)


@pytest.mark.slow
def test_planted_signal_is_found_on_the_holdout(planted_run):
    run = planted_run

    ensemble = run.ensemble_metrics
    assert ensemble["roc_auc"] > 0.75
    assert ensemble["f1_score"] > 0.75
    assert ensemble["mcc"] > 0.5
    for name in MODEL_NAMES:
        assert run.model_metrics[name]["roc_auc"] > 0.75, name
    # The signal is in volume, not in the last move: momentum and reversal have no skill.
    assert abs(run.baselines["momentum"]["mcc"]) < 0.1
    assert abs(run.baselines["reversal"]["mcc"]) < 0.1
    # The recorded figures are the shipped ensemble's, on the holdout rows (the weights and their
    # choice come from the out-of-fold rows).
    hold = run.features.iloc[run.split.holdout_start :]
    p_up = run.ensemble.predict_proba(hold)[:, 1]
    y_hold = run.labels.iloc[run.split.holdout_start :]
    assert probability_metrics(y_hold, p_up) == {
        key: value for key, value in ensemble.items() if key not in ("weights", "weight_choice")
    }


def _fit_and_score_on_holdout(X: pd.DataFrame, y: pd.Series, small_models, settings):
    """The training run's pieces, in its order: purged CV, fit before the holdout, OOF weights."""
    cv_config = settings.training.cv
    split = split_holdout(len(y), settings.training.holdout_fraction, cv_config.gap)
    X_train, y_train = X.iloc[: split.train_end], y.iloc[: split.train_end]
    X_hold, y_hold = X.iloc[split.holdout_start :], y.iloc[split.holdout_start :]
    cv = purged_time_series_cv(cv_config.n_splits, cv_config.gap)
    oof = cross_validate(small_models(), X_train, y_train, cv).oof_p_up
    models = {
        name: FeatureCheckedModel(model.fit(X_train, y_train))
        for name, model in small_models().items()
    }
    ensemble = ProductionEnsemble(
        list(models.items()), weights=optimise_weights(oof, y_train.to_numpy()).weights
    ).fit(X_train, y_train)
    scored = {name: model.predict_proba(X_hold)[:, 1] for name, model in models.items()}
    scored["ensemble"] = ensemble.predict_proba(X_hold)[:, 1]
    return {name: probability_metrics(y_hold, p_up) for name, p_up in scored.items()}


@pytest.mark.slow
@pytest.mark.parametrize("shuffled", [False, True])
def test_shuffled_labels_fall_to_chance(planted_4000, small_models, small_settings, shuffled):
    X, y = build_dataset(planted_4000, horizon=1, threshold=0.0)
    if shuffled:
        permuted = np.random.default_rng(3).permutation(y.to_numpy())
        y = pd.Series(permuted, index=y.index, name=y.name)

    scores = _fit_and_score_on_holdout(X, y, small_models, small_settings)

    for name in SCORED:
        auc, mcc = scores[name]["roc_auc"], scores[name]["mcc"]
        if shuffled:
            assert 0.45 <= auc <= 0.55, (name, auc)
            assert -0.05 <= mcc <= 0.05, (name, mcc)
        else:  # the same pieces on the true labels find the signal
            assert auc > 0.75, (name, auc)


@pytest.mark.slow
def test_the_shipped_models_are_the_fits_on_the_rows_before_the_purge(planted_run, small_settings):
    # Refitting each model, seeded the same, on exactly the rows before holdout start minus the
    # purge must give the shipped model: a fit that also saw the purge rows (or any holdout row)
    # predicts differently.
    run, training = planted_run, small_settings.training
    train_end = run.split.holdout_start - training.cv.gap
    assert run.split.train_end == train_end
    X_fit, y_fit = run.features.iloc[:train_end], run.labels.iloc[:train_end]
    hold = run.features.iloc[run.split.holdout_start :]

    for name in MODEL_NAMES:
        params = getattr(training.models, name)
        refitted = build_model(name, params, training.seed, training.n_jobs).fit(X_fit, y_fit)
        np.testing.assert_array_equal(
            run.models[name].predict_proba(hold), refitted.predict_proba(hold), err_msg=name
        )


@pytest.mark.slow
def test_baselines_are_scored_on_exactly_the_holdout_rows(planted_run):
    y_hold = planted_run.labels.iloc[planted_run.split.holdout_start :]

    # Always-up is right exactly on the holdout's up rows; one row more or less moves the figure.
    always_up = planted_run.baselines["always_up"]
    assert always_up["accuracy"] == pytest.approx(y_hold.mean(), abs=1e-15)
    assert always_up["recall_up"] == 1.0
