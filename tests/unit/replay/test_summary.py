"""The summary's totals, intervals over weeks and verdicts, on made-up weekly returns."""

from __future__ import annotations

import numpy as np
import pytest

from src.replay.summary import summarise


def _records(job, never, always, held, retiring=None) -> list[dict]:
    retiring = job if retiring is None else retiring

    def week(k, values):
        following = {
            name: {"net_return": value, "mcc": 0.1 if name == "weekly_job" else None}
            for name, value in zip(
                ("weekly_job", "never_retrain", "always_promote", "buy_and_hold",
                 "weekly_job_retirement"),  # fmt: skip
                values,
                strict=True,
            )
        }
        return {
            "week": f"w{k:02d}",
            "outcome": {"following_week": following, "promoted": k == 0, "live_set": "w00"},
        }

    weekly = zip(job, never, always, held, retiring, strict=True)
    return [week(k, values) for k, values in enumerate(weekly)]


def test_a_steady_edge_beats_a_steady_loss_is_worse_and_noise_cannot_be_told_apart():
    rng = np.random.default_rng(0)
    weeks = 26
    job = 0.01 + rng.normal(0, 0.002, weeks)
    records = _records(
        job,
        job - 0.01,  # the job earns 1% a week more than never retraining
        job + 0.01,  # and 1% less than always promoting
        job + rng.normal(0, 0.05, weeks),  # buy-and-hold: noise around the job
        job + 0.005,  # retirement: 0.5% a week more
    )
    summary = summarise(records, samples=500, seed=1)
    verdicts = {name: c["verdict"] for name, c in summary["comparisons"].items()}
    assert verdicts == {
        "weekly_job_retirement": "did worse than",
        "never_retrain": "beat",
        "always_promote": "did worse than",
        "buy_and_hold": "could not be told apart from",
    }
    assert summary["totals"]["weekly_job"] == pytest.approx(np.prod(1 + job) - 1)
    for comparison in summary["comparisons"].values():
        interval = comparison["interval"]
        assert interval["low"] <= comparison["excess"] <= interval["high"]
    assert "it beat never retraining" in summary["sentence"]
    assert summary["mean_live_mcc"] == pytest.approx(0.1)
