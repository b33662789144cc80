"""Plain-text tables of a replay (`dev_check.py replay`): one row per weekly run, then the
summary against the alternatives. Reads the replay's JSON records, so it needs nothing from
src/replay/."""

from __future__ import annotations

import textwrap

from src.reports.console import WIDTH
from src.reports.figures import format_metric

_HEADER = (
    f"{'run':<11}{'window':<13}{'decision':<26}{'live':<7}{'age':>3}"
    f"{'cand':>7}{'MCC':>6}{'net':>9}{'retire':>10}{'B&H':>8}"
)
_POLICIES = {
    "weekly_job": "weekly job with the gate",
    "weekly_job_retirement": "... and retirement",
    "never_retrain": "never retrain (first set)",
    "always_promote": "always promote (no gate)",
    "buy_and_hold": "buy-and-hold",
}


# The gate's checks, short enough for the table (the legend spells them out).
_CHECKS = {
    "min_f1": "F1",
    "gain_over_best_baseline": "base",
    "money": "money",
    "max_drop_vs_production": "champ",
}


def _decision(outcome: dict) -> str:
    if outcome["promoted"]:
        return "promoted"
    return "kept: " + ",".join(_CHECKS.get(name, name) for name in outcome["failed_checks"])


def _row(week: dict) -> str:
    outcome = week["outcome"]
    following, live = outcome["following_week"], outcome["following_week"]["weekly_job"]
    window = f"{week['window']['start'][5:10]}..{week['window']['end'][5:10]}"
    age = outcome["live_age_weeks"]
    return (
        f"{week['run_at'][:10]:<11}{window:<13}"
        f"{_decision(outcome):<26}{_live_set(outcome['live_set']):<7}"
        f"{'-' if age is None else age:>3}"
        f"{format_metric(week['ensemble_metrics']['mcc']):>7}"
        f"{format_metric(live['mcc'], '.2f'):>6}"
        f"{format_metric(live['net_return'], '+.2%'):>9}"
        f"{_retiring(following['weekly_job_retirement']):>10}"
        f"{format_metric(following['buy_and_hold']['net_return'], '+.2%'):>8}"
    )


def _live_set(key: str | None) -> str:
    """The live set by the month and day of the run that trained it (the run column has the
    year)."""
    return key[5:10] if key else "none"


def _retiring(week: dict) -> str:
    """The retirement policy's week: its net, R once its live set is retired (flat after)."""
    return ("R" if week["retired_at"] else "") + format_metric(week["net_return"], "+.2%")


def replay_table(weeks: list[dict]) -> str:
    """A row per run: its training window, the gate's decision (the failed checks when kept),
    the set live for the following week and its age in weeks, the candidate's holdout MCC, and
    the live set's MCC and net return after costs on the following week, beside the retirement
    policy's and buy-and-hold's."""
    legend = (
        "Each run (at the schedule's hour, UTC) as the weekly job would have done it; live: the "
        "set live for the following week, by the run that trained it; age: its age in weeks. "
        "cand: the candidate's MCC on its own holdout (the last 20% of its window). MCC, net: "
        "the live set on the following week, which no training of that run saw, net after "
        "costs; retire: the weekly job with "
        "retirement that week (R: its live set is retired, flat from the bar it failed); B&H: "
        "buy-and-hold that week. "
        "kept: the failed checks (F1: the seed's F1 floor; base: gain over the best baseline; "
        "money: net return after costs against buy-and-hold; champ: champion/challenger)."
    )
    return "\n".join([textwrap.fill(legend, WIDTH), _HEADER, *(_row(w) for w in weeks)])


def replay_summary(summary: dict) -> str:
    lines = [
        textwrap.fill(
            f"Summary over {summary['weeks']} weeks ({summary['first_week']} .. "
            f"{summary['last_week']}): compounded net return after costs on the week after each "
            "run",
            WIDTH,
        )
    ]
    for name, label in _POLICIES.items():
        lines.append(f"  {label:<28}{summary['totals'][name]:>+10.2%}")
    mean_mcc = format_metric(summary["mean_live_mcc"])
    lines.append(
        f"  {summary['promotions']} promotions; {summary['weeks_without_live_set']} weeks with "
        f"no set live (flat); mean live MCC {mean_mcc} over the weeks with a live set"
    )
    lines.append(textwrap.fill(summary["sentence"], WIDTH))
    return "\n".join(lines)
