"""The weekly job: candles -> training -> quality gate -> promote or keep as candidate."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from src.config import REPO_ROOT, Settings
from src.data.bitbank import fetch_bitbank_candles
from src.data.sources import CandleSet, load_file_candles, load_sample_candles
from src.ml.evaluation import probability_metrics
from src.ml.gate import GateResult, evaluate_gate
from src.ml.run_metadata import build_metadata
from src.ml.training import TrainingRun, train_models
from src.registry.errors import NoModelsError, RegistryError
from src.registry.store import Registry
from src.reports.html_report import render_report

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RetrainOutcome:
    run: TrainingRun
    gate: GateResult
    promoted: bool
    metadata: dict
    candidate_path: Path | None


def load_candles(settings: Settings, source: str, progress: Progress) -> CandleSet:
    """`bitbank` (through ccxt, cached), `sample` (shipped real candles) or a file path."""
    data = settings.data
    if source == "sample":
        return load_sample_candles()
    if source == "bitbank":
        return fetch_bitbank_candles(
            data.symbol,
            data.timeframe,
            data.days,
            REPO_ROOT / data.cache_dir,
            timeout_s=data.request_timeout_s,
            max_retries=data.max_retries,
            progress=progress,
        )
    return load_file_candles(source, data.symbol, data.timeframe)


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


def production_on_holdout(registry: Registry, run: TrainingRun, progress: Progress):
    """The live ensemble's metrics on the candidate's holdout rows, or None if there is none."""
    try:
        production = registry.load()
    except NoModelsError:
        return None
    except RegistryError as exc:
        progress(f"warning: the live set cannot be compared ({exc})")
        return None
    holdout = run.features.iloc[run.split.holdout_start :]
    p_up = production.ensemble.predict_proba(holdout)[:, 1]
    return probability_metrics(run.labels.iloc[run.split.holdout_start :], p_up)


def retrain(
    settings: Settings,
    candle_set: CandleSet,
    registry: Registry,
    force: bool = False,
    progress: Progress = print,
) -> RetrainOutcome:
    started_at, started = datetime.now(UTC), time.perf_counter()
    run = train_models(candle_set, settings, progress)
    gate = evaluate_gate(
        run.ensemble_metrics,
        run.baselines,
        production_on_holdout(registry, run, progress),
        settings.quality_gate,
        forced=force,
    )
    metadata = build_metadata(
        run, candle_set, settings, gate, started_at, time.perf_counter() - started, git_commit()
    )
    progress("writing the HTML report")
    report_html = render_report(run, metadata, degradation=settings.degradation)
    if gate.passed or force:
        written = registry.promote(run.models, run.ensemble, metadata, report_html)
        return RetrainOutcome(run, gate, True, written, None)
    candidate = registry.save_candidate(run.models, run.ensemble, metadata, report_html)
    return RetrainOutcome(run, gate, False, metadata, candidate)
