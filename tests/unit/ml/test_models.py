"""The three classifiers are built by name with validated, seeded, thread-capped settings."""

from __future__ import annotations

import pytest

from src.config import ConfigError, TrainingConfig, load_settings
from src.ml.models import build_model, validate_model_params


@pytest.mark.parametrize(
    ("name", "misspelt"),
    [("lightgbm", "num_leavs"), ("xgboost", "max_dept"), ("random_forest", "max_dept")],
)
def test_a_misspelt_hyperparameter_is_a_config_error(name, misspelt):
    with pytest.raises(ConfigError, match=rf"training\.models\.{name} .*\['{misspelt}'\]"):
        build_model(name, {misspelt: 3}, seed=0)


def test_an_unknown_model_lists_the_valid_ones():
    with pytest.raises(ValueError, match=r"valid models: \['lightgbm', 'xgboost', "):
        build_model("catboost", {}, seed=0)


@pytest.mark.parametrize("name", ["lightgbm", "xgboost", "random_forest"])
def test_models_are_seeded_and_single_threaded_by_default(name):
    params = build_model(name, {}, seed=123).get_params()
    assert params["random_state"] == 123
    assert params["n_jobs"] == 1


def _training_with(name: str, **params) -> TrainingConfig:
    """The shipped training config with training.models.<name> edited."""
    training = load_settings().training.model_dump()
    training["models"][name].update(params)
    return TrainingConfig.model_validate(training)


def test_the_shipped_hyperparameters_are_valid():
    validate_model_params(load_settings().training)


BAD_HYPERPARAMETERS = [
    ("lightgbm", {"n_estimators": -5}, r"lightgbm\.n_estimators: -5 is not a number of trees"),
    ("xgboost", {"n_estimators": -5}, r"xgboost\.n_estimators: -5 is not a number of trees"),
    ("random_forest", {"n_estimators": "many"}, r"n_estimators: 'many' is not a number of trees"),
    (
        "lightgbm",
        {"learning_rate": -0.1},
        r"lightgbm\.learning_rate: -0\.1 is refused by LGBMClassifier: Check failed: "
        r"\(learning_rate\) > \(0\.0\); fix it in config/core/base\.yaml$",
    ),
    (
        "xgboost",
        {"learning_rate": -0.1},
        r"xgboost\.learning_rate: -0\.1 is refused by XGBClassifier: .*greater equal to 0",
    ),
    (
        "xgboost",
        {"tree_method": "bogus"},
        r"xgboost\.tree_method: 'bogus' is refused by XGBClassifier: .*valid values are",
    ),
    (
        "lightgbm",
        {"num_leaves": 1},
        r"lightgbm\.num_leaves: 1 is refused by LGBMClassifier: .*\(num_leaves\) > \(1\)",
    ),
    (
        "random_forest",
        {"max_features": "bogus"},
        r"random_forest\.max_features: 'bogus' is refused by RandomForestClassifier: The "
        r"'max_features' parameter",
    ),
    (
        "random_forest",
        {"bootstrap": False, "max_samples": 0.5},
        r"training\.models\.random_forest: RandomForestClassifier refuses these hyperparameters "
        r"together: .*max_sample",
    ),
    (
        "random_forest",
        {"random_state": 7},
        r"random_forest\.random_state: the trainer sets this for every model from "
        r"training\.seed, .*set training\.seed instead",
    ),
    ("lightgbm", {"seed": 7}, r"lightgbm\.seed: .*from training\.seed"),
    ("xgboost", {"nthread": 2}, r"xgboost\.nthread: .*set training\.n_jobs instead"),
    ("lightgbm", {"n_jobs": 2}, r"lightgbm\.n_jobs: .*set training\.n_jobs instead"),
    ("lightgbm", {"deterministic": False}, r"lightgbm\.deterministic: fixed by src/ml/models"),
]


@pytest.mark.parametrize(("name", "params", "message"), BAD_HYPERPARAMETERS)
def test_a_refused_hyperparameter_value_names_the_field(name, params, message):
    with pytest.raises(ConfigError, match=message):
        validate_model_params(_training_with(name, **params))
