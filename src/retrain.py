"""The weekly job: candles -> training -> quality gate -> promote or keep as candidate."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from src.candidate import Holdout, champion_on_holdout, train_candidate
from src.compute import Compute
from src.config import REPO_ROOT, Settings
from src.data.sources import CandleSet
from src.ml.gate import GateResult, evaluate_gate
from src.ml.memory import check_memory
from src.ml.run_metadata import build_metadata
from src.ml.training import TrainingRun
from src.recovery import LiveCheck, Restorable, check_live_set, restorable_sets
from src.registry.errors import NoModelsError, RegistryError
from src.registry.metadata import TrainingMetadata
from src.registry.store import Registry
from src.reports.html_report import render_report

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetrainOutcome:
    run: TrainingRun
    gate: GateResult
    promoted: bool
    metadata: TrainingMetadata
    candidate_path: Path | None
    live_check: LiveCheck | None = None  # the set live before this run, judged
    restorable: tuple[Restorable, ...] = ()  # when it is retired and the candidate failed
    restored: str | None = None  # the archived set made live (degradation.retirement.auto_restore)


def git_commit() -> str | None:
    try:
        completed = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--abbrev=8"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return completed.stdout.strip() or None


def _production_fit_end(metadata: TrainingMetadata) -> pd.Timestamp:
    """The last row the live models were fitted on."""
    evaluation = metadata.evaluation
    return pd.Timestamp(metadata.data.end if evaluation.refit_on_full else evaluation.train.end)


def production_on_holdout(
    registry: Registry, run: TrainingRun, settings: Settings, progress: Progress
):
    """The registry's live set against the candidate (`champion_on_holdout`), or None when
    there is no live set to compare."""
    try:
        production = registry.load()
    except NoModelsError:
        return None
    except RegistryError as exc:
        progress(f"warning: the live set cannot be compared ({exc})")
        return None
    return champion_on_holdout(
        production.ensemble,
        _production_fit_end(production.metadata),
        Holdout.of(run),
        settings,
        progress,
    )


def retrain(
    settings: Settings,
    candle_set: CandleSet,
    registry: Registry,
    force: bool = False,
    progress: Progress = print,
    compute: Compute | None = None,
    force_memory: bool = False,
) -> RetrainOutcome:
    """`compute` runs the tuning trials (default: in this process)."""
    # Before anything is fitted: a window too large for the box is refused, not OOM-killed.
    estimate = check_memory(
        len(candle_set.candles), settings.limits.max_rss_mib, force_memory, settings.tuning.enabled
    )
    progress(f"memory: {estimate.describe()}")
    with registry.training_session():
        return _retrain(settings, candle_set, registry, force, progress, compute or Compute())


def _retrain(settings, candle_set, registry, force, progress, compute) -> RetrainOutcome:
    started_at, started = datetime.now(UTC), time.perf_counter()
    live_check = check_live_set(registry, candle_set, settings)
    if live_check is not None and live_check.retired:
        progress(f"the live set {live_check.set_dir.name} is retired")
    tuning, run = train_candidate(settings, candle_set, compute, progress)
    settings = tuning.settings
    # A retired set is no champion: the candidate need not match what already failed.
    champion = None
    if live_check is None or not live_check.retired:
        champion = production_on_holdout(registry, run, settings, progress)
    gate = evaluate_gate(run.skill, champion, run.money, settings.quality_gate, forced=force)
    metadata = build_metadata(
        run,
        candle_set,
        settings,
        gate,
        started_at,
        time.perf_counter() - started,
        git_commit(),
        tuning.record,
    )
    progress("writing the HTML report")
    report_html = render_report(run, metadata, degradation=settings.degradation)
    if gate.passed or force:
        written = registry.promote(
            run.models, run.ensemble, metadata, report_html, onnx_files=run.onnx.files
        )
        return RetrainOutcome(run, gate, True, written, None, live_check)
    candidate = registry.save_candidate(
        run.models, run.ensemble, metadata, report_html, onnx_files=run.onnx.files
    )
    if live_check is None or not live_check.retired:
        return RetrainOutcome(run, gate, False, metadata, candidate, live_check)
    restorable = tuple(restorable_sets(registry, candle_set.candles, settings))
    restored = None
    if restorable and settings.degradation.retirement.auto_restore:
        restored = registry.rollback(restorable[0].name).restored.name
    return RetrainOutcome(
        run, gate, False, metadata, candidate, live_check, restorable, restored
    )
