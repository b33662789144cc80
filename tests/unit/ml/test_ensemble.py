"""One classifier contract for the three models and ProductionEnsemble (refitting its members,
and joining frozen ones as training does), then the ensemble's own behaviour. scikit-learn's
estimator checks run in test_ensemble_sklearn_checks.py, the choice of its weights is tested in
test_ensemble_weights.py."""

from __future__ import annotations

import pickle
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import sparse
from sklearn.base import clone
from sklearn.exceptions import DataConversionWarning, NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.utils import get_tags

from src.config import MODEL_NAMES
from src.features.contract import VERSION_ATTR
from src.features.errors import FeatureError
from src.ml.ensemble import ProductionEnsemble
from src.ml.models import FeatureCheckedModel

ENSEMBLES = ["production_ensemble", "frozen_members_ensemble"]
CLASSIFIERS = [*MODEL_NAMES, *ENSEMBLES]


ENSEMBLE_WEIGHTS = [0.5, 0.3, 0.2]


@pytest.fixture(scope="module")
def train_test(planted_dataset):
    X, y = planted_dataset
    return X.iloc[:700], y.iloc[:700], X.iloc[701:]


@pytest.fixture(scope="module")
def make_classifier(small_models, train_test):
    """An unfitted classifier by name; the frozen-members ensemble joins members fitted on the
    training rows, wrapped as the training run wraps them."""
    X_train, y_train, _ = train_test

    def make(name: str):
        models = small_models()
        if name == "production_ensemble":
            return ProductionEnsemble(list(models.items()), weights=ENSEMBLE_WEIGHTS)
        if name == "frozen_members_ensemble":
            frozen = [(n, FeatureCheckedModel(m.fit(X_train, y_train))) for n, m in models.items()]
            return ProductionEnsemble(frozen, weights=ENSEMBLE_WEIGHTS)
        return models[name]

    return make


@pytest.fixture(scope="module")
def fits(make_classifier, train_test):
    """Each classifier fitted once for the module: name -> (classifier, what fit returned)."""
    X_train, y_train, _ = train_test
    fitted = {}
    for name in CLASSIFIERS:
        classifier = make_classifier(name)
        fitted[name] = (classifier, classifier.fit(X_train, y_train))
    return fitted


@pytest.fixture(scope="module")
def fitted_ensemble(fits):
    return fits["production_ensemble"][0]


# -- the shared contract -------------------------------------------------------------------------
@pytest.mark.parametrize("name", CLASSIFIERS)
def test_fit_returns_self(name, fits):
    classifier, returned = fits[name]

    assert returned is classifier


@pytest.mark.parametrize("name", CLASSIFIERS)
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_predicting_before_fit_raises_not_fitted(name, method, make_classifier, train_test):
    _, _, X_test = train_test

    with pytest.raises(NotFittedError):
        getattr(make_classifier(name), method)(X_test)


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_seeded_fits_are_identical(name, fits, make_classifier, train_test):
    X_train, y_train, X_test = train_test
    first, _ = fits[name]

    second = make_classifier(name).fit(X_train, y_train)

    np.testing.assert_array_equal(second.predict_proba(X_test), first.predict_proba(X_test))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_pickle_round_trip_predicts_the_same(name, fits, train_test):
    _, _, X_test = train_test
    classifier, _ = fits[name]

    restored = pickle.loads(pickle.dumps(classifier))

    np.testing.assert_array_equal(restored.predict_proba(X_test), classifier.predict_proba(X_test))
    np.testing.assert_array_equal(restored.predict(X_test), classifier.predict(X_test))


@pytest.mark.parametrize("name", CLASSIFIERS)
def test_probabilities_follow_classes_and_predict_is_their_argmax(name, fits, train_test):
    _, _, X_test = train_test
    classifier, _ = fits[name]

    proba = classifier.predict_proba(X_test)

    np.testing.assert_array_equal(classifier.classes_, [0, 1])
    assert proba.shape == (len(X_test), 2)
    assert ((proba >= 0) & (proba <= 1)).all()
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(
        classifier.predict(X_test), classifier.classes_[np.argmax(proba, axis=1)]
    )
    # The planted signal is learnable: every classifier finds it out of sample.
    assert (proba[:, 1] > 0.5).mean() > 0.2


# -- the ensemble's own behaviour ----------------------------------------------------------------
def test_fitted_ensemble_records_its_contract(fitted_ensemble, train_test):
    X_train, _, _ = train_test

    assert list(fitted_ensemble.feature_names_in_) == list(X_train.columns)
    assert fitted_ensemble.n_features_in_ == 12
    assert fitted_ensemble.feature_manager_version_ == X_train.attrs["feature_manager_version"]
    assert sum(fitted_ensemble.named_weights.values()) == pytest.approx(1.0)
    assert list(fitted_ensemble.named_weights) == list(MODEL_NAMES)


def test_ensemble_probability_is_the_weighted_member_average(fitted_ensemble, train_test):
    _, _, X_test = train_test

    members = np.column_stack(
        [model.predict_proba(X_test)[:, 1] for model in fitted_ensemble.estimators_]
    )

    np.testing.assert_allclose(
        fitted_ensemble.predict_proba(X_test)[:, 1], members @ fitted_ensemble.weights_, atol=1e-12
    )


def _drop_last(X):
    return X.drop(columns=X.columns[-1])


def _add_extra(X):
    return X.assign(extra=1.0)


def _swap_first_two(X):
    return X[[X.columns[1], X.columns[0], *X.columns[2:]]]


def _rename_one(X):
    return X.rename(columns={"zscore": "z_score"})


@pytest.mark.parametrize(
    ("mangle", "message"),
    [
        (_drop_last, "Feature names seen at fit time, yet now missing:\n- volume_ratio"),
        (_add_extra, "Feature names unseen at fit time:\n- extra"),
        (_swap_first_two, "Feature names must be in the same order as they were in fit."),
        (_rename_one, "- z_score"),
    ],
)
@pytest.mark.parametrize("method", ["predict", "predict_proba"])
def test_wrong_columns_are_refused_with_a_clear_message(
    fitted_ensemble, train_test, mangle, message, method
):
    _, _, X_test = train_test

    with pytest.raises(ValueError, match=re.escape(message)):
        getattr(fitted_ensemble, method)(mangle(X_test))


def test_features_of_another_feature_manager_version_are_refused(fitted_ensemble, train_test):
    _, _, X_test = train_test
    X_other = X_test.copy()
    X_other.attrs["feature_manager_version"] = "v0.0.1-other"

    with pytest.raises(FeatureError, match=r"FeatureManager v0\.0\.1-other.*retrain"):
        fitted_ensemble.predict_proba(X_other)


def test_arrays_need_a_stated_version_and_the_fitted_width(fitted_ensemble, train_test):
    _, _, X_test = train_test
    version = X_test.attrs["feature_manager_version"]

    with pytest.raises(FeatureError, match="carry no feature_manager_version"):
        fitted_ensemble.predict(X_test.to_numpy())
    with pytest.warns(UserWarning, match="X does not have valid feature names"):
        stated = fitted_ensemble.predict_proba(X_test.to_numpy(), feature_manager_version=version)
    np.testing.assert_array_equal(stated, fitted_ensemble.predict_proba(X_test))
    with (
        pytest.warns(UserWarning, match="X does not have valid feature names"),
        pytest.raises(
            ValueError,
            match=re.escape("X has 11 features, but ProductionEnsemble is expecting 12 features"),
        ),
    ):
        fitted_ensemble.predict(X_test.to_numpy()[:, :11], feature_manager_version=version)


def test_an_ensemble_built_for_untagged_features_states_their_version(train_test, small_models):
    X_train, y_train, X_test = train_test
    version = X_train.attrs["feature_manager_version"]
    untagged = ProductionEnsemble(list(small_models().items()), ENSEMBLE_WEIGHTS)
    with pytest.raises(FeatureError, match="or feature_manager_version= stating it"):
        untagged.fit(X_train.to_numpy(), y_train)

    stated = clone(untagged).set_params(feature_manager_version=version)
    stated.fit(X_train.to_numpy(), y_train.to_numpy())

    assert stated.feature_manager_version_ == version
    assert not hasattr(stated, "feature_names_in_")
    assert stated.predict_proba(X_test.to_numpy()).shape == (len(X_test), 2)
    X_other = X_test.copy()
    X_other.attrs["feature_manager_version"] = "v0.0.1-other"
    with pytest.raises(FeatureError, match="tagged FeatureManager v0.0.1-other"):
        stated.predict(X_other)


def _untagged(X):
    """The same numbers in a frame rebuilt from arrays: the version tag is gone."""
    return type(X)(X.to_numpy(), index=X.index, columns=X.columns)


@pytest.fixture(scope="module")
def checked_member(train_test, small_models):
    X_train, y_train, _ = train_test
    return FeatureCheckedModel(small_models()["lightgbm"].fit(X_train, y_train))


@pytest.mark.parametrize("method", ["predict", "predict_proba"])
@pytest.mark.parametrize("predictor", ["ensemble", "member"])
def test_untagged_features_are_refused_unless_the_caller_states_the_version(
    fitted_ensemble, checked_member, train_test, method, predictor
):
    _, _, X_test = train_test
    model = fitted_ensemble if predictor == "ensemble" else checked_member
    version = X_test.attrs["feature_manager_version"]
    expected = getattr(model, method)(X_test)

    with pytest.raises(FeatureError, match="carry no feature_manager_version"):
        getattr(model, method)(_untagged(X_test))
    stated = getattr(model, method)(_untagged(X_test), feature_manager_version=version)
    np.testing.assert_array_equal(stated, expected)
    with pytest.raises(FeatureError, match="tagged FeatureManager .* caller states v9"):
        getattr(model, method)(X_test, feature_manager_version="v9")


def test_a_pickled_member_refuses_another_feature_version(checked_member, train_test):
    _, _, X_test = train_test
    X_other = X_test.copy()
    X_other.attrs["feature_manager_version"] = "v0.0.1-other"
    restored = pickle.loads(pickle.dumps(checked_member))  # as the seed's snippets load it

    with pytest.raises(FeatureError, match=r"FeatureManager v0\.0\.1-other.*retrain"):
        restored.predict(X_other)
    assert restored.classes_.tolist() == [0, 1]
    assert restored.feature_importances_.shape == (12,)


def test_a_member_reports_the_wrapped_models_tags_without_sharing_them(checked_member):
    tags = get_tags(checked_member)
    assert tags._skip_test and tags.estimator_type == "classifier"

    tags.input_tags.allow_nan = not tags.input_tags.allow_nan

    assert get_tags(checked_member.estimator).input_tags.allow_nan != tags.input_tags.allow_nan


@pytest.mark.parametrize(
    "weights", [[1.0, 1.0], [1.0, -0.5, 0.5], [0.0, 0.0, 0.0], [1.0, float("nan"), 1.0]]
)
def test_bad_fixed_weights_are_refused(weights, train_test, small_models):
    X_train, y_train, _ = train_test

    with pytest.raises(ValueError, match="weights must be 3 finite non-negative numbers"):
        ProductionEnsemble(list(small_models().items()), weights=weights).fit(X_train, y_train)


def test_weights_default_to_equal_and_a_dropped_member_is_refused(train_test, small_models):
    X_train, y_train, _ = train_test
    members = list(small_models().items())

    assert ProductionEnsemble(members).fit(X_train, y_train).named_weights == {
        name: pytest.approx(1 / 3) for name in MODEL_NAMES
    }
    with pytest.raises(ValueError, match="'drop' is not supported as a member: give it weight 0"):
        ProductionEnsemble([*members[:2], ("random_forest", "drop")]).fit(X_train, y_train)


def test_fixed_weights_are_normalised_and_used(train_test, small_models):
    X_train, y_train, X_test = train_test
    models = small_models()

    ensemble = ProductionEnsemble(list(models.items()), weights=[2.0, 0.0, 0.0]).fit(
        X_train, y_train
    )

    np.testing.assert_array_equal(ensemble.weights_, [1.0, 0.0, 0.0])
    lightgbm = clone(models["lightgbm"]).fit(X_train, y_train)
    np.testing.assert_allclose(
        ensemble.predict_proba(X_test)[:, 1], lightgbm.predict_proba(X_test)[:, 1], atol=1e-12
    )


def test_frozen_members_are_kept_and_unfitted_frozen_ones_refused(train_test, small_models):
    X_train, y_train, _ = train_test
    models = small_models()
    frozen = [(name, FrozenEstimator(model)) for name, model in models.items()]
    with pytest.raises(NotFittedError):
        ProductionEnsemble(frozen, weights=[1, 1, 1]).fit(X_train, y_train)

    fitted = [
        (name, FrozenEstimator(model.fit(X_train, y_train))) for name, model in models.items()
    ]
    ensemble = ProductionEnsemble(fitted, weights=[1, 1, 1])

    ensemble.fit(X_train, y_train)

    assert all(a is b for a, (_, b) in zip(ensemble.estimators_, fitted, strict=True))


def test_frozen_members_of_other_labels_or_width_are_refused(train_test, small_models):
    X_train, y_train, _ = train_test
    members = list(small_models().items())
    frozen = [(n, FeatureCheckedModel(m.fit(X_train, 1 - y_train))) for n, m in members]

    with pytest.raises(ValueError, match=r"fit on a longer period"):
        ProductionEnsemble(frozen).fit(X_train, np.zeros(len(y_train), dtype=int))
    with pytest.raises(ValueError, match=r"'lightgbm' was fitted on 12 features .*X has 11"):
        ProductionEnsemble(frozen).fit(_drop_last(X_train), y_train)
    with pytest.raises(ValueError, match=r"\(close, .*\), but X has 12 \(unnamed columns\)"):
        ProductionEnsemble(frozen).fit(X_train.to_numpy(), y_train, X_train.attrs[VERSION_ATTR])
    with pytest.raises(
        ValueError, match=r"member 'lightgbm' predicts classes \[0, 1\], but y has \[1, 2\]"
    ):
        ProductionEnsemble(frozen).fit(X_train, y_train + 1)


def _with_value(value):
    def mangle(X, y):
        X = X.copy()
        X.iloc[3, 2] = value
        return X, y

    return mangle


def _y_with(value):
    def mangle(X, y):
        return X, y.astype("float64").where(y.index != y.index[3], value)

    return mangle


def _sparse(X, y):
    return sparse.csr_matrix(X.to_numpy()), y


def _complex(X, y):
    return X.to_numpy() + 1j, y


def _text(X, y):
    X = X.astype(object)
    X.iloc[0, 0] = "high"
    return X, y


@pytest.mark.parametrize(
    ("mangle", "error", "message"),
    [
        (_with_value(np.nan), ValueError, "Input X contains NaN"),
        (_with_value(np.inf), ValueError, "Input X contains infinity"),
        (_y_with(np.nan), ValueError, "Input y contains NaN"),
        (_y_with(np.inf), ValueError, "Input y contains infinity"),
        (lambda X, y: (X, y.iloc[:-1]), ValueError, "inconsistent numbers of samples"),
        (lambda X, y: (X.iloc[:0], y.iloc[:0]), ValueError, "0 sample"),
        (lambda X, y: (X, y * 0), ValueError, "one class only"),
        (lambda X, y: (X, y + 0.5 * np.arange(len(y))), ValueError, "Unknown label type"),
        (lambda X, y: (X, np.column_stack([y, y])), ValueError, "y should be a 1d array"),
        (_sparse, TypeError, "Sparse data was passed"),
        (_complex, ValueError, "Complex data not supported"),
        (_text, ValueError, "could not convert string to float: 'high'"),
    ],
    ids=lambda case: getattr(case, "__name__", None),
)
@pytest.mark.parametrize("name", ENSEMBLES)
def test_bad_fit_input_is_refused_with_a_clear_message(
    name, mangle, error, message, make_classifier, train_test
):
    X_train, y_train, _ = train_test
    X, y = mangle(X_train, y_train)

    with pytest.raises(error, match=re.escape(message)):
        make_classifier(name).fit(X, y, feature_manager_version=X_train.attrs[VERSION_ATTR])


@pytest.mark.parametrize(("value", "message"), [(np.nan, "NaN"), (np.inf, "infinity")])
@pytest.mark.parametrize("name", ENSEMBLES)
def test_non_finite_features_are_refused_at_predict(name, value, message, fits, train_test):
    # Members would take NaN as "missing" and answer anyway; FeatureManager never makes NaN.
    _, _, X_test = train_test
    X_bad, _ = _with_value(value)(X_test, None)

    with pytest.raises(ValueError, match=f"Input X contains {message}"):
        fits[name][0].predict_proba(X_bad)


@pytest.mark.parametrize("name", ENSEMBLES)
def test_refitting_changes_nothing_and_keeps_the_parameters(name, fits, train_test):
    X_train, y_train, X_test = train_test
    ensemble, _ = fits[name]
    params = ensemble.get_params(deep=False)
    before = ensemble.predict_proba(X_test)

    refit = ensemble.fit(X_train, y_train)

    np.testing.assert_array_equal(refit.predict_proba(X_test), before)
    assert refit.get_params(deep=False) == params
    assert refit.n_features_in_ == 12


@pytest.mark.parametrize("name", ENSEMBLES)
def test_read_only_memory_and_a_column_y_are_accepted(name, make_classifier, fits, train_test):
    X_train, y_train, X_test = train_test
    read_only = X_train.to_numpy().copy()
    read_only.flags.writeable = False
    X_read_only = pd.DataFrame(read_only, columns=X_train.columns, copy=False)
    X_read_only.attrs = dict(X_train.attrs)

    with pytest.warns(DataConversionWarning):
        ensemble = make_classifier(name).fit(X_read_only, y_train.to_numpy()[:, None])

    np.testing.assert_array_equal(
        ensemble.predict_proba(X_test), fits[name][0].predict_proba(X_test)
    )


def test_a_set_pickled_before_the_voting_classifier_still_predicts(fitted_ensemble, train_test):
    """The archive holds ensembles pickled with a `prefit` flag and no feature_manager_version
    parameter; a rollback loads them with this class."""
    _, _, X_test = train_test
    state = {**fitted_ensemble.__getstate__(), "prefit": True}
    del state["feature_manager_version"]
    for learned_by_voting in ("le_", "named_estimators_"):
        state.pop(learned_by_voting)
    old = ProductionEnsemble.__new__(ProductionEnsemble)

    old.__setstate__(state)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(old.predict(X_test), fitted_ensemble.predict(X_test))
    assert not hasattr(old, "prefit")
