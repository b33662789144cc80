"""ProductionEnsemble: a weighted soft vote over the three models, as a scikit-learn classifier.

Weights minimise the log loss of out-of-fold predictions (time-ordered, purged CV on the
training window), never holdout predictions, so the holdout score of the ensemble stays honest.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.metrics import log_loss
from sklearn.utils.validation import check_is_fitted

from src.features.contract import VERSION_ATTR, check_feature_version
from src.features.errors import FeatureError

_NEGLIGIBLE_WEIGHT = 1e-6


def optimise_weights(oof_p_up: Mapping[str, np.ndarray], y: np.ndarray) -> np.ndarray:
    """Simplex weights (>= 0, sum 1) minimising the log loss of the blended P(up).

    Rows without an out-of-fold prediction (the first CV training block) are left out.
    """
    names = list(oof_p_up)
    matrix = np.column_stack([oof_p_up[name] for name in names])
    scored = ~np.isnan(matrix).any(axis=1)
    matrix, y = matrix[scored], np.asarray(y)[scored]
    if len(y) == 0:
        raise ValueError("no out-of-fold predictions to optimise ensemble weights on")

    def blended_log_loss(weights: np.ndarray) -> float:
        p_up = np.clip(matrix @ weights, 1e-15, 1 - 1e-15)
        return log_loss(y, p_up, labels=[0, 1])

    start = np.full(len(names), 1.0 / len(names))
    result = minimize(
        blended_log_loss,
        start,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * len(names),
        constraints=({"type": "eq", "fun": lambda w: np.sum(w) - 1.0},),
    )
    if not result.success:
        warnings.warn(
            f"ensemble weight optimisation failed ({result.message}); using equal weights",
            RuntimeWarning,
            stacklevel=2,
        )
    return snap_to_simplex(result.x if result.success else start)


def snap_to_simplex(weights: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1, with negligible ones exactly 0.

    SLSQP leaves ~1e-17 (or a hair below 0) where it means 0; exact zeros let predict_proba skip
    those members, and renormalising keeps the blend a probability.
    """
    weights = np.clip(np.asarray(weights, dtype="float64"), 0.0, None)
    weights[weights < _NEGLIGIBLE_WEIGHT] = 0.0
    return weights / weights.sum()


def blend(p_up: Mapping[str, np.ndarray], weights: np.ndarray) -> np.ndarray:
    """The weighted P(up) of members given in the weights' order (NaN where any is NaN)."""
    return np.column_stack(list(p_up.values())) @ np.asarray(weights)


class ProductionEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted average of the members' P(up); `classes_` is [0, 1].

    Parameters
    ----------
    estimators : list of (name, classifier)
    weights : one non-negative weight per estimator (normalised to sum 1); the training run
        passes `optimise_weights` of the members' out-of-fold predictions.
    prefit : if True, `estimators` are already fitted (on the same training window) and `fit`
        only records weights and the input contract instead of refitting them.
    model_version : free text stored with the ensemble (the training run's version).

    Features must come from FeatureManager: a frame tagged with another version is refused, and
    so is an untagged one unless the caller states `feature_manager_version`.
    """

    def __init__(self, estimators, weights, prefit=False, model_version=None):
        self.estimators = estimators
        self.weights = weights
        self.prefit = prefit
        self.model_version = model_version

    def fit(self, X: pd.DataFrame, y, feature_manager_version: str | None = None):
        X = self._check_frame(X)
        version = X.attrs.get(VERSION_ATTR, feature_manager_version)
        if version is None:
            raise FeatureError(
                "fit needs features from FeatureManager().generate_features (their frame is "
                "tagged with its version), or feature_manager_version= stating it"
            )
        check_feature_version(X, version, feature_manager_version)
        self.feature_manager_version_ = version
        y = pd.Series(np.asarray(y), index=X.index)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.weights_ = self._checked_weights()
        if self.prefit:
            for _, estimator in self.estimators:
                check_is_fitted(estimator)
            self.estimators_ = [estimator for _, estimator in self.estimators]
        else:
            self.estimators_ = [clone(estimator).fit(X, y) for _, estimator in self.estimators]
        return self

    def predict_proba(self, X: pd.DataFrame, feature_manager_version: str | None = None):
        check_is_fitted(self, "weights_")
        X = self._check_input(X, feature_manager_version)
        p_up = np.zeros(len(X))
        for weight, estimator in zip(self.weights_, self.estimators_, strict=True):
            if weight > 0:
                p_up += weight * estimator.predict_proba(X)[:, 1]
        return np.column_stack([1.0 - p_up, p_up])

    def predict(self, X: pd.DataFrame, feature_manager_version: str | None = None):
        # predict_proba first, so an unfitted ensemble raises NotFittedError
        proba = self.predict_proba(X, feature_manager_version)
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def named_weights(self) -> dict[str, float]:
        check_is_fitted(self, "weights_")
        return {name: float(w) for (name, _), w in zip(self.estimators, self.weights_, strict=True)}

    def _checked_weights(self) -> np.ndarray:
        weights = np.asarray(self.weights, dtype="float64")
        if (
            weights.shape != (len(self.estimators),)
            or not np.isfinite(weights).all()
            or (weights < 0).any()
            or weights.sum() == 0
        ):
            raise ValueError(
                f"weights must be {len(self.estimators)} finite non-negative numbers, not all "
                f"zero; got {self.weights!r}"
            )
        return weights / weights.sum()

    @staticmethod
    def _check_frame(X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "ProductionEnsemble needs a DataFrame with named feature columns "
                f"(from FeatureManager.generate_features), got {type(X).__name__}"
            )
        return X

    def _check_input(self, X, feature_manager_version: str | None) -> pd.DataFrame:
        X = self._check_frame(X)
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but ProductionEnsemble is expecting "
                f"{self.n_features_in_} features as input."
            )
        expected = list(self.feature_names_in_)
        if list(X.columns) != expected:
            raise ValueError(
                f"X has columns {list(X.columns)}, but ProductionEnsemble was fitted with "
                f"{expected} in that order; build features with FeatureManager"
            )
        check_feature_version(X, self.feature_manager_version_, feature_manager_version)
        if VERSION_ATTR not in X.attrs:  # members that check too see the version just checked
            X = X.copy(deep=False)
            X.attrs[VERSION_ATTR] = self.feature_manager_version_
        return X
