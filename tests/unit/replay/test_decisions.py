"""The replayed gate on a signal that switches on halfway, and what each policy traded."""

from __future__ import annotations

import json

import numpy as np
import pytest

from tests.unit.replay.conftest import SIGNAL_FROM


def _outcomes(replay):
    return [week["outcome"] for week in replay.weeks]


def test_the_gate_keeps_nothing_live_without_signal_and_promotes_once_there_is(switching_replay):
    replay, _ = switching_replay
    outcomes = _outcomes(replay)
    windows_with_signal = [week["window"]["end"] > SIGNAL_FROM.isoformat() for week in replay.weeks]
    assert windows_with_signal == [False, False, True, True]
    assert [o["promoted"] for o in outcomes] == [False, False, True, True]
    assert "min_f1" in outcomes[0]["failed_checks"] and "min_f1" in outcomes[1]["failed_checks"]
    assert [o["live_set"] for o in outcomes] == [None, None, replay.weeks[2]["week"],
                                                 replay.weeks[3]["week"]]  # fmt: skip
    # The last candidate met champion/challenger against the set live that week.
    checks = {c["name"]: c for c in outcomes[3]["gate"]["checks"]}
    assert checks["max_drop_vs_production"]["passed"]
    assert "max_drop_vs_production" not in {c["name"] for c in outcomes[2]["gate"]["checks"]}


def test_each_policy_trades_the_following_week_with_its_own_set(switching_replay):
    replay, _ = switching_replay
    first, weeks = replay.weeks[0]["week"], replay.weeks
    for week, outcome in zip(weeks, _outcomes(replay), strict=True):
        following = outcome["following_week"]
        assert following["rows"] == 7 * 96  # every bar of the week, settled on its next candle
        assert following["never_retrain"]["set"] == first
        assert following["always_promote"]["set"] == week["week"]
        assert following["weekly_job"]["set"] == outcome["live_set"]
    nothing_live = _outcomes(replay)[1]["following_week"]
    assert nothing_live["weekly_job"] == {
        "set": None, "mcc": None, "roc_auc": None, "net_return": 0.0, "trades": 0
    }  # fmt: skip
    promoted = _outcomes(replay)[3]["following_week"]
    assert promoted["weekly_job"] == promoted["always_promote"]
    assert promoted["weekly_job"]["mcc"] > promoted["mcc_noise"]  # live skill beyond noise
    assert promoted["weekly_job"]["net_return"] > promoted["buy_and_hold"]["net_return"]


def test_the_summary_compounds_the_weeks_and_says_who_won(switching_replay):
    replay, out_dir = switching_replay
    summary = replay.summary
    job = [o["following_week"]["weekly_job"]["net_return"] for o in _outcomes(replay)]
    assert summary["totals"]["weekly_job"] == pytest.approx(np.prod(1 + np.array(job)) - 1)
    assert summary["promotions"] == 2 and summary["weeks_without_live_set"] == 2
    # Four weeks are too few for an interval over weeks: no verdict is claimed.
    never = summary["comparisons"]["never_retrain"]
    assert never["interval"] is None
    assert "needs at least 8 weeks to be compared with never retraining" in summary["sentence"]
    assert summary["sentence"].startswith("Over 4 weeks the weekly job with the gate made")
    assert json.loads((out_dir / "summary.json").read_text()) == summary
    written = json.loads((out_dir / "weeks" / f"{replay.weeks[3]['week']}.json").read_text())
    assert written == replay.weeks[3]
