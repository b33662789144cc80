"""Paper trading: the live side (FeatureStream, LivePredictor) over closed candles, one at a time,
journalled; the live set judged on what it traded, and retired when it fails beyond noise.

Each candle, in order: the position held into it is settled on its close (at the cost per side
of the set that opened it, as src/ml/backtest.py settles a decision on its next candle), the set
live now is picked up if a promotion or rollback switched it (verified as `LivePredictor.load`
verifies), the set is judged on its settled decisions since it went live, and its decision for
the next bar is made (flat once it is retired). A gap in the candles does not close the
position: a bot holding through an outage bears the move, so the next close settles it, and the
feature stream is seeded again on the candles up to it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from src.features.contract import WARMUP_BARS
from src.features.errors import FeatureError
from src.inference import FeatureStream, LivePredictor
from src.inference.errors import CandleGapError
from src.live.journal import Decision, Event, Journal, JournalError
from src.ml.live_health import (
    Judging,
    LiveHealth,
    TradedBars,
    judge_live,
    with_entry_and_exit,
)
from src.registry.paths import ModelPaths
from src.registry.retire import retire
from src.registry.signing import SigningKey
from src.registry.verify import live_set_dir

Progress = Callable[[str], None]
_STREAM, _KEEP, _MARKET = "stream", "pending_keep", "market"


@dataclass(frozen=True)
class Retired:
    set_name: str
    candle_time: str
    health: LiveHealth | None  # None: retired before this run judged it (the event says why)
    reason: str
    retired_at: str  # when the event says it was retired

    def describe(self) -> str:
        if self.health is None:
            return (
                f"{self.candle_time}: {self.set_name} is retired (since {self.retired_at}, "
                f"earlier or elsewhere): {self.reason}"
            )
        return f"{self.candle_time}: retired {self.set_name}: {self.reason}"


@dataclass
class PaperRun:
    rows: int  # rows appended by this run
    retired: list[Retired]
    last: Decision | None


@dataclass
class _Tenure:
    """The live set's rows since it went live: what it is judged on."""

    set_name: str
    started: str  # the candle time of its first row
    prices: list[float] = field(default_factory=list)
    nets: list[float] = field(default_factory=list)
    p_up: list[float] = field(default_factory=list)

    @classmethod
    def of(cls, journal: Journal, set_name: str) -> _Tenure:
        since = journal.first_row_of(set_name)
        rows = [row for row in journal.decisions(since) if row.set_name == set_name]
        columns = ([getattr(r, f) for r in rows] for f in ("price", "bar_net", "p_up"))
        return cls(set_name, since or "", *columns)

    def add(self, decision: Decision) -> None:
        self.prices.append(decision.price)
        self.nets.append(decision.bar_net)
        self.p_up.append(decision.p_up)

    def traded(self, close: float, bar_net: float, label: dict, cost: float) -> TradedBars:
        """The decisions settled (by the next row, or this candle) and labelled by now."""
        horizon, threshold = int(label["horizon"]), float(label["threshold"])
        prices = np.array([*self.prices, close])
        nets = np.array([*self.nets, bar_net])
        judged = max(0, min(len(self.prices), len(prices) - horizon))
        went_up = prices[horizon : horizon + judged] / prices[:judged] - 1.0 > threshold
        growth = with_entry_and_exit(np.log(prices[1 : judged + 1] / prices[:judged]), cost)
        return TradedBars(np.array(self.p_up[:judged]), went_up, nets[1 : judged + 1], growth)


def _iso(timestamp) -> str:
    return pd.Timestamp(timestamp).tz_convert("UTC").isoformat()


def _candles(frame: pd.DataFrame) -> Iterator[tuple[pd.Timestamp, dict]]:
    columns = ("open", "high", "low", "close", "volume")
    rows = zip(frame.index, *(frame[name].tolist() for name in columns), strict=True)
    for time, *values in rows:
        yield time, {"timestamp": time.to_pydatetime(), **dict(zip(columns, values, strict=True))}


class PaperTrader:
    def __init__(
        self,
        models_dir: Path,
        journal: Journal,
        judging: Judging,
        signing_key: SigningKey | None = None,
        on_retire: Callable[[Retired], None] = lambda retired: None,
        progress: Progress = print,
    ) -> None:
        self.paths = ModelPaths(Path(models_dir))
        self.journal = journal
        self.judging = judging
        self.signing_key = signing_key
        self.on_retire = on_retire
        self.progress = progress
        self.predictor = LivePredictor.load(self.paths.root, self._key_text())

    # -- the run --------------------------------------------------------------------------------
    def run(self, candles: pd.DataFrame, market: str) -> PaperRun:
        """Every closed candle of `candles` newer than the journal (or, for a new journal, than
        the live set's training window), in order."""
        self._check_market(market)
        last = self.journal.last()
        start = pd.Timestamp(last.candle_time if last else self.predictor.metadata["data"]["end"])
        stream = self._stream(candles, start, last)
        held = last.position if last else 0
        price = last.price if last else float(candles.loc[:start, "close"].iloc[-1])
        cumulative = last.cumulative_net if last else 0.0
        keep = float(self.journal.state(_KEEP) or 1.0)
        tenure = _Tenure.of(self.journal, last.set_name) if last else None
        run = PaperRun(0, [], last)
        for time, candle in _candles(candles.loc[candles.index > start]):
            events = []
            try:
                row = stream.update(candle)
            except CandleGapError:
                stream = FeatureStream.from_candles(candles.loc[:time])
                detail = "candles missing before it: the held position settled across the gap, "
                events.append(self._event(time, "gap", detail + "the features seeded again"))
                row = stream.latest
            close = float(candle["close"])
            bar_net = keep * (1.0 + held * (close / price - 1.0)) - 1.0
            cumulative = (1.0 + cumulative) * (1.0 + bar_net) - 1.0
            self._follow_live_set(time)
            if tenure is None or tenure.set_name != self.predictor.set_path.name:
                kind = "start" if tenure is None else "switch"
                detail = "journal started" if tenure is None else f"from {tenure.set_name}"
                events.append(self._event(time, kind, detail))
                tenure = _Tenure(self.predictor.set_path.name, _iso(time))
            retired = self._judge(time, tenure, tenure.traded(
                close, bar_net, self.predictor.metadata["evaluation"]["label"],
                self.predictor.cost_per_side))  # fmt: skip
            events += [self._event(time, "retired", r.reason) for r in retired]
            p_up = self.predictor.p_up(row)
            position = self.predictor.next_position(p_up, held)
            decision = Decision(_iso(time), tenure.set_name, p_up, position, close, bar_net,
                                cumulative)  # fmt: skip
            keep = (1.0 - self.predictor.cost_per_side) ** abs(position - held)
            state = {_STREAM: stream.to_json(), _KEEP: repr(keep), _MARKET: market}
            self.journal.append(decision, events, state)
            for retirement in retired:  # told once the candle is journalled, not before
                run.retired.append(retirement)
                self.on_retire(retirement)
                self.progress(retirement.describe())
            tenure.add(decision)
            held, price, run.last = position, close, decision
            run.rows += 1
        return run

    # -- pieces ---------------------------------------------------------------------------------
    def _check_market(self, market: str) -> None:
        journalled = self.journal.state(_MARKET)
        if journalled is not None and journalled != market:
            raise JournalError(
                f"{self.journal.path} journals {journalled}, not {market}; pass the same source "
                "or another --journal"
            )

    def _stream(self, candles: pd.DataFrame, start: pd.Timestamp, last) -> FeatureStream:
        saved = self.journal.state(_STREAM)
        if last is not None and saved is not None:
            return FeatureStream.from_json(saved)
        history = candles.loc[:start]
        if len(history) <= WARMUP_BARS:
            raise FeatureError(
                f"the candles hold {len(history)} bars up to {_iso(start)} (the live set's "
                f"training end), need more than {WARMUP_BARS} to seed the features; pass a "
                "source whose candles reach further back"
            )
        return FeatureStream.from_candles(history)

    def _event(self, time, kind: str, detail: str) -> Event:
        return Event(_iso(time), kind, self.predictor.set_path.name, detail)

    def _follow_live_set(self, time) -> None:
        """A promotion or rollback since the last candle: load the new live set, verified."""
        if live_set_dir(self.paths).resolve() != self.predictor.set_path.resolve():
            self.predictor = LivePredictor.load(self.paths.root, self._key_text())
            self.progress(f"{_iso(time)}: the live set is now {self.predictor.set_path.name}")

    def _key_text(self) -> str | None:
        return self.signing_key.secret.decode("utf-8") if self.signing_key else None

    def _judge(self, time, tenure: _Tenure, bars: TradedBars) -> list[Retired]:
        """Judge the live set on its settled decisions; retire it when it fails."""
        name = self.predictor.set_path.name
        if not self.judging.config.retirement.enabled:
            return []
        retirement = self.predictor.retirement()
        if retirement is not None and retirement.active:
            if self.journal.has_event("retired", name, since=tenure.started):
                return []
            # Retired elsewhere (the weekly job), or by this trader just before a kill:
            # journalled now, at the first candle that sees it.
            return [Retired(name, _iso(time), None, retirement.reason, retirement.at)]
        metadata = self.predictor.metadata
        health = judge_live(
            bars, float(metadata["ensemble_metrics"]["mcc"]),
            int(metadata["evaluation"]["holdout"]["samples"]), self.judging,
        )  # fmt: skip
        if health is None or not health.failed:
            return []
        reason = "; ".join(health.problems)
        model_hash = metadata["version_control"]["model_hash"]
        retire(self.predictor.set_path, model_hash, _iso(time), reason, health.evidence(),
               self.signing_key)  # fmt: skip
        return [Retired(name, _iso(time), health, reason, _iso(time))]
