"""`dev_check.py sweep`: a grid of setups, each judged by the replay of the weekly job over the
same weeks, and the search judged as a whole (SPEC §18)."""

from __future__ import annotations

import argparse

from src.atomic import atomic_write_bytes
from src.cli.exits import EXIT_OK
from src.cli.options import candles_from, check_bitbank_fetch, compute_from, settings_from
from src.config import with_overrides
from src.data.load import bitbank_api_url_from_env, load_candles
from src.registry.signing import SigningKey
from src.replay import check_out_dir
from src.reports.sweep_console import sweep_table, sweep_verdict
from src.reports.sweep_report import render_sweep_report
from src.sweep.grid import parse_grid, setups
from src.sweep.markets import check_markets, finest_timeframe, setup_candles
from src.sweep.run import run_sweep
from src.sweep.summary import config_diff_yaml


def sweep(args: argparse.Namespace) -> int:
    """Fetching for bitbank covers the replayed weeks, their following weeks, and the part of
    the current week no run can use yet, as the replay's does."""
    settings = settings_from(args)
    made = setups(settings, parse_grid(args.grid))
    check_markets(made, settings.data.source)
    check_out_dir(args.out)  # before anything is fetched or trained
    fetch = with_overrides(
        settings,
        data={
            "days": settings.data.days + 7 * (args.weeks + 2),
            "timeframe": finest_timeframe(made) if settings.data.source == "bitbank" else None,
        },
    )
    check_bitbank_fetch(fetch, args.force_memory)

    def load(symbol: str | None, timeframe: str | None):
        if fetch.data.source != "bitbank":
            return candles_from(args, fetch, print)
        market = with_overrides(fetch, data={"symbol": symbol, "timeframe": timeframe})
        return load_candles(market, "bitbank", print, bitbank_api_url=bitbank_api_url_from_env())

    with compute_from(args, settings) as compute:
        candle_sets = setup_candles(made, load)
        result = run_sweep(settings, made, candle_sets, args.weeks, args.out, compute, print,
                           args.force_memory, SigningKey.from_env())  # fmt: skip
    report, diff = args.out / "report.html", args.out / "best-config.yaml"
    html = render_sweep_report(result.summary, settings.data.days)
    atomic_write_bytes(report, html.encode("utf-8"))
    atomic_write_bytes(diff, config_diff_yaml(result.summary).encode("utf-8"))
    print(sweep_table(result.summary))
    print(sweep_verdict(result.summary))
    print(f"each setup's replay: {args.out / 'setups'}/; summary: {args.out / 'summary.json'}")
    print(f"best setup's config diff: {diff}; report: {report}")
    return EXIT_OK
