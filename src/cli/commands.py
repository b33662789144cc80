"""The CLIs' commands: train and report, the dry run of the live set, the weekly job's replay."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from src.atomic import atomic_write_bytes
from src.cli.exits import EXIT_OK, EXIT_REJECTED, notify
from src.cli.options import (
    candles_from,
    check_bitbank_fetch,
    compute_from,
    registry_from,
    settings_from,
)
from src.config import with_overrides
from src.data.errors import CandleValidationError, DataSourceError
from src.ml.monitoring import assess_health
from src.registry.paths import REPORT
from src.registry.resign import raise_for_failures
from src.registry.signing import SigningKey
from src.replay import check_out_dir, run_replay
from src.reports.console import health_summary, run_summary, status_table, version_line
from src.reports.html_report import render_replay_report
from src.reports.replay_console import replay_summary, replay_table
from src.retrain import retrain


def train_and_report(args: argparse.Namespace, verbose: bool) -> int:
    """Train, gate, promote or keep the candidate; print and alert the outcome."""
    settings = settings_from(args)
    progress = print if verbose else (lambda message: None)
    check_bitbank_fetch(settings, args.force_memory)
    # Opened before fetching candles, so an unreachable cluster fails at once.
    registry = registry_from(args, settings.retention)
    with compute_from(args, settings, parallel=settings.tuning.enabled) as compute:
        candle_set = candles_from(args, settings, progress)
        outcome = retrain(
            settings,
            candle_set,
            registry,
            args.force,
            progress,
            compute,
            force_memory=args.force_memory,
        )
    print(run_summary(outcome.metadata))
    _report_live_set(outcome, args.models_dir, settings)
    if registry.last_pruned:
        print(registry.last_pruned.describe(settings.retention))
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


def _report_live_set(outcome, models_dir: Path, settings) -> None:
    """The set live before the run: its verdict, its retirement, and what would replace it."""
    check = outcome.live_check
    if check is None:
        return
    name = check.set_dir.name
    if check.note:
        print(f"Live set {name}: {check.note}")
    if check.health is not None:
        print(f"Live set {name} since its training window: {check.health.summary()}")
    if check.retired:
        print(f"the live set {name} is {check.retirement.describe()}")
        if check.health is not None and check.health.failed:  # retired by this run
            notify(settings.alerts, "Live model set retired", [name, check.retirement.reason],
                   "warning")  # fmt: skip
    for restorable in outcome.restorable:
        print(
            f"restorable: {restorable.name} on the latest week: {restorable.health.summary()}"
        )
    if outcome.restored:
        print(f"restored {outcome.restored} (degradation.retirement.auto_restore is on)")
    elif outcome.restorable and not outcome.promoted:
        print(
            f"the best is {outcome.restorable[0].name}; restore it with `dev_check.py rollback "
            f"--to {outcome.restorable[0].name} --models-dir {models_dir}`, or set "
            "degradation.retirement.auto_restore"
        )


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
            SigningKey.from_env(),
        )
    report = args.out / "report.html"
    html = render_replay_report(replay.weeks, replay.summary, settings.data.days, candle_set.source)
    atomic_write_bytes(report, html.encode("utf-8"))
    print(replay_table(replay.weeks))
    print(replay_summary(replay.summary))
    print(f"per-week results: {args.out / 'weeks'}/; summary: {args.out / 'summary.json'}")
    print(f"report: {report}")
    return EXIT_OK


def history(args: argparse.Namespace) -> int:
    versions = registry_from(args).history()
    if not versions:
        print(f"no archived versions in {args.models_dir}/archive/")
    else:
        print("* = live; roll back with `dev_check.py rollback --to NAME`")
    for version in versions:
        print(version_line(version))
    return EXIT_OK


def rollback(args: argparse.Namespace) -> int:
    rollback = registry_from(args).rollback(args.to, force=args.force)
    restored = rollback.restored
    print(f"restored {restored.name} (trained {restored.metadata.created_at})")
    if rollback.lifted:
        print(f"its retirement is lifted (recorded beside it): {rollback.lifted.describe()}")
    if rollback.replaced:
        print(
            f"the replaced set stays archived as {rollback.replaced}; undo with "
            f"`dev_check.py rollback --to {Path(rollback.replaced).name}`"
        )
    return EXIT_OK


def resign(args: argparse.Namespace) -> int:
    resigned = registry_from(args).resign()
    if not resigned:
        print(f"no archived sets in {args.models_dir}/archive/")
    for item in resigned:
        print(item.line())
    raise_for_failures(resigned)
    return EXIT_OK


COMMANDS = {
    "ml-models": lambda args: dry_run(args) if args.dry_run else train_and_report(args, True),
    "history": history,
    "rollback": rollback,
    "replay": replay_and_report,
    "resign": resign,
}
