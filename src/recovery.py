"""The weekly job's watch over the live set (the seed's 劣化検知・自動復旧): judge it on the candles
since it went live and retire it when it failed beyond noise; when no candidate replaces it,
name the archived set that would take over.

Recovery is first the week's candidate, if it passes the gate. Otherwise the archived sets never
retired are judged on the latest week, and the best of those that pass (kept by the verdict,
and ahead of buy-and-hold there) is named; it is restored only with
`degradation.retirement.auto_restore` (off by default: a week is a few hundred bars, and picking
the best of several sets on them rewards luck, so a person looks first).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from src.config import Settings
from src.data.sources import UNKNOWN_SYMBOL, CandleSet
from src.ml.live_health import Judging, LiveHealth, judge_live
from src.ml.monitoring import traded_bars
from src.registry.errors import NoModelsError, RegistryError
from src.registry.live_since import read_live_since
from src.registry.retirement import Retirement
from src.registry.store import Registry

LATEST_WEEK = pd.Timedelta(days=7)


@dataclass(frozen=True)
class LiveCheck:
    set_dir: Path
    health: LiveHealth | None  # None: fewer than min_samples bars since it went live
    retirement: Retirement | None  # the set's retirement, new or earlier
    note: str | None = None  # why it was not judged, when the candles are another market's

    @property
    def retired(self) -> bool:
        return self.retirement is not None and self.retirement.active


@dataclass(frozen=True)
class Restorable:
    name: str
    health: LiveHealth  # on the latest week

    @property
    def excess(self) -> float:
        return self.health.net_return - self.health.buy_and_hold


def _judge(settings: Settings, model_set, candles, since=None) -> LiveHealth | None:
    bars = traded_bars(model_set.metadata, model_set.ensemble, candles, since)
    if bars is None:
        return None
    metadata = model_set.metadata
    return judge_live(bars, metadata.ensemble_metrics.mcc, metadata.evaluation.holdout.samples,
                      Judging.of(settings))  # fmt: skip


def check_live_set(
    registry: Registry, candle_set: CandleSet, settings: Settings
) -> LiveCheck | None:
    """The live set judged on the candles it traded (after its training window, or after a
    rollback restored it); retired if it failed. None when there is no readable live set."""
    try:
        live = registry.load()
    except (NoModelsError, RegistryError):
        return None
    earlier = live.retirement()
    if earlier is not None and earlier.active:
        return LiveCheck(live.path, None, earlier)
    trained = live.metadata.data
    symbols = {candle_set.symbol, trained.symbol}
    if candle_set.timeframe != trained.timeframe or (
        len(symbols) > 1 and UNKNOWN_SYMBOL not in symbols  # a file's candles claim none
    ):
        note = (
            f"not judged: it trades {trained.symbol} {trained.timeframe}, these candles are "
            f"{candle_set.symbol} {candle_set.timeframe}"
        )
        return LiveCheck(live.path, None, None, note)
    since = read_live_since(live.path)
    health = _judge(settings, live, candle_set.candles, since and pd.Timestamp(since))
    if health is None or not health.failed or not settings.degradation.retirement.enabled:
        return LiveCheck(live.path, health, None)
    candles = candle_set.candles
    at = f"{candles.index[-1]:%Y-%m-%dT%H:%M:%S}+00:00"
    retirement = registry.retire(live.path, at, "; ".join(health.problems), health.evidence())
    return LiveCheck(live.path, health, retirement)


def restorable_sets(
    registry: Registry, candles: pd.DataFrame, settings: Settings
) -> list[Restorable]:
    """Archived sets never retired that the verdict keeps on the latest week and that beat
    buy-and-hold there, best first."""
    since = candles.index[-1] - LATEST_WEEK
    found = []
    for version in registry.history():
        if version.live or not version.restorable or version.retirement is not None:
            continue
        try:
            model_set = registry.load_version(version)
        except RegistryError:
            continue  # another feature version: it could not be restored either
        health = _judge(settings, model_set, candles, since)
        if health is not None and not health.failed:
            found.append(Restorable(version.name, health))
    passing = [r for r in found if r.excess > 0 and np.isfinite(r.excess)]
    return sorted(passing, key=lambda r: -r.excess)
