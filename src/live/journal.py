"""The paper trader's journal: one row per closed candle in SQLite (the standard library's).

    decisions  candle_time (UTC ISO 8601, the candle's open), set_name, p_up, position (held
               over the next bar), price (the close), bar_net (what the position held into this
               candle earned over it, after the costs of the trade that opened it), cumulative_net
    events     candle_time, kind (start, switch, gap, retired), set_name, detail
    state      the feature stream's state after the newest row, and what the journal is of

A candle's row, its events and the stream state after it are written in one transaction, so a
kill at any moment leaves the journal at the end of a candle: the next run resumes after it, and
nothing is lost or written twice.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from filelock import FileLock, Timeout

_SCHEMA = """
CREATE TABLE IF NOT EXISTS decisions (
    candle_time TEXT PRIMARY KEY,
    set_name TEXT NOT NULL,
    p_up REAL NOT NULL,
    position INTEGER NOT NULL,
    price REAL NOT NULL,
    bar_net REAL NOT NULL,
    cumulative_net REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS events (
    candle_time TEXT NOT NULL,
    kind TEXT NOT NULL,
    set_name TEXT NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (candle_time, kind, set_name)
);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
DECISION_COLUMNS = (
    "candle_time", "set_name", "p_up", "position", "price", "bar_net", "cumulative_net",
)  # fmt: skip


class JournalError(ValueError):
    """The journal cannot be used: unreadable, another market's, or not a journal at all."""


@dataclass(frozen=True)
class Decision:
    candle_time: str
    set_name: str
    p_up: float
    position: int
    price: float
    bar_net: float
    cumulative_net: float

    def row(self) -> tuple:
        return tuple(getattr(self, name) for name in DECISION_COLUMNS)


@dataclass(frozen=True)
class Event:
    candle_time: str
    kind: str
    set_name: str
    detail: str


class Journal:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        if self.path.is_dir():
            raise JournalError(f"{self.path} is a directory; name a file for the --journal")
        # One trader per journal: a second would append the same candles (refused by the
        # primary key, after it had judged and perhaps retired on them).
        self._lock = FileLock(self.path.with_name(self.path.name + ".lock"), timeout=0)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._lock.acquire()
        except Timeout as exc:
            raise JournalError(
                f"another paper trader is using {self.path}; stop it first, or pass another "
                "--journal"
            ) from exc
        except OSError as exc:
            raise JournalError(f"cannot use {self.path} as the paper journal ({exc})") from exc
        try:
            self._db = sqlite3.connect(self.path, isolation_level=None)  # explicit transactions
            self._db.execute("PRAGMA journal_mode=WAL")  # readers never block the trader
            # NORMAL: in WAL mode a kill never loses a committed candle (only a power cut may
            # lose the newest ones, never corrupt the journal), without an fsync per candle.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
            columns = [row[1] for row in self._db.execute("PRAGMA table_info(decisions)")]
        except (sqlite3.Error, OSError) as exc:
            self._lock.release()
            raise JournalError(
                f"cannot use {self.path} as the paper journal ({exc}); pass another --journal"
            ) from exc
        if tuple(columns) != DECISION_COLUMNS:
            self.close()
            raise JournalError(
                f"{self.path} holds a `decisions` table of other columns ({', '.join(columns)}): "
                "it is not a paper journal; pass another --journal"
            )

    def close(self) -> None:
        self._db.close()
        self._lock.release()

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # -- reading --------------------------------------------------------------------------------
    def last(self) -> Decision | None:
        row = self._db.execute(
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions "
            "ORDER BY candle_time DESC LIMIT 1"
        ).fetchone()
        return Decision(*row) if row else None

    def decisions(self, since: str | None = None) -> list[Decision]:
        """Every row, oldest first (from `since`, inclusive)."""
        rows = self._db.execute(
            f"SELECT {', '.join(DECISION_COLUMNS)} FROM decisions WHERE candle_time >= ? "
            "ORDER BY candle_time",
            (since or "",),
        ).fetchall()
        return [Decision(*row) for row in rows]

    def events(self) -> list[Event]:
        rows = self._db.execute(
            "SELECT candle_time, kind, set_name, detail FROM events ORDER BY candle_time, rowid"
        ).fetchall()
        return [Event(*row) for row in rows]

    def has_event(self, kind: str, set_name: str, since: str = "") -> bool:
        found = self._db.execute(
            "SELECT 1 FROM events WHERE kind = ? AND set_name = ? AND candle_time >= ? LIMIT 1",
            (kind, set_name, since),
        ).fetchone()
        return found is not None

    def first_row_of(self, set_name: str) -> str | None:
        """When `set_name` last went live: the first row after the newest switch to it."""
        row = self._db.execute(
            "SELECT MAX(candle_time) FROM events WHERE kind IN ('start', 'switch') "
            "AND set_name = ?",
            (set_name,),
        ).fetchone()
        return row[0]

    def state(self, key: str) -> str | None:
        row = self._db.execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    # -- writing --------------------------------------------------------------------------------
    def append(self, decision: Decision, events: list[Event], state: dict[str, str]) -> None:
        """The candle's row, its events and the state after it, in one transaction."""
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
            db.execute(
                f"INSERT INTO decisions VALUES ({', '.join('?' * len(DECISION_COLUMNS))})",
                decision.row(),
            )
            db.executemany(
                "INSERT OR IGNORE INTO events VALUES (?, ?, ?, ?)",
                [(e.candle_time, e.kind, e.set_name, e.detail) for e in events],
            )
            db.executemany("INSERT OR REPLACE INTO state VALUES (?, ?)", list(state.items()))
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.Error):
                raise JournalError(
                    f"cannot append the candle {decision.candle_time} to {self.path} ({exc}); "
                    "nothing of it was written"
                ) from exc
            raise
