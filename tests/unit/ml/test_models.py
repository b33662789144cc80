"""The three classifiers are built by name with validated, seeded, thread-capped settings."""

from __future__ import annotations

import pytest

from src.config import ConfigError
from src.ml.models import build_model


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
