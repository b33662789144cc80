"""Small tuning runs for the tests: tiny models, three folds, a small search space."""

from __future__ import annotations

from src.config import Settings, load_settings, with_overrides

SMALL_MODELS = {
    "lightgbm": {
        "n_estimators": 20, "learning_rate": 0.1, "num_leaves": 7, "min_child_samples": 40
    },
    "xgboost": {"n_estimators": 20, "learning_rate": 0.1, "max_depth": 3, "tree_method": "hist"},
    "random_forest": {
        "n_estimators": 20, "max_depth": 5, "min_samples_leaf": 40, "max_features": "sqrt"
    },
}
SMALL_SPACE = {
    "lightgbm": {
        "learning_rate": {"type": "float", "low": 0.02, "high": 0.3, "log": True},
        "num_leaves": {"type": "int", "low": 3, "high": 15},
    },
    "xgboost": {"max_depth": {"type": "int", "low": 2, "high": 5}},
    "random_forest": {
        "min_samples_leaf": {"type": "int", "low": 20, "high": 200, "log": True},
        "max_features": {"type": "categorical", "choices": ["sqrt", 0.5, 1.0]},
    },
}


def small_tuning_settings(**tuning) -> Settings:
    return with_overrides(
        load_settings(),
        training={"seed": 5, "models": SMALL_MODELS, "cv": {"n_splits": 3, "gap": 1}},
        tuning={
            "enabled": True, "n_trials": 6, "batch_size": 3, "startup_trials": 3,
            "timeout_minutes": 10, "search_space": SMALL_SPACE, **tuning,
        },
    )  # fmt: skip


def decisions(tuning) -> dict:
    """What a study decided: every trial's parameters, state and score, and the choice."""
    return {
        name: (model["chosen_params"], [(t["params"], t["state"], t["cv_log_loss"])
                                        for t in model["history"]])
        for name, model in tuning.record["models"].items()
    }  # fmt: skip
