"""A sweep from setups to verdict: every (setup x week) training as one flat list of compute
tasks, then each setup's replay of the gate and the trading, then the search judged as a whole.

    <out>/setups/<setup key>/   each setup's replay directory (weeks/, sets/, summary.json)
    <out>/summary.json          every setup, the best, and the search's verdict
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.compute import Compute
from src.config import Settings
from src.data.sources import CandleSet
from src.ml.memory import check_memory
from src.registry.signing import SigningKey
from src.replay.calendar import ReplayDataError, Week, replay_weeks
from src.replay.decisions import replay_decisions
from src.replay.store import ReplayStore
from src.replay.summary import summarise, weekly_excess
from src.replay.training import fingerprint, train_all, train_week
from src.sweep.grid import Setup
from src.sweep.selection import MIN_WEEKS
from src.sweep.summary import sweep_summary

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SweepTask:
    """One setup's training of one week."""

    setup: int  # its index in the setups
    week: Week
    key: str  # names it in progress and errors


@dataclass(frozen=True)
class Sweep:
    summary: dict
    replays: list[list[dict]]  # each setup's week records, with their outcomes
    resumed: int  # (setup, week) trainings already in --out when it started
    out_dir: Path


def train_task(task: SweepTask, shared: tuple[list[Settings], list[CandleSet]]):
    """Compute task: the week's training as the weekly job with that setup's config does it."""
    settings, candle_sets = shared
    return train_week(task.week, (settings[task.setup], candle_sets[task.setup]))


def common_weeks(setups: list[Setup], candle_sets: list[CandleSet], weeks: int) -> list[Week]:
    """The last `weeks` Mondays every setup's candles hold with a full window and a following
    week: their latest first candle to their earliest last one."""
    starts = [candle_set.candles.index[0] for candle_set in candle_sets]
    ends = [candle_set.candles.index[-1] for candle_set in candle_sets]
    settings = setups[0].settings
    span = pd.DatetimeIndex([max(starts), min(ends)])
    return replay_weeks(span, settings.schedule, settings.data.days, weeks)


def run_sweep(
    base: Settings,
    setups: list[Setup],
    candle_sets: list[CandleSet],
    n_weeks: int,
    out_dir: Path,
    compute: Compute,
    progress: Progress = print,
    force_memory: bool = False,
    signing_key: SigningKey | None = None,
) -> Sweep:
    """Each setup replayed over the same weeks, its sets in its own replay directory (a rerun
    resumes from them); `base` is the config the best setup's diff is written against."""
    if n_weeks < MIN_WEEKS:
        raise ReplayDataError(
            f"--weeks {n_weeks} is too few for the sweep's verdict: the search is tested on the "
            f"weekly returns, at least {MIN_WEEKS} of them"
        )
    weeks = common_weeks(setups, candle_sets, n_weeks)
    rows = max(len(weeks[-1].training_candles(candles).candles) for candles in candle_sets)
    tuned = any(setup.settings.tuning.enabled for setup in setups)
    estimate = check_memory(rows, base.limits.max_rss_mib, force_memory, tuned)
    progress(f"memory per task: {estimate.describe()}")
    out_dir = Path(out_dir)
    stores = [ReplayStore(out_dir / "setups" / setup.key, signing_key) for setup in setups]
    resumed = _train_missing(setups, candle_sets, weeks, stores, compute, progress)
    replays, summaries = _replay_each(setups, candle_sets, weeks, stores, progress)
    excess = np.column_stack([weekly_excess(records) for records in replays])
    week_keys = [week.key for week in weeks]
    summary = sweep_summary(base, setups, candle_sets, summaries, week_keys, excess)
    ReplayStore(out_dir).save_summary(summary)
    return Sweep(summary, replays, resumed, out_dir)


def _train_missing(setups, candle_sets, weeks, stores, compute, progress) -> int:
    """Train every (setup x week) its store does not hold, as one list of compute tasks; the
    number it already held."""
    tasks = [
        SweepTask(index, week, f"{week.key} of {setup.name}")
        for index, setup in enumerate(setups)
        for week in weeks
        if not stores[index].trained(
            week, fingerprint(setup.settings, week.training_candles(candle_sets[index]))
        )
    ]
    for setup, store in zip(setups, stores, strict=True):
        for week, problem in store.untrusted.items():
            progress(f"week {week} of {setup.name}: its set is {problem}; trained again")
    resumed = len(setups) * len(weeks) - len(tasks)
    progress(
        f"{len(setups)} setups x {len(weeks)} weeks ({weeks[0].key} .. {weeks[-1].key}): "
        f"{resumed} already trained, training {len(tasks)} {compute.where}"
    )
    if tasks:
        shared = compute.share(([setup.settings for setup in setups], candle_sets))

        def save(task: SweepTask, record: dict, model_set: bytes) -> None:
            stores[task.setup].save_candidate(task.week, record, model_set)

        train_all(compute, train_task, tasks, shared, save, progress)
    return resumed


def _replay_each(setups, candle_sets, weeks, stores, progress) -> tuple[list, list]:
    """Each setup's gate and trading replayed over the weeks, in order: its week records and
    its replay summary."""
    replays, summaries = [], []
    for setup, candle_set, store in zip(setups, candle_sets, stores, strict=True):
        settings = setup.settings
        records = replay_decisions(settings, candle_set.candles, weeks, store, lambda _: None)
        summary = summarise(records, settings.trading.bootstrap_samples, settings.training.seed)
        store.save_summary(summary)
        replays.append(records)
        summaries.append(summary)
        totals = summary["totals"]
        progress(
            f"replayed {setup.name}: net {totals['weekly_job']:+.2%} after costs, buy-and-hold "
            f"{totals['buy_and_hold']:+.2%}, {summary['promotions']} promotions"
        )
    return replays, summaries
