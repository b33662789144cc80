"""The replay's console table and its self-contained HTML report."""

from __future__ import annotations

import re

from src.reports.console import WIDTH
from src.reports.html_report import render_replay_report
from src.reports.replay_console import replay_summary, replay_table


def test_the_table_has_a_row_per_run_within_the_console_width(switching_replay):
    replay, _ = switching_replay
    table = replay_table(replay.weeks)
    rows = [line for line in table.splitlines() if line.startswith("2025-")]
    assert len(rows) == 4 and all(len(line) <= WIDTH for line in table.splitlines())
    assert rows[0].split()[:3] == ["2025-01-13", "01-03..01-13", "kept:"]
    assert "F1" in rows[0].split()[3].split(",")  # the seed's F1 floor failed
    assert rows[0].split()[4:6] == ["none", "-"]  # nothing live, so no age
    assert rows[2].split()[2:5] == ["promoted", "01-27", "0"]
    summary = replay_summary(replay.summary)
    assert "weekly job with the gate" in summary and "2 promotions" in summary
    assert all(len(line) <= WIDTH for line in summary.splitlines())


def test_the_report_is_self_contained_with_both_plots_and_every_run(switching_replay):
    replay, _ = switching_replay
    html = render_replay_report(replay.weeks, replay.summary, 10, "generated")
    inline_png = r'<img alt="[^"]+" width="\d+" height="\d+"\s+src="data:image/png;base64,'
    assert len(re.findall(inline_png, html)) == 2
    assert not re.search(r"(src|href)=\"(http|//)", html)
    assert html.count("kept: min_f1") == 2 and html.count(">promoted<") == 2
    assert replay.summary["sentence"].split(";")[0] in html
