"""One week's training as a compute task: the weekly job's own training on that week's window.

The task returns what the replay needs later, as plain data: the record (JSON) the gate and the
summary read, and the pickled set (ensemble, policy, holdout) the champion/challenger check
and the following week's trading use.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import time
from collections.abc import Callable, Sequence

from src.candidate import Holdout, fit_end, train_candidate
from src.compute import Compute, TaskFailure
from src.config import Settings
from src.data.schema import candles_sha256
from src.data.sources import CandleSet
from src.replay.calendar import Week
from src.replay.errors import ReplayTaskError

Progress = Callable[[str], None]
RETRIES = 2  # a task whose worker died is run again, at most twice


# Raised when a week's record gains a field the replay reads (2: "label_threshold"), so weeks
# recorded without it are trained again rather than read.
RECORD_FORMAT = 2


def fingerprint(settings: Settings, window: CandleSet) -> str:
    """What a week's training depends on: the settings that shape it and its window's candles.

    Where the tasks run (compute) and where alerts go do not change a result, so they are left
    out: a replay resumed with another --workers keeps its trained weeks."""
    shaping = settings.model_dump(mode="json", exclude={"compute", "alerts"})
    shaping["record_format"] = RECORD_FORMAT
    text = json.dumps(shaping, sort_keys=True) + candles_sha256(window.candles)
    return "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def train_week(week: Week, shared: tuple[Settings, CandleSet]) -> tuple[dict, bytes]:
    """Compute task: train the week's candidate exactly as the weekly job does (tuning trials
    in this worker), on the candles it would have had."""
    settings, candle_set = shared
    window = week.training_candles(candle_set)
    started = time.perf_counter()
    tuning, run = train_candidate(settings, window, Compute(), lambda message: None)
    holdout = Holdout.of(run)
    money = run.money
    record = {
        "week": week.key,
        "run_at": week.run_at.isoformat(),
        "fingerprint": fingerprint(settings, window),
        "window": {
            "start": window.candles.index[0].isoformat(),
            "end": window.candles.index[-1].isoformat(),
            "candles": len(window.candles),
        },
        "holdout": {
            "start": holdout.features.index[0].isoformat(),
            "end": holdout.features.index[-1].isoformat(),
            "rows": len(holdout.labels),
        },
        "fit_end": fit_end(run).isoformat(),
        "label_threshold": run.label_threshold,
        "ensemble_metrics": run.ensemble_metrics,
        "baselines": run.baselines,
        "gain_interval": run.skill.gain_interval.to_dict(),
        "money": {
            "policy_flat": money.policy_flat,
            "policy": money.policy.to_dict(),
            "buy_and_hold": money.buy_and_hold.to_dict(),
            "excess_interval": money.excess_interval.to_dict(),
            "costs": money.costs.to_dict(),
        },
        "policy": run.policy.policy.to_record(),
        "tuned": tuning.settings.tuning.enabled,
        "train_seconds": time.perf_counter() - started,
    }
    model_set = {"ensemble": run.ensemble, "policy": run.policy.policy, "holdout": holdout}
    return record, pickle.dumps(model_set, protocol=pickle.HIGHEST_PROTOCOL)


def train_all(
    compute: Compute, fn: Callable, tasks: Sequence, shared, save: Callable, progress: Progress
) -> None:
    """`fn(task, shared)` -> (record, pickled set) for each task, all handed to the compute
    layer at once (no worker waits for another's task), each result given to
    `save(task, record, model_set)` as soon as it is back: an interruption loses only the tasks
    under way. Tasks have a `key` naming them."""

    def keep(index: int, result: tuple[dict, bytes]) -> None:
        task, (record, model_set) = tasks[index], result
        save(task, record, model_set)
        progress(
            f"trained week {task.key}: candidate holdout MCC "
            f"{record['ensemble_metrics']['mcc']:.3f} ({record['train_seconds']:.1f} s)"
        )

    map_with_retries(compute, fn, tasks, shared, RETRIES, progress, keep)


def _reindexed(report: Callable, indexes: list[int]) -> Callable:
    """`report` called with the index in the full list for a task of a sublist."""
    return lambda index, result: report(indexes[index], result)


def map_with_retries(
    compute: Compute,
    fn: Callable,
    items: Sequence,
    shared,
    retries: int,
    progress: Progress,
    on_result: Callable[[int, object], None] | None = None,
) -> list:
    """`compute.map`, running again the tasks that failed (a worker killed under a week's
    training, e.g. by its memory limit) up to `retries` more times; `on_result(index, result)`
    as `compute.map` calls it (the index in `items`; that result is then None in the list)."""
    results = compute.map(fn, items, shared, on_result=on_result)
    for attempt in range(1, retries + 1):
        failed = [i for i, result in enumerate(results) if isinstance(result, TaskFailure)]
        if not failed:
            break
        for i in failed:
            progress(f"week {items[i].key} failed ({results[i].error}); retry {attempt}/{retries}")
        again = compute.map(fn, [items[i] for i in failed], shared,
                            on_result=on_result and _reindexed(on_result, failed))  # fmt: skip
        for i, result in zip(failed, again, strict=True):
            results[i] = result
    failures = [
        (item, r) for item, r in zip(items, results, strict=True) if isinstance(r, TaskFailure)
    ]
    if failures:
        item, failure = failures[0]
        raise ReplayTaskError(
            f"the training of week {item.key} failed {retries + 1} times, last: {failure.error}"
        )
    return results
