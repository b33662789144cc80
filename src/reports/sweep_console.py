"""Plain-text table of a sweep (`dev_check.py sweep`): one row per setup, best first, then the
search's verdict and the best setup's config diff. Reads the sweep's summary.json."""

from __future__ import annotations

import textwrap

from src.reports.console import WIDTH
from src.reports.figures import format_metric

_HEADER = (
    f"{'#':>3} {'setup':<34}{'market':<14}{'net':>9}{'B&H':>9}{'excess':>9}"
    f"{'90% over weeks':>19}{'prom':>5}{'MCC':>6}"
)


def short_name(values: dict) -> str:
    """The setup by the last part of each key: horizon=4 timeframe=1h."""
    return " ".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in values.items())


def _interval(interval: dict | None) -> str:
    if interval is None:
        return "n/a"
    return f"{interval['low']:+.1%}..{interval['high']:+.1%}"


def _row(setup: dict) -> str:
    market = f"{setup['market']['symbol']} {setup['market']['timeframe']}"
    return (
        f"{setup['rank']:>3} {short_name(setup['values'])[:33]:<34}{market[:13]:<14}"
        f"{setup['net_return']:>+9.2%}{setup['buy_and_hold']:>+9.2%}{setup['excess']:>+9.2%}"
        f"{_interval(setup['interval']):>19}{setup['promotions']:>5}"
        f"{format_metric(setup['mean_live_mcc'], '.2f'):>6}"
    )


def sweep_table(summary: dict) -> str:
    legend = (
        f"Each setup replayed as the weekly job over the same {summary['weeks']} weeks "
        f"({summary['first_week']} .. {summary['last_week']}), gate included: net: its "
        "compounded net return after costs on the week after each run; B&H: buy-and-hold of its "
        "market; excess: net relative to B&H, with its 90% interval over weeks (n/a under 8 "
        "weeks); prom: promotions; MCC: mean live MCC. Best first."
    )
    rows = sorted(summary["setups"], key=lambda setup: setup["rank"])
    return "\n".join([textwrap.fill(legend, WIDTH), _HEADER, *(_row(s) for s in rows)])


def sweep_verdict(summary: dict) -> str:
    lines = [textwrap.fill(summary["sentence"], WIDTH)]
    if summary["config_diff"]:
        lines.append("The best setup's config diff (not applied):")
        lines += [
            f"  {change['file']}: {key}: {change['from']!r} -> {change['to']!r}"
            for key, change in summary["config_diff"].items()
        ]
    return "\n".join(lines)
