"""The one typed configuration schema: base.yaml and thresholds.yaml, read once at the CLI edge."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

REPO_ROOT = Path(__file__).resolve().parent.parent
BASE_CONFIG_PATH = Path("config/core/base.yaml")
THRESHOLDS_PATH = Path("config/core/thresholds.yaml")
MODEL_NAMES = ("lightgbm", "xgboost", "random_forest")


class ConfigError(ValueError):
    """A configuration file is missing, unreadable or holds an invalid value."""


class _Strict(BaseModel):
    # No setting means anything at infinity or NaN (a budget of `inf` minutes would pass every
    # check, run, then fail writing the metadata), so they are refused with the config.
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class DataConfig(_Strict):
    source: str = "bitbank"
    symbol: str = "BTC/JPY"
    timeframe: str = Field("15m", pattern=r"^[1-9][0-9]*(m|h|d|w)$")
    days: int = Field(365, gt=0)
    cache_dir: Path = Path("data/cache")
    request_timeout_s: float = Field(10.0, gt=0)
    max_retries: int = Field(4, ge=0)


# A label threshold that is the window's own round-trip cost (2 x the cost per side, spread
# estimated from the training window): "up" then means up by more than a trade costs.
ROUND_TRIP = "round_trip"


class LabelConfig(_Strict):
    horizon: int = Field(1, ge=1)
    threshold: Annotated[float, Field(ge=0.0, lt=1.0)] | Literal["round_trip"] = 0.0


class CVConfig(_Strict):
    n_splits: int = Field(5, ge=2)
    gap: int = Field(1, ge=0)


class ModelParams(_Strict):
    # Required: a model section that went missing must not silently train library defaults.
    # bool first: in a union pydantic would otherwise read `bootstrap: false` as 0.0.
    lightgbm: dict[str, bool | float | int | str]
    xgboost: dict[str, bool | float | int | str]
    random_forest: dict[str, bool | float | int | str | None]


class TrainingConfig(_Strict):
    seed: int = Field(42, ge=0, lt=2**32)
    n_jobs: int = Field(1, ge=1)
    holdout_fraction: float = Field(0.2, gt=0.0, lt=0.5)
    refit_on_full: bool = False
    label: LabelConfig = LabelConfig()
    cv: CVConfig = CVConfig()
    models: ModelParams

    @model_validator(mode="after")
    def _purge_covers_horizon(self) -> TrainingConfig:
        # A gap shorter than the label horizon lets a training label see the first test bars.
        if self.cv.gap < self.label.horizon:
            raise ValueError(
                f"training.cv.gap ({self.cv.gap}) must be >= training.label.horizon "
                f"({self.label.horizon}) so no training label overlaps a test bar"
            )
        return self


class TradingConfig(_Strict):
    fee_rate: float = Field(0.0012, ge=0.0, lt=0.1)  # per side
    # The full bid-ask spread as a fraction of the price; "auto" estimates it from the training
    # window's candles (src/ml/costs.py). Half of it is charged per side.
    spread: Literal["auto"] | Annotated[float, Field(ge=0.0, lt=0.1)] = "auto"
    slippage_rate: float = Field(0.0001, ge=0.0, lt=0.1)  # per side, impact beyond the spread
    allow_short: bool = False
    min_trades: int = Field(20, ge=1)  # on the out-of-fold rows, for a policy to be chosen
    bootstrap_samples: int = Field(1000, ge=100)


class _Range(_Strict):
    low: float
    high: float
    log: bool = False  # sample on a log scale (learning rates, leaf counts)

    @model_validator(mode="after")
    def _ordered(self):
        if not self.low < self.high or (self.log and self.low <= 0):
            raise ValueError(
                f"needs low < high (and low > 0 with log: true); got {self.low}, {self.high}"
            )
        return self


class IntRange(_Range):
    type: Literal["int"]
    low: int
    high: int


class FloatRange(_Range):
    type: Literal["float"]


class Choice(_Strict):
    type: Literal["categorical"]
    choices: list[bool | float | int | str | None] = Field(min_length=2)


SearchDimension = Annotated[IntRange | FloatRange | Choice, Field(discriminator="type")]


class SearchSpace(_Strict):
    # Required like training.models: `{}` keeps a model at its base.yaml hyperparameters.
    lightgbm: dict[str, SearchDimension]
    xgboost: dict[str, SearchDimension]
    random_forest: dict[str, SearchDimension]


class TuningConfig(_Strict):
    enabled: bool = False
    n_trials: int = Field(20, ge=1)  # per model, the untuned defaults (trial 0) included
    # The whole search; then the trials not finished are cut (in process, the running one ends).
    timeout_minutes: float = Field(24.0, gt=0)
    # Trials asked together and run in parallel; the sampler sees only earlier batches, so the
    # chosen parameters do not depend on the number of workers.
    batch_size: int = Field(4, ge=1)
    startup_trials: int = Field(8, ge=1)  # random trials before TPE, completed before pruning
    storage: str | None = None  # an Optuna storage URL (sqlite:///..., postgresql://...)
    search_space: SearchSpace


# Where parallel work runs when --scheduler is not given: a Dask scheduler's address.
SCHEDULER_ENV = "DASK_SCHEDULER_ADDRESS"


class ComputeConfig(_Strict):
    workers: int = Field(1, ge=1)  # 1: in this process; N: a LocalCluster of N processes
    # Per LocalCluster worker. The least in which a worker ran six trials of a year of 15m bars
    # one after another: their peak over the 95% at which the nanny kills it, rounded up to
    # 16 MiB (bench/worker_memory.py; a test keeps this equal to its JSON). Below it every trial
    # fails; a long search may want more (the default is 1024).
    memory_limit_mib: int = Field(1024, ge=368)
    # How long a scheduler may take to answer, and a cluster may be without any worker.
    cluster_timeout_s: float = Field(10.0, gt=0)


class ScheduleConfig(_Strict):
    weekday: int = Field(0, ge=0, le=6)
    hour_utc: int = Field(9, ge=0, le=23)


class LimitsConfig(_Strict):
    # Peak memory a training run may need, checked against the estimate in src/ml/memory.py
    # before anything is fitted (the production box has 1 GiB).
    max_rss_mib: int = Field(1024, gt=0)


class RetentionConfig(_Strict):
    """What stays in the models directory (the weekly workflow commits it): see
    src/registry/retention.py for what is never removed."""

    keep_promoted: int = Field(8, ge=1)  # the newest promoted sets kept in archive/
    candidate_days: float = Field(28, gt=0)  # rejected candidates older than this are removed


class MoneyCheckConfig(_Strict):
    enabled: bool = True
    min_excess_return: float = 0.0  # holdout net return minus buy-and-hold's net return
    min_trades: int = Field(10, ge=0)  # on the holdout


class QualityGateConfig(_Strict):
    min_f1: float = Field(0.6, ge=0.0, le=1.0)
    skill_metric: Literal["mcc", "balanced_accuracy"] = "mcc"
    min_gain_over_best_baseline: float = 0.01
    max_drop_vs_production: float = Field(0.02, ge=0.0)
    money: MoneyCheckConfig = MoneyCheckConfig()


class RetirementConfig(_Strict):
    enabled: bool = True
    # Restore the best never-retired archived set when the live one is retired and the week's
    # candidate failed the gate; off: one week is too few bars to tell which of several sets
    # is good rather than lucky, so the weekly job names it and a person decides.
    auto_restore: bool = False


class DegradationConfig(_Strict):
    max_metric_drop: float = Field(0.05, ge=0.0)
    psi_warning: float = Field(0.1, gt=0.0)
    psi_alert: float = Field(0.25, gt=0.0)
    max_model_age_days: float = Field(14, gt=0)
    min_samples: int = Field(200, ge=1)
    retirement: RetirementConfig = RetirementConfig()


class AlertConfig(_Strict):
    timeout_s: float = Field(5.0, gt=0)
    max_retries: int = Field(3, ge=0)
    backoff_s: float = Field(1.0, ge=0)


class Settings(_Strict):
    """Every section is required, so an empty or truncated YAML file is an error, not defaults."""

    data: DataConfig
    training: TrainingConfig
    trading: TradingConfig
    tuning: TuningConfig
    compute: ComputeConfig
    schedule: ScheduleConfig
    limits: LimitsConfig
    retention: RetentionConfig
    quality_gate: QualityGateConfig
    degradation: DegradationConfig
    alerts: AlertConfig


def _read_yaml(path: Path) -> dict:
    try:
        loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"config file {path} not found; restore it from git") from exc
    except IsADirectoryError as exc:
        raise ConfigError(
            f"config file {path} is a directory, not a YAML file; restore the file from git"
        ) from exc
    except OSError as exc:
        raise ConfigError(f"config file {path} cannot be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"config file {path} is not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset "
            f"{exc.start}); save it as UTF-8"
        ) from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
    if loaded is None:
        return {}
    if not isinstance(loaded, dict):
        raise ConfigError(f"config file {path} must hold a mapping, got {type(loaded).__name__}")
    return loaded


def load_settings(root: Path = REPO_ROOT) -> Settings:
    """Read base.yaml and thresholds.yaml under `root` into one validated `Settings`."""
    base_path, thresholds_path = root / BASE_CONFIG_PATH, root / THRESHOLDS_PATH
    base, thresholds = _read_yaml(base_path), _read_yaml(thresholds_path)
    if overlap := sorted(set(base) & set(thresholds)):
        raise ConfigError(
            f"section(s) {overlap} appear in both {base_path} and {thresholds_path}; "
            "keep each section in one file"
        )
    merged = {**base, **thresholds}
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(
            f"invalid configuration in {base_path} / {thresholds_path}: {validation_problems(exc)}"
        ) from exc


def validation_problems(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error['loc'])}: "
        f"{error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors()
    )


def with_overrides(settings: Settings, **sections: dict) -> Settings:
    """A re-validated copy of `settings` with some fields replaced, e.g. data={"days": 30}."""
    merged = settings.model_dump()
    for section, values in sections.items():
        merged[section].update({key: value for key, value in values.items() if value is not None})
    try:
        return Settings.model_validate(merged)
    except ValidationError as exc:
        raise ConfigError(f"invalid command-line option: {validation_problems(exc)}") from exc
