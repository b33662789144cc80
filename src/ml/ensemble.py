"""ProductionEnsemble: a weighted soft vote over the three models, as a scikit-learn classifier.

Weights minimise the log loss of out-of-fold predictions (time-ordered, purged CV on the
training window), never holdout predictions, so the holdout score of the ensemble stays honest.
The vote itself is scikit-learn's `VotingClassifier`; scikit-learn's own estimator checks run on
it in tests/unit/ml/test_ensemble_sklearn_checks.py.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from sklearn.ensemble import VotingClassifier
from sklearn.utils.validation import check_is_fitted, check_X_y, validate_data

from src.features.contract import VERSION_ATTR, check_feature_version
from src.features.errors import FeatureError

_NEGLIGIBLE_WEIGHT = 1e-6
_P_UP_FLOOR = 1e-15  # the clip the metrics' log loss uses (src/ml/evaluation.py)
# SLSQP stops once a step's predicted decrease of the loss is below `ftol`. The members' out-of-
# fold P(up) correlate at 0.96-0.99, so the loss is flat on the simplex: on the shipped sample the
# first step from equal weights predicts a decrease of 1.4e-7, under the default 1e-6, and SLSQP
# stopped there. 1e-12 is far below the 1e-6 of log loss the weights must get right and above
# the rounding noise of a mean over rows.
_SLSQP_FTOL = 1e-12
_SLSQP_MAX_ITERATIONS = 1_000
_OPTIMISER = f"SLSQP, analytic gradient, ftol {_SLSQP_FTOL:g}"


@dataclass(frozen=True)
class OptimisedWeights:
    """Simplex weights chosen on out-of-fold rows, with the blend's log loss on those rows at
    them and at equal weights (in-sample for the choice: the holdout's is the honest figure)."""

    weights: np.ndarray
    rows: int  # out-of-fold rows the log losses are measured on
    log_loss: float
    equal_weights_log_loss: float
    iterations: int
    converged: bool  # False: the optimiser failed and the weights are equal

    def to_record(self) -> dict:
        return {
            "chosen_on": "out-of-fold rows of the purged CV of the training window",
            "rows": self.rows,
            "log_loss": self.log_loss,
            "equal_weights_log_loss": self.equal_weights_log_loss,
            "optimiser": _OPTIMISER,
            "iterations": self.iterations,
            "converged": self.converged,
        }


def _blend_log_loss(matrix: np.ndarray, y: np.ndarray):
    """The blend's mean log loss as a function of the weights, with its gradient."""

    def value_and_gradient(weights: np.ndarray) -> tuple[float, np.ndarray]:
        p_up = np.clip(matrix @ weights, _P_UP_FLOOR, 1 - _P_UP_FLOOR)
        loss = -np.mean(y * np.log(p_up) + (1 - y) * np.log1p(-p_up))
        # d/dp of -[y log p + (1 - y) log(1 - p)] is (p - y) / (p (1 - p)); p is linear in w.
        gradient = matrix.T @ ((p_up - y) / (p_up * (1 - p_up))) / len(y)
        return float(loss), gradient

    return value_and_gradient


def optimise_weights(oof_p_up: Mapping[str, np.ndarray], y: np.ndarray) -> OptimisedWeights:
    """Simplex weights (>= 0, sum 1) minimising the log loss of the blended P(up).

    The loss is convex in the weights, so SLSQP from equal weights, given the exact gradient
    and a tolerance under the loss's flatness, reaches the simplex's minimum. Rows without an
    out-of-fold prediction (the first CV training block) are left out.
    """
    matrix = np.column_stack(list(oof_p_up.values()))
    scored = ~np.isnan(matrix).any(axis=1)
    matrix, y = matrix[scored], np.asarray(y, dtype="float64")[scored]
    if len(y) == 0:
        raise ValueError("no out-of-fold predictions to optimise ensemble weights on")

    loss = _blend_log_loss(matrix, y)
    start = np.full(matrix.shape[1], 1.0 / matrix.shape[1])
    result = minimize(
        loss,
        start,
        jac=True,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * len(start),
        constraints=({"type": "eq", "fun": lambda w: np.sum(w) - 1.0, "jac": np.ones_like},),
        options={"ftol": _SLSQP_FTOL, "maxiter": _SLSQP_MAX_ITERATIONS},
    )
    if not result.success:
        warnings.warn(
            f"ensemble weight optimisation failed ({result.message}); using equal weights",
            RuntimeWarning,
            stacklevel=2,
        )
    weights = snap_to_simplex(result.x) if result.success else start
    return OptimisedWeights(
        weights=weights,
        rows=len(y),
        log_loss=loss(weights)[0],
        equal_weights_log_loss=loss(start)[0],
        iterations=int(result.nit),
        converged=bool(result.success),
    )


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


class ProductionEnsemble(VotingClassifier):
    """scikit-learn's soft `VotingClassifier` with the project's feature contract.

    What is scikit-learn's: the weighted average of the members' class probabilities, fitting
    clones of the members (a `FrozenEstimator` member, such as the training run's
    `FeatureCheckedModel`s, is kept as it is: that is how members fitted elsewhere are joined),
    label encoding, `classes_`, `estimators_`, `n_features_in_`, input validation and its
    messages. What is the project's: features must come from one FeatureManager version
    (recorded as `feature_manager_version_`), NaN and infinity are refused, frozen members must
    match X's columns and y's labels, members with weight 0 are not asked to predict, `weights_`
    are the normalised weights (the training run passes `optimise_weights` of out-of-fold
    predictions) and `model_version` is stored with the ensemble.

    Parameters
    ----------
    estimators : list of (name, classifier); `FrozenEstimator`s are used as they are.
    weights : one non-negative weight per estimator, not all zero (normalised to sum 1);
        None weighs them equally.
    model_version : free text stored with the ensemble (the training run's version).
    feature_manager_version : the FeatureManager version of features that carry no version tag
        (arrays, frames rebuilt from arrays), stated once for every call by whoever builds the
        ensemble. None (what training uses): untagged features are refused unless a call states
        their version (`feature_manager_version=`). Tagged frames must always carry the version
        the ensemble was fitted on.
    """

    # Fixed VotingClassifier settings, as class attributes so that they are not parameters:
    # hard voting has no probabilities for the trading policy, and one process runs members in
    # turn (the weekly run has one CPU).
    voting = "soft"
    n_jobs = None
    flatten_transform = True
    verbose = False

    _parameter_constraints: dict = {
        "estimators": [list],
        "weights": ["array-like", None],
        "model_version": [str, None],
        "feature_manager_version": [str, None],
    }

    def __init__(self, estimators, weights=None, model_version=None, feature_manager_version=None):
        self.estimators = estimators
        self.weights = weights
        self.model_version = model_version
        self.feature_manager_version = feature_manager_version

    def fit(self, X, y, feature_manager_version: str | None = None):
        """Fit (clones of) the members on features of one FeatureManager version.

        `feature_manager_version` states the version of untagged features for this call.
        """
        version = self._version_of(X, feature_manager_version)
        X_checked, y = check_X_y(X, y, accept_sparse=False, dtype="numeric", estimator=self)
        weights = self._checked_weights()
        if np.unique(y).size < 2:
            raise ValueError(
                f"y holds one class only ({y[0]!r}); a classifier needs at least two classes: "
                "fit on a longer period"
            )
        names = _column_names(X)
        super().fit(_for_members(X_checked, names, version), y)
        # scikit-learn's rule, feature names from X: VotingClassifier copies a member's, which
        # LightGBM also makes up ("0", "1", ...) for a frame with unnamed columns.
        self.__dict__.pop("feature_names_in_", None)
        if names is not None:
            self.feature_names_in_ = names
        self._check_frozen_members(X_checked.shape[1])
        self.feature_manager_version_ = version
        self.weights_ = weights
        return self

    def predict_proba(self, X, feature_manager_version: str | None = None):
        """The weighted average of the members' class probabilities (columns follow
        `classes_`); members with weight 0 are skipped."""
        X = self._member_input(X, feature_manager_version)
        proba = sum(
            weight * member.predict_proba(X)
            for weight, member in zip(self.weights_, self.estimators_, strict=True)
            if weight > 0
        )
        # XGBoost's float32 rows sum to 1 only within ~1e-8: the first class takes the rest, so
        # rows sum to 1 and the other columns (P(up)) are exactly the weighted average, as
        # `blend` computes it from the members' out-of-fold P(up).
        proba[:, 0] = np.clip(1.0 - proba[:, 1:].sum(axis=1), 0.0, None)
        return proba

    def predict(self, X, feature_manager_version: str | None = None):
        proba = self.predict_proba(X, feature_manager_version)
        return self.classes_[np.argmax(proba, axis=1)]

    def transform(self, X, feature_manager_version: str | None = None):
        """Every member's class probabilities side by side (VotingClassifier's transform),
        after the same input checks as predict."""
        return super().transform(self._member_input(X, feature_manager_version))

    @property
    def named_weights(self) -> dict[str, float]:
        check_is_fitted(self, "weights_")
        return {name: float(w) for (name, _), w in zip(self.estimators, self.weights_, strict=True)}

    def _version_of(self, X, stated: str | None) -> str:
        """The FeatureManager version of fit's X: its tag, or the version a caller states."""
        stated = stated if stated is not None else self.feature_manager_version
        version = getattr(X, "attrs", {}).get(VERSION_ATTR, stated)
        if version is None:
            raise FeatureError(
                "fit needs features from FeatureManager().generate_features (their frame is "
                "tagged with its version), or feature_manager_version= stating it"
            )
        check_feature_version(X, version, stated)
        return version

    def _checked_weights(self) -> np.ndarray:
        if any(member == "drop" for _, member in self.estimators):
            raise ValueError("'drop' is not supported as a member: give it weight 0 instead")
        n_members = len(self.estimators)
        if self.weights is None:
            return np.full(n_members, 1.0 / n_members)
        weights = np.asarray(self.weights, dtype="float64")
        if (
            weights.shape != (n_members,)
            or not np.isfinite(weights).all()
            or (weights < 0).any()
            or weights.sum() == 0
        ):
            raise ValueError(
                f"weights must be {n_members} finite non-negative numbers, not all "
                f"zero; got {self.weights!r}"
            )
        return weights / weights.sum()

    def _check_frozen_members(self, n_features: int) -> None:
        """A frozen member is kept as given (clones are fitted here, on X and y): it must have
        been fitted on X's columns and y's labels, or its probabilities would mean other ones."""
        names = getattr(self, "feature_names_in_", None)
        for (name, given), member in zip(self.estimators, self.estimators_, strict=True):
            if member is not given:
                continue
            member_names = getattr(member, "feature_names_in_", None)
            if member.n_features_in_ != n_features or not _same_names(member_names, names):
                raise ValueError(
                    f"member {name!r} was fitted on {member.n_features_in_} features "
                    f"{_listed(member_names)}, but X has {n_features} {_listed(names)}; fit the "
                    "ensemble on the features its frozen members were fitted on"
                )
            if not np.array_equal(member.classes_, self.classes_):
                raise ValueError(
                    f"member {name!r} predicts classes {member.classes_.tolist()}, but y has "
                    f"{self.classes_.tolist()}; fit the members on the same labels as the ensemble"
                )

    def _member_input(self, X, stated: str | None):
        """Validated predict input in the form the members were fitted on: a frame with the
        fitted column names, tagged with the version just checked, or an array."""
        check_is_fitted(self)
        stated = stated if stated is not None else self.feature_manager_version
        check_feature_version(X, self.feature_manager_version_, stated)
        X_checked = validate_data(self, X, reset=False, accept_sparse=False)
        columns = getattr(self, "feature_names_in_", None)
        return _for_members(X_checked, columns, self.feature_manager_version_)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # Whatever the members accept: FeatureManager never makes NaN, infinite or sparse
        # features, so such input was made some other way, and a member's silent guess for a
        # "missing" value must not become a trade.
        tags.input_tags.allow_nan = False
        tags.input_tags.sparse = False
        return tags

    def __setstate__(self, state):
        # Sets pickled before the ensemble was a VotingClassifier (in the archive, for rollback)
        # have a `prefit` flag and no `feature_manager_version` parameter.
        state.pop("prefit", None)
        state.setdefault("feature_manager_version", None)
        super().__setstate__(state)


def _column_names(X) -> np.ndarray | None:
    """X's column names if all are strings, scikit-learn's rule for `feature_names_in_`."""
    if isinstance(X, pd.DataFrame) and all(isinstance(column, str) for column in X.columns):
        return np.asarray(X.columns, dtype=object)
    return None


def _same_names(a, b) -> bool:
    return (a is None and b is None) or (a is not None and b is not None and list(a) == list(b))


def _listed(names) -> str:
    return "(unnamed columns)" if names is None else f"({', '.join(names)})"


def _for_members(X_checked: np.ndarray, columns, version: str):
    """Checked values as the members were fitted: a frame with `columns` tagged with the
    version (FeatureCheckedModel members check the tag), or the array when fitted on one."""
    if columns is None:
        return X_checked
    frame = pd.DataFrame(X_checked, columns=columns)
    frame.attrs[VERSION_ATTR] = version
    return frame
