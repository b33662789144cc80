"""The sweep's self-contained HTML report (templates/sweep.html.j2), from its summary."""

from __future__ import annotations

from src.reports.templating import TEMPLATES


def render_sweep_report(summary: dict, days: int) -> str:
    setups = sorted(summary["setups"], key=lambda setup: setup["rank"])
    return TEMPLATES.get_template("sweep.html.j2").render(summary=summary, setups=setups, days=days)
