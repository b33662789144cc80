"""The gate's decisions replayed in order, and each week's trading by the set left live.

Week by week, oldest first, as the job would have run: the candidate meets the same gate as in
src/retrain.py, champion/challenger included against the set live at that moment; a promotion
makes it live. The live set then trades the following week's decision rows, which no training
of that week saw, settled by the holdout check's own code (next candle, fees, never across a
gap). Beside it, on the same rows: the first week's candidate kept forever (never retrain),
each week's candidate whatever the gate said (always promote), and buy-and-hold. Every policy
pays the cost per side that week's run estimated from its own training window (the candles
before its holdout), applied to the week it trades.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from src.candidate import champion_on_holdout
from src.config import Settings
from src.ml.bootstrap import two_standard_errors
from src.ml.evaluation import probability_metrics
from src.ml.gate import Money, Skill, evaluate_gate
from src.ml.labels import build_dataset
from src.ml.trading import holdout_trading
from src.registry.trading_record import CostRecord, Interval, StrategyStats
from src.replay.calendar import Week
from src.replay.retirement import RetiringLive, trade_week
from src.replay.store import ReplayStore

Progress = Callable[[str], None]
POLICIES = ("weekly_job", "weekly_job_retirement", "never_retrain", "always_promote")


@dataclass(frozen=True)
class _Live:
    index: int  # the week it was promoted
    week: Week
    model_set: dict
    fit_end: pd.Timestamp


def _money(record: dict) -> Money:
    money = record["money"]
    return Money(
        money["policy_flat"],
        StrategyStats(**money["policy"]),
        StrategyStats(**money["buy_and_hold"]),
        Interval(**money["excess_interval"]),
        CostRecord(**money["costs"]),
    )


class _WeekGate:
    """The week's candidate at the gate, against a given live set (each compared once)."""

    def __init__(self, record: dict, holdout, settings: Settings, progress: Progress) -> None:
        self.record, self.holdout = record, holdout
        self.settings, self.progress = settings, progress
        self.champions: dict[int, object] = {}  # by the week the live set was promoted

    def against(self, live: _Live | None):
        champion = None
        if live is not None:
            if live.index not in self.champions:
                self.champions[live.index] = champion_on_holdout(
                    live.model_set["ensemble"], live.fit_end, self.holdout, self.settings,
                    self.progress,
                )  # fmt: skip
            champion = self.champions[live.index]
        record = self.record
        skill = Skill(record["ensemble_metrics"], record["baselines"],
                      Interval(**record["gain_interval"]))  # fmt: skip
        return evaluate_gate(skill, champion, _money(record), self.settings.quality_gate)


def _following_week(candles: pd.DataFrame, week: Week, settings: Settings, threshold: float):
    """Features and labels of the following week's decision rows, and the candles that settle
    them (nothing after the candle opening at the next run); labelled with the threshold the
    week's set was trained with."""
    window = week.trading_candles(candles)
    horizon = settings.training.label.horizon
    # Labels of the week's last decisions need the closes `horizon` bars on, after the candle
    # that settles them: read for the skill measures only, never to trade.
    start, end = candles.index.searchsorted([week.window_start, week.next_run], side="left")
    labelled = candles.iloc[start : end + horizon]
    X, y = build_dataset(labelled, horizon, threshold)
    rows = (X.index >= week.run_at) & (X.index < week.next_run)
    return X.loc[rows], y.loc[rows], window


def _trade(model_set: dict | None, set_key: str | None, X, y, candles, cost, settings) -> dict:
    if model_set is None:  # nothing live: the bot does not trade
        return {"set": None, "mcc": None, "roc_auc": None, "net_return": 0.0, "trades": 0}
    p_up = pd.Series(model_set["ensemble"].predict_proba(X)[:, 1], index=X.index)
    checked = holdout_trading(
        candles, model_set["policy"], p_up, y, cost, settings.trading, settings.training.seed
    )
    metrics = probability_metrics(y, p_up)
    policy = checked.record.policy
    return {
        "set": set_key,
        "mcc": metrics["mcc"],
        "roc_auc": metrics["roc_auc"],
        "net_return": policy.net_return,
        "gross_return": policy.gross_return,
        "trades": policy.trades,
        "time_in_market": policy.time_in_market,
        "buy_and_hold": checked.record.buy_and_hold.net_return,
    }


def replay_decisions(
    settings: Settings,
    candles: pd.DataFrame,
    weeks: list[Week],
    store: ReplayStore,
    progress: Progress,
) -> list[dict]:
    """Each week's record with its "outcome": the decision, the live set, the following week."""
    live: _Live | None = None
    retiring: tuple[_Live, RetiringLive] | None = None  # the retirement policy's live set
    first_set = None
    records = []
    for index, week in enumerate(weeks):
        record, model_set = store.record(week), store.load_set(week)
        first_set = first_set or model_set
        week_gate = _WeekGate(record, model_set["holdout"], settings, progress)
        gate = week_gate.against(live)
        candidate = _Live(index, week, model_set, pd.Timestamp(record["fit_end"]))
        if gate.passed:
            live = candidate
        if retiring is None or retiring[1].retired_at is None:
            promoted = week_gate.against(retiring and retiring[0]).passed
        else:  # a retired set is no champion
            promoted = week_gate.against(None).passed
        if promoted:
            mcc, rows = record["ensemble_metrics"]["mcc"], record["holdout"]["rows"]
            retiring = (candidate, RetiringLive(week.key, model_set, mcc, rows))
        X, y, window = _following_week(candles, week, settings, record["label_threshold"])
        cost = record["money"]["costs"]["cost_per_side"]
        following = {
            "weekly_job": _trade(
                live and live.model_set, live and live.week.key, X, y, window, cost, settings
            ),
            "weekly_job_retirement": trade_week(
                retiring and retiring[1], X, y, window, cost, settings
            ),
            "never_retrain": _trade(first_set, weeks[0].key, X, y, window, cost, settings),
            "always_promote": _trade(model_set, week.key, X, y, window, cost, settings),
        }
        outcome = {
            "promoted": gate.passed,
            "failed_checks": [check.name for check in gate.checks if not check.passed],
            "gate": gate.to_dict(),
            "live_set": live.week.key if live else None,
            "live_age_weeks": index - live.index if live else None,
            "following_week": {
                "start": week.run_at.isoformat(),
                "end": week.next_run.isoformat(),
                "rows": len(y),
                "mcc_noise": two_standard_errors("mcc", len(y)),
                "cost_per_side": cost,
                **following,
                "buy_and_hold": {"net_return": following["always_promote"]["buy_and_hold"]},
            },
        }
        store.save_outcome(week, outcome)
        records.append(store.record(week))  # as written: what a resumed replay reads
        progress(
            f"week {week.key}: {'promoted' if gate.passed else 'kept'}; live set "
            f"{outcome['live_set']}; following week net "
            f"{following['weekly_job']['net_return']:+.2%}"
        )
    return records
