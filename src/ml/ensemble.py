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

from src.features.errors import FeatureError
from src.ml.evaluation import out_of_fold_p_up

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
    weights = np.clip(result.x if result.success else start, 0.0, None)
    # SLSQP leaves ~1e-17 where it means 0; exact zeros let predict_proba skip those members.
    weights[weights < _NEGLIGIBLE_WEIGHT] = 0.0
    return weights / weights.sum()


class ProductionEnsemble(ClassifierMixin, BaseEstimator):
    """Weighted average of the members' P(up); `classes_` is [0, 1].

    Parameters
    ----------
    estimators : list of (name, classifier)
    weights : array of one weight per estimator, or None to optimise them on out-of-fold
        predictions of `cv` during `fit`.
    cv : splitter used when `weights` is None; required then (its gap must cover the label
        horizon, so it has no default).
    prefit : if True, `estimators` are already fitted (on the same training window) and `fit`
        only records weights and the input contract instead of refitting them.
    model_version : free text stored with the ensemble (the training run's version).
    """

    def __init__(self, estimators, weights=None, cv=None, prefit=False, model_version=None):
        self.estimators = estimators
        self.weights = weights
        self.cv = cv
        self.prefit = prefit
        self.model_version = model_version

    def fit(self, X: pd.DataFrame, y) -> ProductionEnsemble:
        X = self._check_frame(X)
        y = pd.Series(np.asarray(y), index=X.index)
        self.classes_ = np.array([0, 1])
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        self.feature_manager_version_ = X.attrs.get("feature_manager_version")
        if self.weights is None:
            if self.cv is None:
                # No default: a splitter whose gap is shorter than the label horizon would leak.
                raise ValueError(
                    "pass weights=, or cv= a purged TimeSeriesSplit whose gap covers the label "
                    "horizon, to optimise the weights on out-of-fold predictions"
                )
            oof, _ = out_of_fold_p_up(dict(self.estimators), X, y, self.cv)
            self.weights_ = optimise_weights(oof, y)
        else:
            weights = np.asarray(self.weights, dtype="float64")
            if (
                weights.shape != (len(self.estimators),)
                or not np.isfinite(weights).all()
                or (weights < 0).any()
                or weights.sum() == 0
            ):
                raise ValueError(
                    f"weights must be {len(self.estimators)} finite non-negative numbers, "
                    "not all zero; "
                    f"got {self.weights!r}"
                )
            self.weights_ = weights / weights.sum()
        if self.prefit:
            for _, estimator in self.estimators:
                check_is_fitted(estimator)
            self.estimators_ = [estimator for _, estimator in self.estimators]
        else:
            self.estimators_ = [clone(estimator).fit(X, y) for _, estimator in self.estimators]
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        check_is_fitted(self, "weights_")
        X = self._check_input(X)
        p_up = np.zeros(len(X))
        for weight, estimator in zip(self.weights_, self.estimators_, strict=True):
            if weight > 0:
                p_up += weight * estimator.predict_proba(X)[:, 1]
        return np.column_stack([1.0 - p_up, p_up])

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        proba = self.predict_proba(X)  # first, so an unfitted ensemble raises NotFittedError
        return self.classes_[np.argmax(proba, axis=1)]

    @property
    def named_weights(self) -> dict[str, float]:
        check_is_fitted(self, "weights_")
        return {name: float(w) for (name, _), w in zip(self.estimators, self.weights_, strict=True)}

    @staticmethod
    def _check_frame(X) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            raise TypeError(
                "ProductionEnsemble needs a DataFrame with named feature columns "
                f"(from FeatureManager.generate_features), got {type(X).__name__}"
            )
        return X

    def _check_input(self, X) -> pd.DataFrame:
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
        version = X.attrs.get("feature_manager_version")
        if version is not None and version != self.feature_manager_version_:
            raise FeatureError(
                f"features were made by FeatureManager {version}, but this ensemble was trained "
                f"on {self.feature_manager_version_}; retrain or use the matching FeatureManager"
            )
        return X
