"""A replay from candles to summary: train the missing weeks through the compute layer (the
trainings are independent), then replay the gate and the trading in order."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from src.compute import Compute
from src.config import Settings
from src.data.sources import CandleSet
from src.ml.memory import check_memory
from src.registry.signing import SigningKey
from src.replay.calendar import replay_weeks
from src.replay.decisions import replay_decisions
from src.replay.store import ReplayStore
from src.replay.summary import summarise
from src.replay.training import fingerprint, train_all, train_week

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Replay:
    weeks: list[dict]  # each week's record with its "outcome"
    summary: dict
    resumed: int  # weeks already trained in --out when it started
    out_dir: Path


def run_replay(
    settings: Settings,
    candle_set: CandleSet,
    n_weeks: int,
    out_dir: Path,
    compute: Compute,
    progress: Progress = print,
    force_memory: bool = False,
    signing_key: SigningKey | None = None,
) -> Replay:
    """`signing_key` (MODEL_SIGNING_KEY) signs each week's pickled set in `out_dir` and is
    required of the sets a resumed replay would unpickle."""
    weeks = replay_weeks(candle_set.candles.index, settings.schedule, settings.data.days, n_weeks)
    # Each worker trains one week's window at a time: the weekly job's own memory check, on the
    # largest of them, before anything is fitted.
    rows = max(len(week.training_candles(candle_set).candles) for week in weeks)
    estimate = check_memory(
        rows, settings.limits.max_rss_mib, force_memory, settings.tuning.enabled
    )
    progress(f"memory per week: {estimate.describe()}")
    store = ReplayStore(out_dir, signing_key)
    todo = [
        week
        for week in weeks
        if not store.trained(week, fingerprint(settings, week.training_candles(candle_set)))
    ]
    for week, problem in store.untrusted.items():
        progress(f"week {week}: its set in {out_dir} is {problem}; not unpickled, trained again")
    resumed = len(weeks) - len(todo)
    progress(
        f"{len(weeks)} weekly runs {weeks[0].key} .. {weeks[-1].key}; {resumed} already trained "
        f"in {out_dir}, training {len(todo)} {compute.where}"
    )
    if todo:
        shared = compute.share((settings, candle_set))
        train_all(compute, train_week, todo, shared, store.save_candidate, progress)
    records = replay_decisions(settings, candle_set.candles, weeks, store, progress)
    summary = summarise(records, settings.trading.bootstrap_samples, settings.training.seed)
    store.save_summary(summary)
    return Replay(records, summary, resumed, Path(out_dir))
