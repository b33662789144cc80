"""The three classifiers, built by name from config hyperparameters, seeded and thread-capped."""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
from lightgbm import LGBMClassifier
from lightgbm.basic import LightGBMError
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from sklearn.utils import get_tags
from xgboost import XGBClassifier
from xgboost.core import XGBoostError

from src.config import BASE_CONFIG_PATH, MODEL_NAMES, ConfigError, TrainingConfig
from src.features.contract import FEATURE_MANAGER_VERSION, FEATURE_NAMES, check_feature_version

# What the libraries raise for a hyperparameter value they refuse, at the latest when fitting.
_LIBRARY_ERRORS = (ValueError, TypeError, LightGBMError, XGBoostError)
_DRY_FIT_ROWS = 60

# Names (with the libraries' aliases) under which training.models.<name> would silently override
# what the trainer sets from training.*, while the metadata records the training.* value.
_TRAINER_SETTINGS = {
    **dict.fromkeys(("random_state", "seed", "random_seed"), "training.seed"),
    **dict.fromkeys(
        ("n_jobs", "nthread", "nthreads", "num_threads", "num_thread"), "training.n_jobs"
    ),
}
# Settings a builder below fixes for repeatable, quiet runs.
_FIXED_BY_BUILDER = {
    "lightgbm": ("deterministic", "verbose", "verbosity"),
    "xgboost": ("eval_metric",),
    "random_forest": (),
}


def _lightgbm(params: Mapping, seed: int, n_jobs: int) -> ClassifierMixin:
    # deterministic=True with a fixed seed and thread count makes runs bit-for-bit repeatable.
    return LGBMClassifier(
        **params, random_state=seed, n_jobs=n_jobs, deterministic=True, verbose=-1
    )


def _xgboost(params: Mapping, seed: int, n_jobs: int) -> ClassifierMixin:
    return XGBClassifier(**params, random_state=seed, n_jobs=n_jobs, eval_metric="logloss")


def _random_forest(params: Mapping, seed: int, n_jobs: int) -> ClassifierMixin:
    return RandomForestClassifier(**params, random_state=seed, n_jobs=n_jobs)


MODEL_BUILDERS: dict[str, Callable[[Mapping, int, int], ClassifierMixin]] = {
    "lightgbm": _lightgbm,
    "xgboost": _xgboost,
    "random_forest": _random_forest,
}


def build_model(name: str, params: Mapping, seed: int, n_jobs: int = 1) -> ClassifierMixin:
    """An unfitted classifier `name` with `params`; unknown names list the valid ones."""
    try:
        builder = MODEL_BUILDERS[name]
    except KeyError:
        raise ValueError(f"unknown model {name!r}; valid models: {list(MODEL_BUILDERS)}") from None
    _refuse_trainer_settings(name, params)
    model = builder({}, seed, n_jobs)
    # The libraries ignore (LightGBM), warn about (XGBoost) or fail late on misspelt names.
    unknown = sorted(set(params) - set(model.get_params()))
    if unknown:
        raise ConfigError(
            f"training.models.{name} has unknown hyperparameter(s) {unknown}; "
            f"see {type(model).__name__}'s documentation for valid names"
        )
    return model.set_params(**params)


def _refuse_trainer_settings(name: str, params: Mapping) -> None:
    for key in params:
        if key in _TRAINER_SETTINGS:
            raise ConfigError(
                f"training.models.{name}.{key}: the trainer sets this for every model from "
                f"{_TRAINER_SETTINGS[key]}, which the metadata records; remove it here and "
                f"set {_TRAINER_SETTINGS[key]} instead"
            )
        if key in _FIXED_BY_BUILDER[name]:
            raise ConfigError(
                f"training.models.{name}.{key}: fixed by src/ml/models.py so runs repeat "
                "exactly; remove it"
            )


def validate_model_params(training: TrainingConfig, section: str = "training.models") -> None:
    """Raise `ConfigError` naming `<section>.<name>.<field>` for a value a library refuses
    (`section`: where the values came from, e.g. the ends of tuning.search_space's ranges).

    The libraries judge their own values (ranges, types, choices), mostly only when fitting: each
    model is fitted on a few dozen generated rows, before any candles are fetched, and a refused
    fit is retried with one hyperparameter at a time to find the field to name.
    """
    for name in MODEL_NAMES:
        params = getattr(training.models, name)
        _check_n_estimators(f"{section}.{name}", params)
        error = _dry_fit_error(name, params, training)
        if error is not None:
            raise _blame(name, params, training, error, section) from error


def _check_n_estimators(where: str, params: Mapping) -> None:
    # The one rule not left to the libraries: XGBoost trains no trees at all for n_estimators
    # <= 0 instead of refusing it.
    value = params.get("n_estimators", 1)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigError(
            f"{where}.n_estimators: {value!r} is not a number of trees; "
            f"use an integer >= 1 in {BASE_CONFIG_PATH}"
        )


def _dry_fit_error(name: str, params: Mapping, training: TrainingConfig) -> Exception | None:
    model = build_model(name, params, training.seed, training.n_jobs)
    rng = np.random.default_rng(0)
    features = pd.DataFrame(rng.normal(size=(_DRY_FIT_ROWS, len(FEATURE_NAMES))))
    features.columns = list(FEATURE_NAMES)
    labels = np.arange(_DRY_FIT_ROWS) % 2
    try:
        with warnings.catch_warnings():  # warnings about the toy rows say nothing of the config
            warnings.simplefilter("ignore")
            model.fit(features, labels)
    except _LIBRARY_ERRORS as exc:
        return exc
    return None


def _blame(
    name: str, params: Mapping, training: TrainingConfig, error: Exception, section: str
) -> ConfigError:
    library = type(MODEL_BUILDERS[name]({}, training.seed, training.n_jobs)).__name__
    for key, value in params.items():
        alone = _dry_fit_error(name, {key: value}, training)
        if alone is not None:
            return ConfigError(
                f"{section}.{name}.{key}: {value!r} is refused by {library}: "
                f"{_library_message(alone)}; fix it in {BASE_CONFIG_PATH}"
            )
    return ConfigError(
        f"{section}.{name}: {library} refuses these hyperparameters together: "
        f"{_library_message(error)}; fix them in {BASE_CONFIG_PATH}"
    )


def _library_message(error: Exception) -> str:
    first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    # LightGBM appends the C++ source location of its check, which helps no user.
    return re.sub(r" at \S+, line \d+ ?\.?$", "", first_line)[:300]


class FeatureCheckedModel(FrozenEstimator):
    """A fitted model that refuses features of another FeatureManager version.

    The seed's snippets unpickle the member files and call `predict` on them directly, so the
    check travels inside each pickle, not only inside the ensemble. Frozen: `fit` is a no-op and
    every other attribute (`classes_`, `feature_importances_`, ...) is the wrapped model's.
    """

    def __init__(self, estimator, feature_manager_version=FEATURE_MANAGER_VERSION):
        super().__init__(estimator)
        self.feature_manager_version = feature_manager_version

    def get_params(self, deep=True):
        version = self.feature_manager_version
        return {"estimator": self.estimator, "feature_manager_version": version}

    def __sklearn_tags__(self):
        # FrozenEstimator deep-copies the wrapped model's tags on every call, and the ensemble
        # asks each member a few times per prediction (~1 ms per single-row call in all); the
        # wrapped model builds new tags on each call anyway, so there is nothing to protect.
        tags = get_tags(self.estimator)
        tags._skip_test = True
        return tags

    def predict_proba(self, X, feature_manager_version: str | None = None):
        """P(class) of the wrapped model; `feature_manager_version` states the version of
        features that carry no tag (e.g. a frame rebuilt from arrays)."""
        check_feature_version(X, self.feature_manager_version, feature_manager_version)
        return self.estimator.predict_proba(X)

    def predict(self, X, feature_manager_version: str | None = None):
        check_feature_version(X, self.feature_manager_version, feature_manager_version)
        return self.estimator.predict(X)
