"""Retirement events: a live set that failed beyond noise on what it traded is retired by a
signed record beside its directory, never by touching its files.

    archive/<set>.backup/                 the set, unchanged
    archive/<set>.backup.retirement.json  {"event": {...}, "signature": {...} | null}

The event names the set's model_hash, so it applies to those files only; it says when (the
candle at which the set was judged), why, and the evidence. Rolling a retired set back with
--force lifts the retirement: the same file is rewritten with `lifted` filled in, signed again.

The signature (the registry's HMAC, src/registry/signing.py) covers the event's exact bytes.
Reading is fail-safe: an event present is a retirement unless a verified (or, without a key,
unsigned) record says it was lifted, so a forged "lifted" without the key never puts a retired
set back to trading; `signature` says what was checked. Only the standard library and the
registry's own modules: the live bot reads this too (src/registry/retire.py writes events).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from src.registry.errors import SignatureError
from src.registry.signing import SignatureStatus, SigningKey, check_signature
from src.registry.verify import read_optional

SUFFIX = ".retirement.json"
FORMAT = "retirement/1"


def retirement_path(set_dir: Path) -> Path:
    """The event file beside `set_dir` (outside it: a set's directory never changes)."""
    return set_dir.parent / f"{set_dir.name}{SUFFIX}"


@dataclass(frozen=True)
class Retirement:
    set_name: str
    model_hash: str
    at: str  # the candle (ISO 8601, UTC) whose close the set was judged at
    reason: str
    evidence: dict
    lifted: dict | None  # {"at": ..., "by": ...} once a forced rollback lifted it
    signature: str  # what was checked: a SignatureStatus value, or why it failed

    @property
    def active(self) -> bool:
        """Whether the set is retired now: a lift counts only if its record is trustworthy."""
        return self.lifted is None or not self.signature_ok

    @property
    def signature_ok(self) -> bool:
        return self.signature not in (_FAILED, _UNSIGNED_WITH_KEY, _UNREADABLE)

    def describe(self) -> str:
        # The signature is worth a note only when it is not the plain verified or unsigned case.
        ordinary = (SignatureStatus.VERIFIED.value, SignatureStatus.UNSIGNED.value)
        note = "" if self.signature in ordinary else f" ({self.signature})"
        if self.active:
            return f"RETIRED at {self.at}: {self.reason}{note}"
        return (
            f"retired at {self.at}: {self.reason}; retirement lifted at {self.lifted['at']} "
            f"({self.lifted['by']}){note}"
        )


_FAILED = "signature does not verify: the event was changed without the key; read as retired"
# An event written before MODEL_SIGNING_KEY was set: it still retires the set, but a lift in it
# cannot be trusted now.
_UNREADABLE = "the event cannot be trusted: read as retired"
_UNSIGNED_WITH_KEY = (
    "unsigned, and MODEL_SIGNING_KEY is set: read as retired (a lift in it does not count)"
)


def event_bytes(event: dict) -> bytes:
    return json.dumps(event, sort_keys=True, separators=(",", ":")).encode("utf-8")


def read_retirement(set_dir: Path, model_hash: str, key: SigningKey | None) -> Retirement | None:
    """The set's retirement, or None. An unreadable event, or one naming other files, counts as
    retired (the safe reading) and says so."""
    data = read_optional(retirement_path(set_dir))
    if data is None:
        return None
    try:
        record = json.loads(data)
        event = record["event"]
        if event.get("format") != FORMAT:
            raise ValueError(f"format {event.get('format')!r}")
        status = _signature(event, record.get("signature"), key, set_dir)
        if event["model_hash"] != model_hash:
            return _unreadable(set_dir, model_hash, "it names another set's files (model_hash)")
        if not _valid_lift(event.get("lifted")):
            raise ValueError(f"lifted is {event.get('lifted')!r}, not a time and who lifted it")
        return Retirement(
            set_dir.name, model_hash, event["at"], event["reason"], event.get("evidence", {}),
            event.get("lifted"), status,
        )  # fmt: skip
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        return _unreadable(set_dir, model_hash, f"it cannot be read ({exc})")


def _valid_lift(lifted) -> bool:
    return lifted is None or (
        isinstance(lifted, dict) and all(isinstance(lifted.get(k), str) for k in ("at", "by"))
    )


def _signature(event: dict, signature: dict | None, key: SigningKey | None, set_dir) -> str:
    if signature is None and key is not None:
        return _UNSIGNED_WITH_KEY
    signature_bytes = None if signature is None else json.dumps(signature).encode("ascii")
    try:
        return check_signature(
            event_bytes(event), signature_bytes, key, f"retirement of {set_dir.name}"
        ).value
    except SignatureError:
        return _FAILED


def _unreadable(set_dir: Path, model_hash: str, problem: str) -> Retirement:
    reason = f"its retirement event {retirement_path(set_dir).name} is kept, but {problem}"
    return Retirement(set_dir.name, model_hash, "unknown", reason, {}, None, _UNREADABLE)
