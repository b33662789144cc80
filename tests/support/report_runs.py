"""Small trained runs for the report's tests: tiny models, real or generated candles, seconds."""

from __future__ import annotations

from datetime import UTC, datetime

from src.compute import Compute
from src.config import load_settings, with_overrides
from src.data.sources import CandleSet
from src.ml.gate import evaluate_gate
from src.ml.monitoring import HealthReport
from src.ml.run_metadata import build_metadata
from src.ml.training import TrainingRun, train_models
from src.registry.metadata import TrainingMetadata
from src.tuning import tune
from tests.support.tuning_runs import small_tuning_settings

TINY_MODELS = {
    "lightgbm": {"n_estimators": 15, "num_leaves": 7, "min_child_samples": 40},
    "xgboost": {"n_estimators": 15, "max_depth": 3, "tree_method": "hist"},
    "random_forest": {"n_estimators": 15, "max_depth": 6, "min_samples_leaf": 40},
}
PSI = {"rsi_14": 0.031, "volume": 0.187, "zscore": 0.412}
DRIFT_PROBLEM = "feature drift: PSI > 0.25 for zscore 0.41"


def trained_run(
    candle_set: CandleSet, tuned: bool = False
) -> tuple[TrainingRun, TrainingMetadata]:
    """A run with tiny models and 3 CV folds, and its metadata as the CLI would record it;
    `tuned`: after a small real search (4 trials per model), so the report shows one."""
    if tuned:
        settings = small_tuning_settings(n_trials=4, batch_size=2, startup_trials=2)
    else:
        settings = with_overrides(
            load_settings(),
            training={"models": TINY_MODELS, "cv": {"n_splits": 3, "gap": 1}},
            tuning={"enabled": False},
        )
    tuning = tune(settings, candle_set.candles, Compute(), progress=lambda _: None)
    run = train_models(candle_set, tuning.settings, progress=lambda _: None)
    gate = evaluate_gate(
        run.skill, None, run.money, settings.quality_gate
    )
    metadata = build_metadata(
        run, candle_set, tuning.settings, gate, datetime.now(UTC), 1.0, None, tuning.record
    )
    return run, metadata


def dry_run_health() -> HealthReport:
    """What a dry run reports: PSI per feature (ok, watch, alert) and the problem it found."""
    return HealthReport(
        age_days=2.5, newest_rows=640, newest_metrics=None, psi=PSI, problems=[DRIFT_PROBLEM]
    )
