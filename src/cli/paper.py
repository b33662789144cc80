"""`dev_check.py paper`: paper-trade the live set on closed candles, journalled in SQLite.

This process runs the live side only (src/inference, src/live): no training library is imported,
as in the bot itself (a test checks the modules loaded).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

import pandas as pd

from src.cli.exits import EXIT_FAILURE, EXIT_OK, EXIT_REJECTED, notify
from src.config import Settings, load_settings, with_overrides
from src.data.errors import CandleValidationError, DataSourceError
from src.data.load import bitbank_api_url_from_env, load_candles
from src.data.schema import timeframe_step
from src.live.journal import Journal
from src.live.paper import PaperRun, PaperTrader, Retired
from src.ml.live_health import Judging
from src.registry.signing import SigningKey

# bitbank's candles: how far back a fetch reaches for the features' history before the newest.
_HISTORY_DAYS = 3


def _settings(args: argparse.Namespace) -> Settings:
    return with_overrides(
        load_settings(),
        data={"source": args.source, "symbol": args.symbol, "timeframe": args.timeframe},
    )


def _alert(settings: Settings):
    def on_retire(retired: Retired) -> None:
        lines = [f"{retired.set_name} at {retired.candle_time}", retired.reason]
        if retired.health is not None:
            lines.append(retired.health.summary())
        notify(settings.alerts, "Live model set retired", lines, "warning")

    return on_retire


def _fetch(args, settings: Settings, trained: dict, journal: Journal):
    """The source's candles; for bitbank, from the set's training end (or the journal's newest
    row) back a few days for the features' history, up to now."""
    if settings.data.source == "bitbank":
        last = journal.last()
        since = pd.Timestamp(last.candle_time if last else trained["end"])
        days = (pd.Timestamp.now(tz="UTC") - since).days + _HISTORY_DAYS
        settings = with_overrides(settings, data={"days": max(days, _HISTORY_DAYS)})
    candle_set = load_candles(
        settings, settings.data.source, lambda message: None, symbol=args.symbol,
        timeframe=args.timeframe, write_cache=False,
        bitbank_api_url=bitbank_api_url_from_env(),
    )  # fmt: skip
    if candle_set.timeframe != trained["timeframe"]:
        raise CandleValidationError(
            f"the live set was trained on {trained['timeframe']} candles, the source holds "
            f"{candle_set.timeframe}; its features would mean something else: pass "
            f"{trained['timeframe']} candles"
        )
    return candle_set


def _report(run: PaperRun, journal: Journal) -> None:
    if run.last is None:
        print(f"no candles newer than the live set's training window; {journal.path} is empty")
        return
    print(
        f"{run.rows} new row(s) in {journal.path}; newest {run.last.candle_time}: set "
        f"{run.last.set_name}, position {run.last.position:+d}, cumulative net after costs "
        f"{run.last.cumulative_net:+.2%}"
    )


def _stop_on_sigterm(signum, frame) -> None:
    raise KeyboardInterrupt  # a service manager's stop: the same clean stop as Ctrl-C


def paper(args: argparse.Namespace) -> int:
    """Exit 0, or 3 when this run retired the live set (it degraded)."""
    settings = _settings(args)
    key = SigningKey.from_env()
    with Journal(args.journal) as journal:
        trader = PaperTrader(args.models_dir, journal, Judging.of(settings), key, _alert(settings))
        trained = trader.predictor.metadata["data"]
        signal.signal(signal.SIGTERM, _stop_on_sigterm)
        runs = []
        try:
            if not args.follow:
                return _exit_code([_run_once(args, settings, trader, journal)])
            poll_s = args.poll_seconds or timeframe_step(trained["timeframe"]).total_seconds()
            while True:
                try:
                    runs.append(_run_once(args, settings, trader, journal))
                except (DataSourceError, CandleValidationError) as exc:
                    # A source mid-write or unreachable: the next poll tries again; nothing of
                    # the journal is lost.
                    print(f"warning: no new candles this poll ({exc})", file=sys.stderr)
                time.sleep(poll_s)
        except KeyboardInterrupt:
            print(f"stopped; the next run resumes after the newest row of {journal.path}")
            return _exit_code(runs) if args.follow else EXIT_FAILURE


def _exit_code(runs: list[PaperRun]) -> int:
    """3 when these runs retired the live set (judged it and found it failing), else 0."""
    judged = [r for run in runs for r in run.retired if r.health is not None]
    return EXIT_REJECTED if judged else EXIT_OK


def _run_once(args, settings: Settings, trader: PaperTrader, journal: Journal) -> PaperRun:
    candle_set = _fetch(args, settings, trader.predictor.metadata["data"], journal)
    run = trader.run(candle_set.candles, f"{candle_set.symbol} {candle_set.timeframe}")
    _report(run, journal)
    return run
