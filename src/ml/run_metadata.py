"""The training_metadata.json record of one run (the registry adds file hashes and versions)."""

from __future__ import annotations

import platform
from datetime import datetime, timedelta
from importlib.metadata import version as package_version

import pandas as pd
import xgboost

from src.config import BASE_CONFIG_PATH, MODEL_NAMES, THRESHOLDS_PATH, ScheduleConfig, Settings
from src.data.schema import find_gaps
from src.data.sources import UNKNOWN_SYMBOL, CandleSet
from src.features.feature_manager import FEATURE_MANAGER_VERSION
from src.ml.gate import GateResult
from src.ml.monitoring import feature_reference
from src.ml.training import TrainingRun
from src.registry.metadata import SCHEMA_VERSION, TrainingMetadata

PHASE = "Phase 19"
SEED_METRIC_KEYS = ("f1_score", "cv_f1_mean", "accuracy", "precision", "recall")


def next_retrain(after: datetime, schedule: ScheduleConfig) -> datetime:
    """The first scheduled slot (weekday at hour_utc, UTC) strictly after `after`."""
    slot = after.replace(hour=schedule.hour_utc, minute=0, second=0, microsecond=0)
    slot += timedelta(days=(schedule.weekday - slot.weekday()) % 7)
    return slot if slot > after else slot + timedelta(days=7)


def _iso(moment) -> str:
    return pd.Timestamp(moment).isoformat()


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(round(seconds)), 60)
    return f"{minutes}m{secs:02d}s"


def library_versions() -> dict[str, str]:
    names = ("numpy", "pandas", "scikit-learn", "lightgbm", "scipy", "ccxt")
    return {
        "python": platform.python_version(),
        **{name: package_version(name) for name in names},
        # Installed as `xgboost` or `xgboost-cpu` (SPEC §12), imported as xgboost either way:
        # the module's own version is the one that trained.
        "xgboost": xgboost.__version__,
    }


def _evaluation(run: TrainingRun, settings: Settings) -> dict:
    index, split = run.labels.index, run.split
    return {
        # The threshold the labels were made with: round_trip recorded as the number it was.
        "label": {"horizon": settings.training.label.horizon, "threshold": run.label_threshold},
        "holdout": {
            "start": _iso(index[split.holdout_start]),
            "end": _iso(index[-1]),
            "samples": split.n_rows - split.holdout_start,
            "fraction": settings.training.holdout_fraction,
        },
        "train": {
            "start": _iso(index[0]),
            "end": _iso(index[split.train_end - 1]),
            "samples": split.train_end,
        },
        "cv": {
            "n_splits": settings.training.cv.n_splits,
            "gap": settings.training.cv.gap,
            "folds": [
                {"test_start": _iso(index[start]), "test_end": _iso(index[end - 1])}
                for start, end in run.cv.folds
            ],
        },
        "refit_on_full": run.refit_on_full,
        "skill_metric": settings.quality_gate.skill_metric,
    }


def _data(candle_set: CandleSet, data_sha256: str) -> dict:
    candles = candle_set.candles
    return {
        "source": candle_set.source,
        "symbol": candle_set.symbol,
        "timeframe": candle_set.timeframe,
        "start": _iso(candles.index[0]),
        "end": _iso(candles.index[-1]),
        "candles": len(candles),
        "sha256": data_sha256,
        "gaps": len(find_gaps(candles, candle_set.timeframe)),
    }


def _notes(candle_set: CandleSet, run: TrainingRun) -> str:
    parts = [
        "f1_score/accuracy/precision/recall: chronological holdout (evaluation.holdout); "
        "cv_*: purged TimeSeriesSplit folds of the training window."
    ]
    if candle_set.source == "sample":
        parts.append(
            f"Trained on the shipped sample candles ({candle_set.symbol} {candle_set.timeframe}),"
            " not BTC/JPY: not for live trading."
        )
    if candle_set.source.startswith("file:"):
        parts.append(_file_note(candle_set))
    if run.refit_on_full:
        parts.append(
            "refit_on_full: the shipped models were refitted on train+holdout after "
            "scoring, so the holdout figures describe earlier fits."
        )
    return " ".join(parts)


def _file_note(candle_set: CandleSet) -> str:
    timeframe = (
        f"data.timeframe {candle_set.timeframe} is read off the file's timestamps (their most "
        "common step)."
    )
    if candle_set.symbol == UNKNOWN_SYMBOL:
        return f"{timeframe} data.symbol is unknown: the file holds none and no --symbol was given."
    return (
        f"{timeframe} data.symbol {candle_set.symbol} is what --symbol asserted; the file "
        "itself holds no symbol."
    )


def build_metadata(
    run: TrainingRun,
    candle_set: CandleSet,
    settings: Settings,
    gate: GateResult,
    started_at: datetime,
    duration_s: float,
    git_commit: str | None,
    tuning: dict,
) -> TrainingMetadata:
    """Everything but file hashes, model_hash and previous_version, which the registry adds.

    `tuning` is the hyperparameter search's record; `settings` hold the parameters it chose."""
    candles = candle_set.candles
    period_days = (candles.index[-1] - candles.index[0]) / pd.Timedelta(days=1)
    model_metrics = {
        name: {**run.model_metrics[name], "fit_seconds": run.fit_seconds[name]}
        for name in MODEL_NAMES
    }
    record = {
        "schema_version": SCHEMA_VERSION,
        "created_at": _iso(started_at),
        "phase": PHASE,
        "mlops_version": f"v{package_version('bitbank-mlops')}",
        "feature_manager_version": FEATURE_MANAGER_VERSION,
        "feature_names": list(run.features.columns),
        "training_samples": len(run.labels) if run.refit_on_full else run.split.train_end,
        "validation_method": "TimeSeriesSplit",
        "model_metrics": model_metrics,
        "ensemble_metrics": run.ensemble_metrics,
        "baseline_metrics": run.baselines,
        "in_sample_train_metrics": run.in_sample_train_metrics,
        "policy": run.policy.record.to_dict(),
        "trading_check": run.trading.record.to_dict(),
        "tuning": tuning,
        # As configured, plus what every builder sets from training.* (the rest: defaults).
        "hyperparameters": {
            name: {
                **getattr(settings.training.models, name),
                "random_state": settings.training.seed,
                "n_jobs": settings.training.n_jobs,
            }
            for name in MODEL_NAMES
        },
        "training_info": {
            "last_retrain": _iso(started_at),
            "next_retrain": _iso(next_retrain(started_at, settings.schedule)),
            "training_duration": _duration(duration_s),
            "training_duration_seconds": round(duration_s, 3),
            "cv_seconds": round(run.cv_seconds, 3),
            "data_period": f"{period_days:.0f} days",
        },
        "version_control": {"git_commit": git_commit},
        "config_integration": {
            "base_config": str(BASE_CONFIG_PATH),
            "thresholds": str(THRESHOLDS_PATH),
            "feature_manager": "src/features/feature_manager.py",
        },
        "notes": _notes(candle_set, run),
        "data": _data(candle_set, run.data_sha256),
        "random_seed": settings.training.seed,
        "library_versions": library_versions(),
        "evaluation": _evaluation(run, settings),
        "gate": gate.to_dict(),
        # Drift is measured against the rows the shipped models were fitted on.
        "feature_reference": feature_reference(
            run.features if run.refit_on_full else run.features.iloc[: run.split.train_end]
        ),
        "onnx": run.onnx.record,
        "costs": run.costs.record.to_dict(),
    }
    return TrainingMetadata.from_dict(record)
