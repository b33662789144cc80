"""training_metadata.json as a typed record: validated on every write and read, canonical bytes.

`TrainingMetadata` keeps every key of the seed's example with its meaning and type and adds what
honesty needs. Its JSON Schema (training_metadata.schema.json, for readers in other languages)
is generated from these classes; a test keeps the committed file equal to the generated one.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError

from src.registry.errors import MetadataError
from src.registry.record import Record, Sha256, Share, Timestamp
from src.registry.trading_record import CostRecord, PolicyRecord, TradingCheck
from src.registry.tuning_record import TuningOff, TuningOn

SCHEMA_PATH = Path(__file__).with_name("training_metadata.schema.json")
# 3 added `tuning`, 4 `onnx`, 5 `costs`, the paired bootstrap intervals and
# `ensemble_metrics.weight_choice`; records of versions 2 to 4 still read
SCHEMA_VERSION = 5


class Metrics(Record):
    """Classification metrics on one set of rows (predicting up when P(up) > 0.5).

    f1_score, precision and recall are support-weighted over both classes (the original code's
    average="weighted"); the *_up fields are the up class's own.
    """

    f1_score: Share
    accuracy: Share
    precision: Share
    recall: Share
    f1_up: Share
    precision_up: Share
    recall_up: Share
    mcc: Annotated[float, Field(ge=-1.0, le=1.0)]
    balanced_accuracy: Share
    roc_auc: Share | None  # undefined (null) when the rows hold one class
    log_loss: Annotated[float, Field(ge=0.0)]


class ModelMetrics(Metrics):
    """A member's holdout metrics, the mean and spread over the purged CV folds, its fit time."""

    cv_f1_mean: float
    cv_f1_std: float
    cv_accuracy_mean: float
    cv_accuracy_std: float
    cv_precision_mean: float
    cv_precision_std: float
    cv_recall_mean: float
    cv_recall_std: float
    cv_f1_up_mean: float
    cv_f1_up_std: float
    cv_precision_up_mean: float
    cv_precision_up_std: float
    cv_recall_up_mean: float
    cv_recall_up_std: float
    cv_mcc_mean: float
    cv_mcc_std: float
    cv_balanced_accuracy_mean: float
    cv_balanced_accuracy_std: float
    cv_roc_auc_mean: float | None
    cv_roc_auc_std: float | None
    cv_log_loss_mean: float
    cv_log_loss_std: float
    fit_seconds: Annotated[float, Field(ge=0.0)]


class WeightChoice(Record):
    """How the ensemble weights were chosen: the log loss of the blended P(up) on `rows`
    out-of-fold rows of the purged CV of the training window (`chosen_on`), at the chosen
    weights and at equal weights. In-sample for the choice; the holdout played no part."""

    chosen_on: str
    rows: Annotated[int, Field(ge=1)]
    log_loss: Annotated[float, Field(ge=0.0)]
    equal_weights_log_loss: Annotated[float, Field(ge=0.0)]
    optimiser: str
    iterations: Annotated[int, Field(ge=0)]
    converged: bool  # False: the optimiser failed and the weights are equal


class EnsembleMetrics(Metrics):
    weights: dict[str, float]
    weight_choice: WeightChoice | None = None  # None: a record from before schema version 5


class TrainingInfo(Record):
    last_retrain: Timestamp
    next_retrain: Timestamp
    training_duration: str
    training_duration_seconds: float
    cv_seconds: float
    data_period: str


class VersionControl(Record):
    git_commit: str | None
    model_hash: Sha256 | None = None  # set by the registry when it writes the set
    previous_version: str | None = None


class DataInfo(Record):
    source: str
    symbol: str
    timeframe: str
    start: Timestamp
    end: Timestamp
    candles: Annotated[int, Field(ge=1)]
    sha256: Sha256
    gaps: Annotated[int, Field(ge=0)]


class LabelInfo(Record):
    horizon: Annotated[int, Field(ge=1)]
    threshold: float


class HoldoutInfo(Record):
    start: Timestamp
    end: Timestamp
    samples: Annotated[int, Field(ge=1)]
    fraction: float


class WindowInfo(Record):
    start: Timestamp
    end: Timestamp
    samples: Annotated[int, Field(ge=1)]


class Fold(Record):
    test_start: Timestamp
    test_end: Timestamp


class CVInfo(Record):
    n_splits: Annotated[int, Field(ge=2)]
    gap: Annotated[int, Field(ge=0)]
    folds: list[Fold]


class Evaluation(Record):
    label: LabelInfo
    holdout: HoldoutInfo
    train: WindowInfo
    cv: CVInfo
    refit_on_full: bool
    skill_metric: Literal["mcc", "balanced_accuracy"]


class GateCheckRecord(Record):
    name: str
    value: float | None
    threshold: float
    passed: bool
    reason: str


class GateRecord(Record):
    passed: bool
    forced: bool
    reasons: list[str]
    checks: list[GateCheckRecord]


class FeatureBins(Record):
    edges: list[float]
    shares: list[float]


class OnnxRecord(Record):
    """The ONNX copies of the set: exported (files in file_hashes) or refused (pickle-only).

    At export each ONNX model ran on every holdout row; max_abs_diff is the largest
    |P(up) ONNX - P(up) pickle| per member and for the ensemble, and must be <= bound.
    """

    status: Literal["exported", "pickle-only"]
    reason: str
    bound: float
    rows_compared: Annotated[int, Field(ge=0)]
    max_abs_diff: dict[str, float | None]  # null: not a number (the export was refused)
    opset: dict[str, int]
    converters: dict[str, str]


class TrainingMetadata(Record):
    """The whole record; the registry fills file_hashes, model_files and version_control."""

    schema_version: Literal[2, 3, 4, 5] = SCHEMA_VERSION
    created_at: Timestamp
    phase: str
    mlops_version: str
    feature_manager_version: str
    feature_names: Annotated[list[str], Field(min_length=12, max_length=12)]
    training_samples: Annotated[int, Field(ge=1)]
    validation_method: str
    model_metrics: dict[Literal["lightgbm", "xgboost", "random_forest"], ModelMetrics]
    ensemble_metrics: EnsembleMetrics
    baseline_metrics: dict[Literal["always_up", "majority_class", "momentum", "reversal"], Metrics]
    # Scores on the rows the models were fitted on: in-sample, for overfitting at a glance only.
    in_sample_train_metrics: dict[str, Metrics]
    policy: PolicyRecord
    trading_check: TradingCheck
    tuning: TuningOn | TuningOff | None = None  # None: a version 2 record, from before tuning
    hyperparameters: dict[str, dict[str, float | int | str | bool | None]]
    training_info: TrainingInfo
    version_control: VersionControl
    config_integration: dict[str, str]
    notes: str
    data: DataInfo
    random_seed: int
    library_versions: dict[str, str]
    evaluation: Evaluation
    gate: GateRecord
    feature_reference: dict[str, FeatureBins]
    onnx: OnnxRecord | None = None  # None: a record from before ONNX export (pickle-only set)
    costs: CostRecord | None = None  # None: before version 5, fee + slippage only, no spread
    file_hashes: dict[str, Sha256] = {}
    model_files: dict[str, str] = {}

    @classmethod
    def from_dict(cls, data: dict) -> TrainingMetadata:
        return cls.model_validate(nan_to_none(data))


def nan_to_none(value):
    # An undefined metric (e.g. ROC-AUC on one class) is NaN in numpy and null in JSON.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: nan_to_none(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [nan_to_none(item) for item in value]
    return value


def generated_schema() -> dict:
    return TrainingMetadata.model_json_schema(mode="serialization")


def _problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'/'.join(str(part) for part in error['loc']) or '(top)'}: {error['msg']}"
        for error in exc.errors()[:5]
    )


def metadata_to_bytes(metadata: TrainingMetadata) -> bytes:
    """Canonical JSON (sorted keys) so equal metadata gives equal bytes and hashes."""
    text = json.dumps(metadata.to_dict(), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def metadata_from_bytes(data: bytes, source: str) -> TrainingMetadata:
    try:
        loaded = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{source} is not valid JSON: {exc}; restore it with rollback") from exc
    if not isinstance(loaded, dict):
        raise MetadataError(f"{source} must hold a JSON object")
    # What the registry adds when it writes a set must be there in every stored record.
    missing = [key for key in ("file_hashes", "model_files") if key not in loaded]
    if missing or not loaded.get("version_control", {}).get("model_hash"):
        raise MetadataError(
            f"{source} lacks {missing or ['version_control.model_hash']}: it was not written by "
            "the registry; restore the set with rollback or retrain"
        )
    try:
        return TrainingMetadata.from_dict(loaded)
    except ValidationError as exc:
        raise MetadataError(f"{source} breaks the metadata schema: {_problems(exc)}") from exc
