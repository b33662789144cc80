"""What both CLIs share: common options, settings with overrides, and exit codes.

Exit codes: 0 promoted (or dry-run healthy), 3 rejected by the gate or degraded,
2 bad input, config or environment (bad candles, config, missing or tampered model files, a
full, read-only or failing disk, a window too large for limits.max_rss_mib), 1 anything else.
"""

from __future__ import annotations

import argparse
import os
import sys
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from threadpoolctl import threadpool_limits

from src.alerts.discord import send_alert, webhook_url_from_env
from src.atomic import ENVIRONMENT_ERRNOS, StorageError, atomic_write_bytes
from src.compute import (
    SCHEDULER_ENV,
    ComputeError,
    check_local_workers,
    open_compute,
    parse_address,
)
from src.config import AlertConfig, ConfigError, Settings, load_settings, with_overrides
from src.data.errors import CandleValidationError, DataSourceError
from src.data.schema import timeframe_step
from src.features.errors import FeatureError
from src.ml.errors import MemoryBudgetError, TrainingDataError
from src.ml.memory import check_memory
from src.ml.models import validate_model_params
from src.ml.monitoring import assess_health
from src.registry.errors import (
    IntegrityError,
    LockTimeoutError,
    MetadataError,
    ModelsDirError,
    NoModelsError,
)
from src.registry.paths import REPORT
from src.registry.signing import SIGNING_KEY_ENV, SigningKey
from src.registry.store import Registry
from src.replay import ReplayDataError, ReplayStoreError, check_out_dir, run_replay
from src.reports.console import health_summary, run_summary, status_table
from src.reports.html_report import render_replay_report
from src.reports.replay_console import replay_summary, replay_table
from src.retrain import load_candles, retrain
from src.tuning import TuningError, check_tuning

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_REJECTED = 0, 1, 2, 3
BAD_INPUT_ERRORS = (
    ConfigError,
    CandleValidationError,
    ComputeError,
    DataSourceError,
    FeatureError,
    NoModelsError,
    IntegrityError,
    ReplayDataError,
    ReplayStoreError,
    MetadataError,
    ModelsDirError,
    TrainingDataError,
    MemoryBudgetError,
    StorageError,
    TuningError,
)


def add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        help="bitbank, sample, or a CSV/Parquet file path (default: data.source in base.yaml)",
    )
    parser.add_argument("--days", type=int, help="days of candles to fetch (bitbank)")
    parser.add_argument("--symbol", help="market symbol, e.g. BTC/JPY")
    parser.add_argument("--timeframe", help="candle timeframe, e.g. 15m")
    parser.add_argument("--seed", type=int, help="random seed for every model")
    parser.add_argument(
        "--force",
        action="store_true",
        help="promote even if the quality gate rejects (recorded in metadata)",
    )
    parser.add_argument(
        "--force-memory",
        action="store_true",
        help="train even if the window's estimated peak memory is above limits.max_rss_mib",
    )
    tuning = parser.add_argument_group("hyperparameter tuning (default: tuning.* in base.yaml)")
    tuning.add_argument(
        "--tune",
        action=argparse.BooleanOptionalAction,
        help="search hyperparameters with Optuna before training (--no-tune: base.yaml's)",
    )
    tuning.add_argument("--tune-trials", type=int, metavar="N", help="trials per model")
    tuning.add_argument(
        "--tune-minutes", type=float, metavar="M", help="time budget of the search, in minutes"
    )
    tuning.add_argument(
        "--workers",
        type=int,
        metavar="N",
        help="run trials on N local worker processes (1: in this process)",
    )
    tuning.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"run trials on the Dask cluster at ADDRESS (or set {SCHEDULER_ENV})",
    )


def _models_dir(value: str) -> Path:
    # Path("") is the current directory: a forgotten value would promote into it.
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty; name a directory, e.g. models")
    return Path(value)


def add_models_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        type=_models_dir,
        default=Path("models"),
        help="root holding training/, production/, archive/ (default: models)",
    )


def signing_key_from_env() -> SigningKey | None:
    return SigningKey.from_text(os.environ.get(SIGNING_KEY_ENV))


def registry_from(args: argparse.Namespace) -> Registry:
    """The registry of --models-dir, signing and verifying with MODEL_SIGNING_KEY if it is set."""
    return Registry(args.models_dir, signing_key=signing_key_from_env())


def settings_from(args: argparse.Namespace) -> Settings:
    settings = with_overrides(
        load_settings(),
        data={
            "source": args.source,
            "days": args.days,
            "symbol": args.symbol,
            "timeframe": args.timeframe,
        },
        training={"seed": args.seed},
        tuning={
            "enabled": args.tune,
            "n_trials": args.tune_trials,
            "timeout_minutes": args.tune_minutes,
        },
        compute={"workers": args.workers},
    )
    validate_model_params(settings.training)  # before any candles are fetched
    if settings.tuning.enabled:
        check_tuning(settings)
    return settings


def compute_from(args: argparse.Namespace, settings: Settings, parallel: bool = True):
    """Where parallel work runs: --scheduler or DASK_SCHEDULER_ADDRESS, else compute.workers.

    Both are judged first (an address's form, local workers against the CPUs and
    limits.max_rss_mib); with nothing to run in parallel (`parallel` False) no cluster is
    started or connected and the work runs in this process."""
    config = settings.compute
    address = args.scheduler or os.environ.get(SCHEDULER_ENV) or None
    if address:
        parse_address(address)
    else:
        check_local_workers(config.workers, config.memory_limit_mib, settings.limits.max_rss_mib)
    if not parallel:
        if address or config.workers > 1:
            print("compute: nothing runs in parallel with tuning off; no cluster is used")
        return open_compute()
    return open_compute(
        config.workers, config.memory_limit_mib, address, config.cluster_timeout_s
    )


def bitbank_api_url_from_env() -> str | None:
    """BITBANK_API_URL, when set and not empty, replaces bitbank's API (e.g. a local server)."""
    return os.environ.get("BITBANK_API_URL") or None


def candles_from(args: argparse.Namespace, settings: Settings, progress, write_cache=True):
    """The candles of `settings.data.source`, checked against what --symbol/--timeframe assert;
    bitbank through BITBANK_API_URL when it is set."""
    return load_candles(
        settings,
        settings.data.source,
        progress,
        symbol=args.symbol,
        timeframe=args.timeframe,
        write_cache=write_cache,
        bitbank_api_url=bitbank_api_url_from_env(),
    )


def notify(config: AlertConfig, title: str, lines: list[str], level: str) -> None:
    """Post to Discord if DISCORD_WEBHOOK_URL is set; never fails the run."""
    result = send_alert(title, lines, level, webhook_url_from_env(), config)
    if not result.delivered and webhook_url_from_env():
        print(f"warning: Discord alert not delivered: {result.detail}", file=sys.stderr)


def expected_bitbank_rows(settings: Settings) -> int:
    """Candles a bitbank fetch of data.days returns, at most (gaps only make it fewer).

    In integers: a Timedelta of data.days overflows past ~292 years."""
    step = timeframe_step(settings.data.timeframe)
    return settings.data.days * pd.Timedelta(days=1).value // step.value


def check_bitbank_fetch(settings: Settings, force_memory: bool) -> None:
    """A bitbank fetch too large for limits.max_rss_mib is refused before minutes of fetching,
    not after."""
    if settings.data.source == "bitbank":
        limit = settings.limits.max_rss_mib
        rows = expected_bitbank_rows(settings)
        check_memory(rows, limit, force_memory, settings.tuning.enabled)


def train_and_report(args: argparse.Namespace, verbose: bool) -> int:
    """Train, gate, promote or keep the candidate; print and alert the outcome."""
    settings = settings_from(args)
    progress = print if verbose else (lambda message: None)
    check_bitbank_fetch(settings, args.force_memory)
    # Opened before fetching candles, so an unreachable cluster fails at once.
    with compute_from(args, settings, parallel=settings.tuning.enabled) as compute:
        candle_set = candles_from(args, settings, progress)
        outcome = retrain(
            settings,
            candle_set,
            registry_from(args),
            args.force,
            progress,
            compute,
            force_memory=args.force_memory,
        )
    print(run_summary(outcome.metadata))
    ensemble = outcome.metadata.ensemble_metrics
    headline = f"holdout F1 {ensemble.f1_score:.3f}, MCC {ensemble.mcc:.3f}"
    if outcome.promoted:
        previous = outcome.metadata.version_control.previous_version
        print(f"promoted to {args.models_dir}/ (previous version: {previous})")
        print(f"report: {args.models_dir / REPORT}")
        notify(settings.alerts, "Model set promoted", [headline], "success")
        return EXIT_OK
    print(f"not promoted; candidate kept at {outcome.candidate_path} for inspection")
    print(f"report: {outcome.candidate_path / REPORT}")
    notify(
        settings.alerts,
        "Quality gate rejected the new models",
        [headline, *outcome.gate.reasons],
        "failure",
    )
    return EXIT_REJECTED


def dry_run(args: argparse.Namespace) -> int:
    """Verify and evaluate the live set on the newest candles; writes nothing, cache included."""
    model_set = registry_from(args).load()
    print(
        f"Model set {model_set.path}: every file matches its sha256 (verified); "
        f"{model_set.signature.value}"
    )
    print(run_summary(model_set.metadata))
    trained_on = model_set.metadata.data
    source_named = args.source is not None
    # By default the newest candles come from where the models' own candles came from.
    args.source = args.source or trained_on.source.removeprefix("file:")
    args.symbol = args.symbol or trained_on.symbol
    args.timeframe = args.timeframe or trained_on.timeframe
    settings = settings_from(args)
    try:
        candles = candles_from(args, settings, lambda message: None, write_cache=False).candles
    except (DataSourceError, CandleValidationError) as exc:
        if source_named:  # a source the user named must work; a default may have moved
            raise
        print(f"warning: newest candles unavailable ({exc})")
        candles = None
    health = assess_health(
        model_set.metadata, model_set.ensemble, candles, settings.degradation, datetime.now(UTC)
    )
    print(health_summary(health))
    print(status_table(model_set.metadata, health, args.models_dir / REPORT))
    if health.healthy:
        return EXIT_OK
    notify(settings.alerts, "Production models degraded", health.problems, "warning")
    return EXIT_REJECTED


def add_replay_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--weeks", type=int, required=True, metavar="N", help="replay the last N weekly runs"
    )
    parser.add_argument(
        "--source",
        help="bitbank, sample, or a CSV/Parquet file path (default: data.source in base.yaml)",
    )
    parser.add_argument(
        "--days", type=int, help="each run's training window in days (default: data.days)"
    )
    parser.add_argument("--symbol", help="market symbol, e.g. BTC/JPY")
    parser.add_argument("--timeframe", help="candle timeframe, e.g. 15m")
    parser.add_argument("--seed", type=int, help="random seed for every model")
    parser.add_argument(
        "--tune",
        action=argparse.BooleanOptionalAction,
        help="tune each week as the weekly job would (default: tuning.enabled in base.yaml)",
    )
    parser.add_argument(
        "--out",
        type=_models_dir,
        default=Path("replay-results"),
        help="results, per-week files (a rerun resumes from them) and report.html "
        "(default: replay-results)",
    )
    parser.add_argument(
        "--force-memory",
        action="store_true",
        help="train even if a week's estimated peak memory is above limits.max_rss_mib",
    )
    parser.add_argument(
        "--workers", type=int, metavar="N", help="train N weeks at a time on local workers"
    )
    parser.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help=f"train the weeks on the Dask cluster at ADDRESS (or set {SCHEDULER_ENV})",
    )
    parser.set_defaults(tune_trials=None, tune_minutes=None)


def replay_and_report(args: argparse.Namespace) -> int:
    """Replay the weekly job over the last --weeks runs; print the table and the summary.

    Fetching for bitbank covers the replayed weeks too, their following weeks, and the part
    of the current week no run can use yet.
    """
    settings = settings_from(args)
    check_out_dir(args.out)  # before anything is fetched or trained
    fetch = with_overrides(settings, data={"days": settings.data.days + 7 * (args.weeks + 2)})
    check_bitbank_fetch(fetch, args.force_memory)
    with compute_from(args, settings) as compute:
        candle_set = candles_from(args, fetch, print)
        replay = run_replay(
            settings,
            candle_set,
            args.weeks,
            args.out,
            compute,
            print,
            args.force_memory,
            signing_key_from_env(),
        )
    report = args.out / "report.html"
    html = render_replay_report(
        replay.weeks, replay.summary, settings.data.days, candle_set.source
    )
    atomic_write_bytes(report, html.encode("utf-8"))
    print(replay_table(replay.weeks))
    print(replay_summary(replay.summary))
    print(f"per-week results: {args.out / 'weeks'}/; summary: {args.out / 'summary.json'}")
    print(f"report: {report}")
    return EXIT_OK


def _failure_alert(title: str, exc: BaseException) -> None:
    try:
        config = load_settings().alerts
    except ConfigError:
        config = AlertConfig()
    notify(config, title, [f"{type(exc).__name__}: {exc}"], "failure")


def run_main(main: Callable[[], int]) -> None:
    """Run a CLI body, mapping project errors to the documented exit codes."""
    try:
        # Dask's workers run BLAS and OpenMP on one thread (its nanny sets OMP_NUM_THREADS=1 and
        # the like); so does this process, or a result computed here (the ensemble's weights,
        # in the 8th digit) would differ from the same task run on a worker.
        with threadpool_limits(limits=1):
            code = main()
    except BAD_INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        _failure_alert("Model job stopped on bad input", exc)
        code = EXIT_BAD_INPUT
    except LockTimeoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_FAILURE
    except KeyboardInterrupt:
        code = EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the last line of defence prints the trace
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            # The machine's fault (full or failing disk) at a write not wrapped above.
            print(f"error: {exc}", file=sys.stderr)
            _failure_alert("Model job stopped by its environment", exc)
            code = EXIT_BAD_INPUT
        else:
            traceback.print_exc()
            _failure_alert("Model job crashed", exc)
            code = EXIT_FAILURE
    sys.exit(code)
