"""When a set restored by a rollback went live again: `archive/<set>.live-since.json`.

A promoted set goes live right after its training window, so the bars after that window are the
ones it traded. A set restored later traded only the bars after its restoration: the weekly job
judges it on those (src/recovery.py), not on months it was not live. The record is written by
`Registry.rollback` under the registry lock, beside the set (whose files never change); retention
removes it with the set. Unreadable, it is ignored: the set is then judged from its training
window, which can only make a retirement likelier, never hide one.
"""

from __future__ import annotations

import json
from pathlib import Path

from src.atomic import atomic_write_bytes
from src.registry.verify import read_optional

SUFFIX = ".live-since.json"


def live_since_path(set_dir: Path) -> Path:
    return set_dir.parent / f"{set_dir.name}{SUFFIX}"


def record_live_since(set_dir: Path, at: str) -> None:
    record = {"set": set_dir.name, "since": at}
    atomic_write_bytes(live_since_path(set_dir), (json.dumps(record) + "\n").encode())


def read_live_since(set_dir: Path) -> str | None:
    """The ISO 8601 time the set last went live by a rollback, or None."""
    data = read_optional(live_since_path(set_dir))
    try:
        record = json.loads(data) if data is not None else None
        since = record["since"] if isinstance(record, dict) else None
    except (ValueError, KeyError):
        return None
    return since if isinstance(since, str) else None
