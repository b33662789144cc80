"""The archive: every promoted set in order, which one is live, and which can be restored."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from src.registry.errors import NoModelsError, RegistryError, RetiredSetError
from src.registry.metadata import TrainingMetadata
from src.registry.paths import ModelPaths
from src.registry.reading import read_set
from src.registry.retirement import Retirement, read_retirement
from src.registry.signing import SigningKey
from src.registry.verify import require_dir

_VERSION_NAME = re.compile(
    r"training_(?P<stamp>\d{8}_\d{6})(?:_(?P<counter>\d+))?\.(?P<kind>backup|broken)"
)


@dataclass(frozen=True)
class ArchivedVersion:
    name: str
    path: Path
    metadata: TrainingMetadata | None
    problem: str | None = None  # why the set cannot be restored, if it cannot
    live: bool = False
    retirement: Retirement | None = None  # its retirement event, if one was recorded

    @property
    def retired(self) -> bool:
        return self.retirement is not None and self.retirement.active

    @property
    def restorable(self) -> bool:
        return self.problem is None


def _order(path: Path) -> tuple[str, int]:
    # Sets stamped in the same second are numbered _2, _3, ...; as text "_10" would sort before
    # "_2", so the number is compared as a number.
    match = _VERSION_NAME.fullmatch(path.name)
    return match["stamp"], int(match["counter"] or 1)


def live_name(paths: ModelPaths) -> str | None:
    return Path(os.readlink(paths.current)).name if paths.current.is_symlink() else None


def _version(
    paths: ModelPaths, path: Path, live: str | None, key: SigningKey | None
) -> ArchivedVersion:
    is_live = path.name == live
    if path.name.endswith(".broken"):
        problem = "kept aside: it failed verification when it was replaced"
        return ArchivedVersion(path.name, path, None, problem, is_live)
    if not is_live and paths.pending_marker(path.name).exists():
        problem = (
            "never went live: its promotion stopped before the switch (or is under way); the "
            "next promotion or rollback removes it"
        )
        return ArchivedVersion(path.name, path, None, problem, is_live)
    try:
        verified = read_set(path, key)
    except (OSError, RegistryError) as exc:
        return ArchivedVersion(path.name, path, None, str(exc), is_live)
    model_hash = verified.metadata.version_control.model_hash
    retirement = read_retirement(path, model_hash, key)
    return ArchivedVersion(path.name, path, verified.metadata, None, is_live, retirement)


def list_versions(paths: ModelPaths, key: SigningKey | None) -> list[ArchivedVersion]:
    """Every archived set, oldest first, each verified (hashes, signature) as a restore would."""
    require_dir(paths)
    if not paths.archive_dir.is_dir():
        return []
    found = [path for path in paths.archive_dir.iterdir() if _VERSION_NAME.fullmatch(path.name)]
    live = live_name(paths)
    return [_version(paths, path, live, key) for path in sorted(found, key=_order)]


def rollback_target(
    versions: list[ArchivedVersion],
    live: TrainingMetadata | None,
    to: str | None,
    force: bool = False,
) -> ArchivedVersion:
    """The archived set to restore: `to`, or the live set's previous_version; a retired one
    only with `force`."""
    available = [version.name for version in versions if version.restorable and not version.live]
    if to is None:
        if live is None:
            raise NoModelsError(
                f"the live set cannot be read, so its previous_version is unknown; name a "
                f"version with --to: {available}"
            )
        previous = live.version_control.previous_version
        if previous is None:
            raise NoModelsError("the live set has no previous_version to roll back to")
        to = Path(previous).name
    by_name = {version.name: version for version in versions}
    if to in by_name and by_name[to].live:
        raise NoModelsError(f"{to} is the live set already; available: {available}")
    if to in by_name and not by_name[to].restorable:
        raise NoModelsError(f"archived version {to} cannot be restored: {by_name[to].problem}")
    if to not in by_name:
        raise NoModelsError(f"no archived version {to!r}; available: {available}")
    target = by_name[to]
    if target.retired and not force:
        raise RetiredSetError(
            f"{to} was retired: {target.retirement.describe()}; restoring it would trade it "
            "again. Pick another version, or pass --force to restore it and lift its retirement"
        )
    return target
