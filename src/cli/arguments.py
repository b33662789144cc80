"""The CLIs' command-line options: argparse definitions only, so building a parser imports
nothing heavy (the paper trader's process stays free of the training libraries)."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from src.config import SCHEDULER_ENV


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


def _positive_seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (math.isfinite(seconds) and seconds > 0):
        raise argparse.ArgumentTypeError(f"must be a number of seconds above 0, got {value!r}")
    return seconds


def _path(value: str) -> Path:
    # Path("") is the current directory: a forgotten value would promote into it.
    if not value.strip():
        raise argparse.ArgumentTypeError("must not be empty; name a path")
    return Path(value)


def add_models_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        type=_path,
        default=Path("models"),
        help="root holding training/, production/, archive/ (default: models)",
    )


def add_replay_options(parser: argparse.ArgumentParser, out: str = "replay-results") -> None:
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
        type=_path,
        default=Path(out),
        help=f"results, per-week files (a rerun resumes from them) and report.html "
        f"(default: {out})",
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


def add_sweep_options(parser: argparse.ArgumentParser) -> None:
    add_replay_options(parser, out="sweep-results")
    parser.add_argument(
        "--grid",
        action="append",
        required=True,
        metavar="KEY=V1,V2",
        help="a config key and the values to try, e.g. training.label.horizon=1,4,16 "
        "(training.label.threshold=round_trip: up by more than the round-trip cost; "
        "data.timeframe: resampled from the source's finer candles; data.symbol: bitbank); "
        "repeat for more keys: every combination is a setup",
    )


def add_paper_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        required=True,
        help="bitbank, sample, or a CSV/Parquet file path: the candles to trade",
    )
    parser.add_argument("--symbol", help="market symbol, e.g. BTC/JPY")
    parser.add_argument("--timeframe", help="candle timeframe, e.g. 15m")
    add_models_dir(parser)
    parser.add_argument(
        "--journal",
        type=_path,
        default=Path("paper-journal.sqlite"),
        help="the SQLite journal; a rerun resumes after its newest row "
        "(default: paper-journal.sqlite)",
    )
    parser.add_argument(
        "--follow",
        action="store_true",
        help="keep polling the source for new closed candles (Ctrl-C or SIGTERM stops)",
    )
    parser.add_argument(
        "--poll-seconds",
        type=_positive_seconds,
        metavar="S",
        help="with --follow: seconds between polls (default: one bar of the set's timeframe)",
    )
