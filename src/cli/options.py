"""The options both CLIs share, and what they resolve to: settings with overrides, the
registry, where parallel work runs, and the candles."""

from __future__ import annotations

import argparse
import os

import pandas as pd

from src.compute import check_local_workers, open_compute, parse_address
from src.config import SCHEDULER_ENV, RetentionConfig, Settings, load_settings, with_overrides
from src.data.load import bitbank_api_url_from_env, load_candles
from src.data.schema import timeframe_step
from src.ml.memory import check_memory
from src.ml.models import validate_model_params
from src.registry.signing import SigningKey
from src.registry.store import Registry
from src.tuning import check_tuning


def registry_from(
    args: argparse.Namespace, retention: RetentionConfig | None = None
) -> Registry:
    """The registry of --models-dir, signing and verifying with MODEL_SIGNING_KEY if it is set;
    `retention` (from the config) for the commands that write sets."""
    return Registry(args.models_dir, signing_key=SigningKey.from_env(), retention=retention)


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
    return open_compute(config.workers, config.memory_limit_mib, address, config.cluster_timeout_s)


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
