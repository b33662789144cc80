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

import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError

from src.registry.errors import MetadataError

SCHEMA_PATH = Path(__file__).with_name("training_metadata.schema.json")
# 3 added `tuning`, 4 `onnx`, 5 `costs`, the paired bootstrap intervals and
# `ensemble_metrics.weight_choice`; records of versions 2 to 4 still read
SCHEMA_VERSION = 5


def _iso_timestamp(text: str) -> str:
    pd.Timestamp(text)  # raises ValueError on anything that is not a timestamp
    return text


Timestamp = Annotated[str, AfterValidator(_iso_timestamp)]
Sha256 = Annotated[str, Field(pattern=r"^sha256:[0-9a-f]{64}$")]
Share = Annotated[float, Field(ge=0.0, le=1.0)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def to_dict(self) -> dict:
        """JSON-ready: undefined metrics (NaN) become null, as JSON has no NaN."""
        return self.model_dump(mode="json")


class Metrics(_Record):
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


class WeightChoice(_Record):
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


class StrategyStats(_Record):
    """A run of trading decisions, after costs (fee, half the spread, slippage) unless gross.

    Returns are compounded fractions (0.05 = +5%); trades count positions opened; hit rate and
    profit factor are over trades (each paying one entry and one exit); Sharpe and Sortino are
    per-bar figures annualised from the timeframe (365.25 days a year: crypto never closes).
    """

    gross_return: float
    net_return: float
    fee_drag: float  # gross_return - net_return
    costs_paid: float  # sum of the per-side costs paid, in fractions of the notional
    trades: Annotated[int, Field(ge=0)]
    time_in_market: Share
    avg_trade_net_return: float | None
    round_trip_cost: float
    hit_rate: Share | None
    profit_factor: float | None  # null without a losing trade
    max_drawdown: Share
    sharpe: float | None
    sortino: float | None
    skipped_at_gaps: Annotated[int, Field(ge=0)]  # decisions forced flat: next candle missing
    # Before costs, per trade: set it beside round_trip_cost to see whether an edge pays its way
    # (null in records from before version 5, and without a trade).
    avg_trade_gross_return: float | None = None


class SpreadFreeBest(_Record):
    """The best threshold pair on the out-of-fold rows when only the fee and slippage are
    charged: an edge there that is gone once half the spread is charged per side was the
    bid-ask bounce, not an edge."""

    cost_per_side: float
    entry: float | None  # null: no pair with enough trades made money even then
    exit: float | None
    net_return: float | None
    trades: Annotated[int, Field(ge=0)]


class PolicyRecord(_Record):
    """The trading policy saved with the set, and the out-of-fold figures it was chosen on."""

    entry: float | None  # null: the flat policy (no tradeable edge after costs)
    exit: float | None
    allow_short: bool
    cost_per_side: float
    min_trades: int
    objective: str
    chosen_on: str
    reason: str
    out_of_fold: StrategyStats  # in-sample for the choice: the holdout figure is the honest one
    without_spread: SpreadFreeBest | None = None  # null before version 5


class Interval(_Record):
    low: float
    high: float


class BootstrapRecord(_Record):
    samples: int
    block_length: int  # rows per block of the moving-block bootstrap
    seed: int
    level: float
    net_return: Interval
    mcc: Interval
    # Paired: each resample of holdout rows scores both sides (null before version 5).
    excess_over_buy_and_hold: Interval | None = None  # policy net minus buy-and-hold's net
    best_baseline: str | None = None
    gain_over_best_baseline: Interval | None = None  # skill metric, ensemble minus that rule


class SpreadEstimate(_Record):
    """One estimator's effective bid-ask spread of a window, as a fraction of the price (0.003 is
    0.3%). Negative: the bounce is below the window's noise (charged as 0); null: too few pairs."""

    estimator: Literal["abdi_ranaldo_2017", "roll_1984"]
    spread: float | None
    pairs: Annotated[int, Field(ge=0)]  # consecutive candles used
    skipped_at_gaps: Annotated[int, Field(ge=0)]  # pairs left out because they span a gap


class CostRecord(_Record):
    """What one side of a trade costs on the window's market, and the estimates behind it:
    cost_per_side = fee_rate + spread / 2 + slippage_rate (slippage: impact beyond the spread)."""

    window_start: Timestamp  # the candles the spread was measured on
    window_end: Timestamp
    candles: Annotated[int, Field(ge=1)]
    abdi_ranaldo: SpreadEstimate  # the main estimate
    roll: SpreadEstimate  # the cross-check
    return_autocorrelation_lag1: float | None  # of close-to-close returns, within gap-free runs
    spread_source: str  # estimated (which estimator), or config (trading.spread)
    spread: Annotated[float, Field(ge=0.0)]  # the spread charged
    fee_rate: float
    slippage_rate: float
    cost_per_side: float


class TradingCheck(_Record):
    """The saved policy on the holdout, beside buy-and-hold and staying flat."""

    policy: StrategyStats
    buy_and_hold: StrategyStats
    flat: StrategyStats
    bars_per_year: float
    bootstrap: BootstrapRecord


class TrainingInfo(_Record):
    last_retrain: Timestamp
    next_retrain: Timestamp
    training_duration: str
    training_duration_seconds: float
    cv_seconds: float
    data_period: str


class VersionControl(_Record):
    git_commit: str | None
    model_hash: Sha256 | None = None  # set by the registry when it writes the set
    previous_version: str | None = None


class DataInfo(_Record):
    source: str
    symbol: str
    timeframe: str
    start: Timestamp
    end: Timestamp
    candles: Annotated[int, Field(ge=1)]
    sha256: Sha256
    gaps: Annotated[int, Field(ge=0)]


class LabelInfo(_Record):
    horizon: Annotated[int, Field(ge=1)]
    threshold: float


class HoldoutInfo(_Record):
    start: Timestamp
    end: Timestamp
    samples: Annotated[int, Field(ge=1)]
    fraction: float


class WindowInfo(_Record):
    start: Timestamp
    end: Timestamp
    samples: Annotated[int, Field(ge=1)]


class Fold(_Record):
    test_start: Timestamp
    test_end: Timestamp


class CVInfo(_Record):
    n_splits: Annotated[int, Field(ge=2)]
    gap: Annotated[int, Field(ge=0)]
    folds: list[Fold]


class Evaluation(_Record):
    label: LabelInfo
    holdout: HoldoutInfo
    train: WindowInfo
    cv: CVInfo
    refit_on_full: bool
    skill_metric: Literal["mcc", "balanced_accuracy"]


class GateCheckRecord(_Record):
    name: str
    value: float | None
    threshold: float
    passed: bool
    reason: str


class GateRecord(_Record):
    passed: bool
    forced: bool
    reasons: list[str]
    checks: list[GateCheckRecord]


class FeatureBins(_Record):
    edges: list[float]
    shares: list[float]


Param = float | int | str | bool | None


class TrialRecord(_Record):
    number: int
    state: Literal["complete", "pruned", "failed"]
    cv_log_loss: float | None  # mean over the folds run (fewer than all when pruned)
    folds_run: int
    seconds: float | None
    params: dict[str, Param]
    error: str | None  # why a failed trial failed


class ModelTuning(_Record):
    trials: int
    completed: int
    pruned: int
    failed: int
    stopped_by: Literal["n_trials", "timeout"]
    default_cv_log_loss: float | None  # trial 0: training.models' untuned values
    best_cv_log_loss: float | None
    best_trial: int | None
    chosen_params: dict[str, Param]  # empty: no trial completed, the untuned values stay
    param_importances: dict[str, float]  # fANOVA, for the CV log loss
    trial_seconds: float  # its trials' time, summed (the studies run side by side)
    history: list[TrialRecord]


class TuningOn(_Record):
    enabled: Literal[True]
    objective: str
    sampler: str
    seed: int
    pruner: str
    n_trials: int
    timeout_minutes: float
    batch_size: int
    compute: str
    storage: str
    search_space: dict[str, dict[str, dict[str, Param | list[Param]]]]
    wall_seconds: float  # the whole search
    models: dict[Literal["lightgbm", "xgboost", "random_forest"], ModelTuning]


class TuningOff(_Record):
    enabled: Literal[False]


class OnnxRecord(_Record):
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


class TrainingMetadata(_Record):
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
