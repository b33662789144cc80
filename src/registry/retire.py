"""Writing retirement events (src/registry/retirement.py reads them): under the registry lock,
atomically, signed with the registry's key when there is one."""

from __future__ import annotations

import json
from pathlib import Path

from src.atomic import atomic_write_bytes
from src.registry.errors import ModelsDirError
from src.registry.locking import hold_lock
from src.registry.paths import ModelPaths
from src.registry.retirement import (
    FORMAT,
    Retirement,
    event_bytes,
    read_retirement,
    retirement_path,
)
from src.registry.signing import SigningKey


def _write(
    set_dir: Path, model_hash: str, at: str, reason: str, evidence: dict, lifted: dict | None,
    key: SigningKey | None,
) -> None:
    event = {"format": FORMAT, "set": set_dir.name, "model_hash": model_hash, "at": at,
             "reason": reason, "evidence": evidence, "lifted": lifted}  # fmt: skip
    signature = json.loads(key.sign(event_bytes(event))) if key is not None else None
    record = {"event": event, "signature": signature}
    atomic_write_bytes(retirement_path(set_dir), (json.dumps(record, indent=2) + "\n").encode())


def archive_paths(set_dir: Path) -> ModelPaths:
    """The models directory an archived set belongs to (events live beside archived sets only)."""
    if set_dir.parent.name != "archive":
        raise ModelsDirError(
            f"{set_dir} is not an archived set (models/archive/<set>): it was installed before "
            "sets had directories of their own; promote or roll back once to convert it"
        )
    return ModelPaths(set_dir.parent.parent)


def retire(
    set_dir: Path,
    model_hash: str,
    at: str,
    reason: str,
    evidence: dict,
    key: SigningKey | None,
    lock_timeout_s: float = 120.0,
) -> Retirement:
    """Record the set's retirement under the registry lock; a set already retired keeps its
    first event."""
    paths = archive_paths(set_dir)
    busy = f"{paths.lock} is held by a promotion or rollback; retire the set when it is done"
    with hold_lock(paths.lock, lock_timeout_s, busy):
        return _retire(set_dir, model_hash, at, reason, evidence, key)


def _retire(set_dir, model_hash, at, reason, evidence, key) -> Retirement:
    existing = read_retirement(set_dir, model_hash, key)
    if existing is not None and existing.active:
        return existing
    _write(set_dir, model_hash, at, reason, evidence, None, key)
    return read_retirement(set_dir, model_hash, key)


def lift(set_dir: Path, retirement: Retirement, at: str, by: str, key: SigningKey | None) -> None:
    """Mark the retirement lifted (a forced rollback to the set); the caller holds the lock."""
    lifted = {"at": at, "by": by}
    _write(set_dir, retirement.model_hash, retirement.at, retirement.reason,
           retirement.evidence, lifted, key)  # fmt: skip
