"""Retention: the models directory stays bounded (the weekly workflow commits it every week).

After each promotion and each rejected candidate saved, under the registry lock:
- archived sets beyond the newest `keep_promoted` are removed, except the live set, its
  previous_version (what a plain rollback restores) and any set newer than the live one (after
  a rollback, the sets rolled back from: a rollback can be undone). When the live set is unknown
  or fails its checks, no set is removed: what to keep cannot be known.
- rejected candidates saved more than `candidate_days` ago are removed.

Removal is crash-safe: a set's directory is first renamed to a temporary name (one rename: from
then on `history` no longer lists it, and the next writer's `remove_leftovers` deletes whatever a
kill left of it), then the files beside it that belong to it (`<set>.retirement.json` and the
like) go into it, then it is deleted. A kill between those steps leaves such a file without its
set, which the next pruning removes.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from src.atomic import fsync_dir
from src.config import RetentionConfig
from src.registry.history import ArchivedVersion, list_versions
from src.registry.paths import TEMP_PREFIX, ModelPaths

_SET_SUFFIX = ".backup"  # promoted sets; `.broken` ones are kept aside for inspection, never pruned
_CANDIDATE_SUFFIX = ".candidate"


@dataclass(frozen=True)
class Pruned:
    """The names of the archived sets and candidates one pruning removed."""

    sets: tuple[str, ...] = ()
    candidates: tuple[str, ...] = ()
    problem: str | None = None  # why pruning stopped part-way (it is retried by the next write)

    def __bool__(self) -> bool:
        return bool(self.sets or self.candidates or self.problem)

    def describe(self, retention: RetentionConfig) -> str:
        parts = [f"stopped: {self.problem}"] if self.problem else []
        if self.sets:
            parts.append(
                f"removed {len(self.sets)} archived set(s) beyond the newest "
                f"{retention.keep_promoted}: {', '.join(self.sets)}"
            )
        if self.candidates:
            parts.append(
                f"removed {len(self.candidates)} candidate(s) older than "
                f"{retention.candidate_days:g} days: {', '.join(self.candidates)}"
            )
        return "retention: " + "; ".join(parts) if parts else "retention: nothing to remove"


def sets_to_prune(
    names: list[str], live: str | None, previous: str | None, keep_promoted: int
) -> list[str]:
    """Of the archived sets `names` (oldest first), those retention removes."""
    if live not in names:
        return []
    kept = {*names[-keep_promoted:], *names[names.index(live) :], previous}
    return [name for name in names if name not in kept]


def prune(paths: ModelPaths, retention: RetentionConfig, now: datetime) -> Pruned:
    """Remove what `retention` no longer keeps; the caller holds the registry lock."""
    archive = paths.archive_dir
    sets = _prunable_sets(list_versions(paths, None), retention.keep_promoted)
    for name in sets:
        _remove(archive / name, _sidecars(archive, name))
    _remove_orphan_sidecars(archive)
    candidates = _stale_candidates(paths.candidates_dir, now - timedelta(retention.candidate_days))
    for path in candidates:
        _remove(path, [])
    return Pruned(tuple(sets), tuple(path.name for path in candidates))


def _prunable_sets(versions: list[ArchivedVersion], keep_promoted: int) -> list[str]:
    promoted = [version for version in versions if version.name.endswith(_SET_SUFFIX)]
    live = next((version for version in promoted if version.live), None)
    if live is None or live.metadata is None:
        return []
    previous = live.metadata.version_control.previous_version
    previous_name = Path(previous).name if previous else None
    names = [version.name for version in promoted]
    return sets_to_prune(names, live.name, previous_name, keep_promoted)


def _stale_candidates(candidates_dir: Path, saved_before: datetime) -> list[Path]:
    """Candidate directories last changed (written: they never change after) before the time."""
    if not candidates_dir.is_dir():
        return []
    found = sorted(candidates_dir.glob(f"*{_CANDIDATE_SUFFIX}"))
    cutoff = saved_before.timestamp()
    return [path for path in found if path.is_dir() and path.stat().st_mtime < cutoff]


def _sidecars(archive: Path, set_name: str) -> list[Path]:
    """The files beside a set that belong to it: `<set>.<anything>` (e.g. .retirement.json)."""
    return sorted(path for path in archive.glob(f"{set_name}.*") if not path.is_dir())


def _remove_orphan_sidecars(archive: Path) -> None:
    """Files of sets that are gone: what a kill during an earlier pruning left."""
    if not archive.is_dir():
        return
    for path in archive.glob(f"*{_SET_SUFFIX}.*"):
        if path.name.startswith("."):  # an atomic write's temp file or a marker, not a sidecar
            continue
        owner = path.name[: path.name.index(f"{_SET_SUFFIX}.") + len(_SET_SUFFIX)]
        if not path.is_dir() and not (archive / owner).exists():
            path.unlink()


def _remove(directory: Path, sidecars: list[Path]) -> None:
    """Rename `directory` out of sight first, so no kill leaves half of it under its name."""
    trash = directory.with_name(f"{TEMP_PREFIX}pruned-{directory.name}")
    os.rename(directory, trash)
    fsync_dir(directory.parent)
    for sidecar in sidecars:
        os.rename(sidecar, trash / sidecar.name)
    shutil.rmtree(trash)
