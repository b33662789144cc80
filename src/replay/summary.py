"""The replay's summary: each policy's compounded net return over the replayed weeks, and
whether the weekly job with the gate beat the others, with a bootstrap interval over weeks."""

from __future__ import annotations

import numpy as np

from src.ml.bootstrap import total_return_interval

ALTERNATIVES = {
    "weekly_job_retirement": "the weekly job with retirement (the live set judged at every bar)",
    "never_retrain": "never retraining (the first week's set forever)",
    "always_promote": "always promoting (no gate)",
    "buy_and_hold": "buy-and-hold",
}


def _weekly(records: list[dict], policy: str) -> np.ndarray:
    return np.array([r["outcome"]["following_week"][policy]["net_return"] for r in records])


def weekly_excess(records: list[dict], other: str = "buy_and_hold") -> np.ndarray:
    """The weekly job's net return relative to `other`'s, week by week: (1+job)/(1+other) - 1,
    whose product over the weeks is the ratio of the two compounded totals."""
    return (1 + _weekly(records, "weekly_job")) / (1 + _weekly(records, other)) - 1


# Fewer weeks than this and a bootstrap over weeks has too few blocks to mean anything.
MIN_WEEKS_FOR_INTERVAL = 8


def _verdict(interval) -> str:
    if interval is None:
        return f"needs at least {MIN_WEEKS_FOR_INTERVAL} weeks to be compared with"
    if interval.low > 0:
        return "beat"
    if interval.high < 0:
        return "did worse than"
    return "could not be told apart from"


def _interval_text(interval: dict | None) -> str:
    if interval is None:
        return ""
    return f", 90% interval [{interval['low']:+.2%}, {interval['high']:+.2%}] over weeks"


def summarise(records: list[dict], samples: int, seed: int) -> dict:
    """Totals per policy after costs, and the gate's excess over each alternative: the ratio of
    compounded totals minus 1, with a 90% moving-block bootstrap interval over the weeks (from
    MIN_WEEKS_FOR_INTERVAL weeks on). The verdict is "beat" only when the whole interval is
    above zero."""
    job = _weekly(records, "weekly_job")
    totals = {"weekly_job": float(np.prod(1 + job) - 1)}
    comparisons = {}
    for name in ALTERNATIVES:
        totals[name] = float(np.prod(1 + _weekly(records, name)) - 1)
        relative = weekly_excess(records, name)
        interval = None
        if len(records) >= MIN_WEEKS_FOR_INTERVAL:
            interval = total_return_interval(relative, samples, seed)
        comparisons[name] = {
            "excess": float(np.prod(1 + relative) - 1),
            "interval": interval and {"low": interval.low, "high": interval.high},
            "verdict": _verdict(interval),
        }
    live_mcc = [r["outcome"]["following_week"]["weekly_job"]["mcc"] for r in records]
    live_mcc = [value for value in live_mcc if value is not None]
    weeks = len(records)
    against = "; it ".join(
        f"{comparisons[name]['verdict']} {label} ({totals[name]:+.2%}; excess "
        f"{comparisons[name]['excess']:+.2%}{_interval_text(comparisons[name]['interval'])})"
        for name, label in ALTERNATIVES.items()
    )
    sentence = (
        f"Over {weeks} weeks the weekly job with the gate made {totals['weekly_job']:+.2%} "
        f"after costs; it {against}."
    )
    return {
        "weeks": weeks,
        "first_week": records[0]["week"],
        "last_week": records[-1]["week"],
        "promotions": sum(r["outcome"]["promoted"] for r in records),
        "weeks_without_live_set": sum(r["outcome"]["live_set"] is None for r in records),
        "mean_live_mcc": float(np.mean(live_mcc)) if live_mcc else None,
        "totals": totals,
        "comparisons": comparisons,
        "bootstrap": {"samples": samples, "seed": seed, "level": 0.9, "over": "weeks"},
        "sentence": sentence,
    }
