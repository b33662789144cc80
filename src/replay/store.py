"""The replay's --out directory: one JSON per week (its candidate, then its outcome) and the
week's pickled set, each written atomically, so an interrupted replay resumes from the weeks
whose files are complete.

    weeks/<week>.json   the candidate's record; "outcome" added once the gate is replayed
    sets/<week>.pkl     ensemble, policy and holdout (written before the JSON)
    summary.json        the summary; report.html is written beside it by the CLI

The pickles are this replay's own, read back only by it; they never enter models/.
"""

from __future__ import annotations

import json
import pickle
from pathlib import Path

from src.atomic import atomic_write_bytes, sha256_hex
from src.registry.metadata import nan_to_none
from src.replay.calendar import Week


class ReplayStoreError(RuntimeError):
    """A week's files in --out do not belong together."""


class ReplayStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _record_path(self, week: Week) -> Path:
        return self.root / "weeks" / f"{week.key}.json"

    def _set_path(self, week: Week) -> Path:
        return self.root / "sets" / f"{week.key}.pkl"

    def record(self, week: Week) -> dict | None:
        try:
            return json.loads(self._record_path(week).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _set_bytes(self, week: Week, record: dict) -> bytes | None:
        """The week's pickled set if it is the one its record was written with."""
        try:
            data = self._set_path(week).read_bytes()
        except FileNotFoundError:
            return None
        return data if sha256_hex(data) == record.get("set_sha256") else None

    def trained(self, week: Week, fingerprint: str) -> bool:
        """The week was trained with these settings on these candles, and its set is the one
        its record describes (a kill between the two files leaves them apart)."""
        record = self.record(week)
        return (
            record is not None
            and record["fingerprint"] == fingerprint
            and self._set_bytes(week, record) is not None
        )

    def save_candidate(self, week: Week, record: dict, model_set: bytes) -> None:
        atomic_write_bytes(self._set_path(week), model_set)
        self._write_json(self._record_path(week), {**record, "set_sha256": sha256_hex(model_set)})

    def save_outcome(self, week: Week, outcome: dict) -> None:
        record = self.record(week)
        self._write_json(self._record_path(week), {**record, "outcome": outcome})

    def load_set(self, week: Week) -> dict:
        """Unpickled only when its sha256 is the one recorded beside it (pickle runs code)."""
        data = self._set_bytes(week, self.record(week))
        if data is None:
            raise ReplayStoreError(
                f"{self._set_path(week)} is not the set {self._record_path(week)} records; "
                "delete both and run the replay again"
            )
        return pickle.loads(data)

    def save_summary(self, summary: dict) -> None:
        self._write_json(self.root / "summary.json", summary)

    @staticmethod
    def _write_json(path: Path, value: dict) -> None:
        text = json.dumps(nan_to_none(value), indent=2, sort_keys=True, allow_nan=False)
        atomic_write_bytes(path, text.encode("utf-8"))
