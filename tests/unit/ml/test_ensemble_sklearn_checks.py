"""scikit-learn's own estimator checks on ProductionEnsemble.

Two ensembles that learn in `fit` run every check: the issue's example (two plain scikit-learn
members, fixed weights) and the project's three members with weights optimised on out-of-fold
predictions of a purged time-series CV, as the training run does. Both state the FeatureManager
version of untagged input in their constructor, which is how a caller whose features are arrays
meets the feature contract; the checks feed arrays. (scikit-learn's array-API check skips itself
unless SCIPY_ARRAY_API is set before SciPy is first imported, which would change SciPy for the
whole suite: those are the two skips.)

The training run's own ensemble joins frozen members (FeatureCheckedModel) fitted elsewhere on
12 features. scikit-learn skips FrozenEstimator in its checks (its `fit` learns nothing), and
most checks fit on data of their own width, so the last test runs every check on a frozen
ensemble and requires each to pass or to fail only by refusing that width; the validation checks
must pass.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier
from sklearn.utils.estimator_checks import check_estimator, estimator_checks_generator

from src.config import MODEL_NAMES
from src.features.contract import FEATURE_MANAGER_VERSION, FEATURE_NAMES
from src.ml.ensemble import ProductionEnsemble, optimise_weights
from src.ml.evaluation import cross_validate, purged_time_series_cv
from src.ml.models import FeatureCheckedModel, build_model

# The checks fit on a few dozen to a few hundred rows: leaves must be allowed to be small.
CHECK_MODEL_PARAMS = {
    "lightgbm": {"n_estimators": 20, "num_leaves": 7, "min_child_samples": 5},
    "xgboost": {"n_estimators": 20, "max_depth": 3},
    "random_forest": {"n_estimators": 20, "max_depth": 5},
}
SEED = 0


def _members() -> dict[str, object]:
    return {name: build_model(name, CHECK_MODEL_PARAMS[name], SEED) for name in MODEL_NAMES}


def _features(n_rows: int = 600) -> tuple[pd.DataFrame, pd.Series]:
    X, y = make_classification(
        n_samples=n_rows, n_features=len(FEATURE_NAMES), n_informative=4, random_state=SEED
    )
    return pd.DataFrame(X, columns=list(FEATURE_NAMES)), pd.Series(y)


def _purged_cv_weights() -> np.ndarray:
    X, y = _features()
    cv = cross_validate(_members(), X, y, purged_time_series_cv(n_splits=4, gap=1))
    return optimise_weights(cv.oof_p_up, y.to_numpy()).weights


CHECKED = {
    "issue_example": ProductionEnsemble(
        [("a", LogisticRegression()), ("b", DecisionTreeClassifier(max_depth=3))],
        weights=[0.5, 0.5],
        feature_manager_version=FEATURE_MANAGER_VERSION,
    ),
    "purged_cv_weights": ProductionEnsemble(
        list(_members().items()),
        weights=_purged_cv_weights(),
        feature_manager_version=FEATURE_MANAGER_VERSION,
    ),
}


def expected_failed_checks(estimator) -> dict[str, str]:
    """The one place for checks the feature contract fails on purpose, with the reason.

    None: untagged input is accepted when its FeatureManager version is stated (here by the
    constructor) and its width matches, so the contract no longer conflicts with any check. A
    frame tagged with another version is still refused; no check makes one.
    """
    return {}


def _check_id(check) -> str:
    name = getattr(check, "func", check).__name__
    keywords = getattr(check, "keywords", {})
    return name + (f"({','.join(f'{k}={v}' for k, v in keywords.items())})" if keywords else "")


def _all_checks():
    """parametrize_with_checks' cases, with short ids (its own are the estimators' reprs)."""
    for label, estimator in CHECKED.items():
        expected = expected_failed_checks(estimator)
        for checked, check in estimator_checks_generator(
            estimator, expected_failed_checks=expected, mark="xfail"
        ):
            yield pytest.param(checked, check, id=f"{label}-{_check_id(check)}")


@pytest.mark.parametrize(("estimator", "check"), list(_all_checks()))
def test_scikit_learn_estimator_checks(estimator, check):
    check(estimator)


def test_the_purged_cv_weights_leave_a_member_out():
    """So the checks above also cover an ensemble that skips a zero-weight member."""
    weights = CHECKED["purged_cv_weights"].weights

    assert (weights == 0).any()
    assert weights.sum() == pytest.approx(1.0)


# Checks of the input validation the issue lists: each must pass for frozen members too.
VALIDATION_CHECKS = {
    "check_estimators_empty_data_messages",
    "check_supervised_y_no_nan",
    "check_classifiers_one_label",
    "check_classifiers_regression_target",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_complex_data",
    "check_fit1d",
    "check_fit2d_1sample",
    "check_requires_y_none",
    "check_estimators_unfitted",
    "check_no_attributes_set_in_init",
    "check_get_params_invariance",
    "check_set_params",
    "check_estimator_cloneable",
}
_REFUSED_WIDTH = re.compile(r"member '\w+' was fitted on 12 features .*, but X has \d+ ")


def _refuses_width(exception: BaseException | None) -> bool:
    while exception is not None:
        if _REFUSED_WIDTH.search(str(exception)):
            return True
        exception = exception.__cause__ or exception.__context__
    return False


@pytest.mark.filterwarnings("ignore")
def test_frozen_members_pass_the_validation_checks_and_refuse_other_widths():
    X, y = _features()
    frozen = ProductionEnsemble(
        [(name, FeatureCheckedModel(model.fit(X, y))) for name, model in _members().items()],
        weights=[0.5, 0.3, 0.2],
        feature_manager_version=FEATURE_MANAGER_VERSION,
    )

    results = check_estimator(frozen, on_fail=None)

    passed = {r["check_name"] for r in results if r["status"] == "passed"}
    assert VALIDATION_CHECKS - passed == set()
    unexplained = [
        (r["check_name"], repr(r["exception"])[:200])
        for r in results
        if r["status"] == "failed" and not _refuses_width(r["exception"])
    ]
    assert unexplained == []
