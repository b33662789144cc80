"""The three classifiers, built by name from config hyperparameters, seeded and thread-capped."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from lightgbm import LGBMClassifier
from sklearn.base import ClassifierMixin
from sklearn.ensemble import RandomForestClassifier
from sklearn.frozen import FrozenEstimator
from xgboost import XGBClassifier

from src.config import ConfigError
from src.features.contract import FEATURE_MANAGER_VERSION, check_feature_version


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
    model = builder({}, seed, n_jobs)
    # The libraries ignore (LightGBM), warn about (XGBoost) or fail late on misspelt names.
    unknown = sorted(set(params) - set(model.get_params()))
    if unknown:
        raise ConfigError(
            f"training.models.{name} has unknown hyperparameter(s) {unknown}; "
            f"see {type(model).__name__}'s documentation for valid names"
        )
    return model.set_params(**params)


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

    def predict_proba(self, X, feature_manager_version: str | None = None):
        """P(class) of the wrapped model; `feature_manager_version` states the version of
        features that carry no tag (e.g. a frame rebuilt from arrays)."""
        check_feature_version(X, self.feature_manager_version, feature_manager_version)
        return self.estimator.predict_proba(X)

    def predict(self, X, feature_manager_version: str | None = None):
        check_feature_version(X, self.feature_manager_version, feature_manager_version)
        return self.estimator.predict(X)
