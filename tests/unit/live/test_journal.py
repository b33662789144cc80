"""The paper journal: one transaction per candle, resumable, refusing what is not a journal."""

from __future__ import annotations

import sqlite3

import pytest

from src.live.journal import Decision, Event, Journal, JournalError


def _decision(minute: int, position: int = 0) -> Decision:
    return Decision(f"2025-01-01T00:{minute:02d}:00+00:00", "set-a", 0.6, position, 100.0, 0.0, 0.0)


def test_rows_events_and_state_read_back_in_order(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.append(_decision(0), [Event("2025-01-01T00:00:00+00:00", "start", "set-a", "")],
                       {"stream": "s0"})  # fmt: skip
        journal.append(_decision(15, 1), [], {"stream": "s1"})
    with Journal(tmp_path / "j.sqlite") as journal:
        assert [d.position for d in journal.decisions()] == [0, 1]
        assert journal.last() == _decision(15, 1)
        assert journal.state("stream") == "s1"
        assert journal.first_row_of("set-a") == "2025-01-01T00:00:00+00:00"
        assert journal.has_event("start", "set-a") and not journal.has_event("retired", "set-a")


def test_a_failed_append_leaves_the_journal_at_the_previous_candle(tmp_path):
    with Journal(tmp_path / "j.sqlite") as journal:
        journal.append(_decision(0), [], {"stream": "s0"})
        with pytest.raises(JournalError, match="nothing of it was written"):
            journal.append(_decision(0), [Event("x", "gap", "set-a", "")], {"stream": "s1"})
        assert len(journal.decisions()) == 1
        assert journal.events() == [] and journal.state("stream") == "s0"


def test_a_file_that_is_not_a_journal_is_refused_by_name(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("these are not candles, " * 100)
    with pytest.raises(JournalError, match="notes.sqlite.*another --journal"):
        Journal(path)


def test_another_table_of_decisions_is_not_a_journal(tmp_path):
    path = tmp_path / "other.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE decisions (id INTEGER, verdict TEXT)")
    with pytest.raises(JournalError, match="other columns \\(id, verdict\\)"):
        Journal(path)


def test_a_second_trader_on_the_same_journal_is_refused(tmp_path):
    refused = pytest.raises(JournalError, match="another paper trader is using")
    with Journal(tmp_path / "j.sqlite"), refused:
        Journal(tmp_path / "j.sqlite")
    Journal(tmp_path / "j.sqlite").close()  # free again once the first has closed

