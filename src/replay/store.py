"""The replay's --out directory: one JSON per week (its candidate, then its outcome) and the
week's pickled set, each written atomically, so an interrupted replay resumes from the weeks
whose files are complete.

    weeks/<week>.json   the candidate's record; "outcome" added once the gate is replayed
    sets/<week>.pkl     ensemble, policy and holdout (written before the JSON)
    sets/<week>.sig     with MODEL_SIGNING_KEY: the HMAC of the pickle (written before the JSON)
    summary.json        the summary; report.html is written beside it by the CLI

The pickles are this replay's own, read back only by it; they never enter models/. Pickle runs
code, so a set is unpickled only when its sha256 is the one its week's JSON records and, with a
signing key, when its signature (the registry's: src/registry/signing.py) is the key's: rewriting
the JSON beside a planted pickle does not pass. A week whose files do not pass is trained again.
"""

from __future__ import annotations

import json
import os
import pickle
from pathlib import Path

from src.atomic import atomic_write_bytes, ensure_room, sha256_hex
from src.registry.errors import IntegrityError, SignatureError
from src.registry.metadata import nan_to_none
from src.registry.signing import SIGNING_KEY_ENV, SigningKey, check_signature
from src.registry.verify import read_optional
from src.replay.calendar import Week

_OUT_HINT = "free space there or pass another --out"


class ReplayStoreError(RuntimeError):
    """--out cannot hold the replay's files, or a week's files there do not belong together."""


def check_out_dir(root: Path) -> None:
    """Refuse an --out that cannot take the replay's files, before anything is fetched or
    trained, and without creating anything: it, weeks/ or sets/ is a file or lies under one,
    is not writable, or its file system has no room left."""
    for folder in (root, root / "weeks", root / "sets"):
        existing = next(path for path in (folder, *folder.parents) if path.exists())
        if not existing.is_dir():
            raise ReplayStoreError(
                f"cannot use {folder} for the replay's files: {existing} is a file, not a "
                "directory; pass another --out"
            )
        if not os.access(existing, os.W_OK | os.X_OK):
            raise ReplayStoreError(
                f"cannot write the replay's files into {existing}: it is not writable by this "
                "user (or on a read-only file system); pass another --out"
            )
    # Only the margin: a week's files are sized when it has been trained, and a write that does
    # not fit then still stops the run with exit 2.
    ensure_room(root, (), _OUT_HINT)


class ReplayStore:
    def __init__(self, root: Path, signing_key: SigningKey | None = None) -> None:
        self.root = Path(root)
        self.signing_key = signing_key
        self.untrusted: dict[str, str] = {}  # week -> why its set was not unpickled

    def _record_path(self, week: Week) -> Path:
        return self.root / "weeks" / f"{week.key}.json"

    def _set_path(self, week: Week) -> Path:
        return self.root / "sets" / f"{week.key}.pkl"

    def _signature_path(self, week: Week) -> Path:
        return self.root / "sets" / f"{week.key}.sig"

    def record(self, week: Week) -> dict | None:
        """The week's record; None when it is missing, truncated or not a record at all."""
        try:
            record = json.loads(self._record_path(week).read_text(encoding="utf-8"))
        except (FileNotFoundError, IsADirectoryError, UnicodeDecodeError, json.JSONDecodeError):
            return None
        return record if isinstance(record, dict) else None

    def _set_bytes(self, week: Week, record: dict) -> bytes | None:
        """The week's pickled set if it is the one its record was written with (and, with a
        signing key, the one the key signed)."""
        try:
            data = read_optional(self._set_path(week))
            if data is None or sha256_hex(data) != record.get("set_sha256"):
                return None
            problem = self._signature_problem(week, data)
        except IntegrityError:  # a directory where a file belongs
            problem = "not a readable file"
        if problem is not None:
            self.untrusted[week.key] = problem
            return None
        return data

    def _signature_problem(self, week: Week, data: bytes) -> str | None:
        if self.signing_key is None:
            return None
        signature = read_optional(self._signature_path(week))
        try:
            check_signature(data, signature, self.signing_key, str(self._set_path(week)))
        except SignatureError:
            if signature is None:
                return f"unsigned, but {SIGNING_KEY_ENV} is set"
            return f"not signed with {SIGNING_KEY_ENV}'s key"
        return None

    def trained(self, week: Week, fingerprint: str) -> bool:
        """The week was trained with these settings on these candles, and its set is the one
        its record describes (a kill between the two files leaves them apart)."""
        record = self.record(week)
        return (
            record is not None
            and record.get("fingerprint") == fingerprint
            and self._set_bytes(week, record) is not None
        )

    def save_candidate(self, week: Week, record: dict, model_set: bytes) -> None:
        atomic_write_bytes(self._set_path(week), model_set)
        if self.signing_key is not None:
            atomic_write_bytes(self._signature_path(week), self.signing_key.sign(model_set))
        else:
            self._signature_path(week).unlink(missing_ok=True)  # it signed another pickle
        self._write_json(self._record_path(week), {**record, "set_sha256": sha256_hex(model_set)})

    def save_outcome(self, week: Week, outcome: dict) -> None:
        record = self.record(week)
        self._write_json(self._record_path(week), {**record, "outcome": outcome})

    def load_set(self, week: Week) -> dict:
        """Unpickled only when its sha256 is the one recorded beside it, and its signature the
        key's when there is one (pickle runs code)."""
        record = self.record(week)
        data = None if record is None else self._set_bytes(week, record)
        if data is None:
            raise ReplayStoreError(
                f"{self._set_path(week)} is not the set {self._record_path(week)} records"
                f"{' with a valid signature' if self.signing_key else ''}; delete both and run "
                "the replay again"
            )
        return pickle.loads(data)

    def save_summary(self, summary: dict) -> None:
        self._write_json(self.root / "summary.json", summary)

    @staticmethod
    def _write_json(path: Path, value: dict) -> None:
        text = json.dumps(nan_to_none(value), indent=2, sort_keys=True, allow_nan=False)
        atomic_write_bytes(path, text.encode("utf-8"))
