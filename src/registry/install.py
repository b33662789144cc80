"""Writing sets: each into a directory of its own that appears in one rename, then one symlink
switch makes it live. Callers hold the registry lock (candidates need only the training lock)."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
from collections.abc import Mapping
from pathlib import Path

from src.atomic import atomic_write_bytes, ensure_room, fsync_dir, storage_errors
from src.registry.errors import ModelsDirError
from src.registry.history import live_name
from src.registry.paths import (
    HASHED_FILES,
    ONNX_FILES,
    PENDING_PREFIX,
    SEED_DIRS,
    TEMP_PREFIX,
    ModelPaths,
)

# What a user can do when the models directory's file system is full or failing.
MODELS_DIR_HINT = "free space there or pass another --models-dir"


def serialise_set(
    models: dict[str, object],
    ensemble: object,
    report_html: str,
    onnx_files: Mapping[str, bytes],
) -> dict:
    """Relative path -> bytes (pickled before any lock is taken: pickling takes the longest).

    `onnx_files` are the ONNX copies by their ONNX_FILES name (none for a pickle-only set).
    """
    payloads = {name: pickle.dumps(models[name], protocol=5) for name in models}
    payloads["production_ensemble"] = pickle.dumps(ensemble, protocol=5)
    payloads["report"] = report_html.encode("utf-8")
    files = {HASHED_FILES[name]: data for name, data in payloads.items()}
    return {**files, **{ONNX_FILES[name]: data for name, data in onnx_files.items()}}


def _unique_dir(parent: Path, stem: str, suffix: str) -> Path:
    candidate, counter = parent / f"{stem}{suffix}", 1
    while candidate.exists():
        counter += 1
        candidate = parent / f"{stem}_{counter}{suffix}"
    return candidate


def write_set_dir(
    files: dict[str, bytes],
    parent: Path,
    stem: str,
    suffix: str,
    pending: ModelPaths | None = None,
) -> Path:
    """Write `files` (relative path -> bytes) into a new directory that appears in one rename.

    Refused before the first byte when the file system lacks room for them; a write that fails
    all the same (the disk filled meanwhile, an I/O error) removes the partial directory and
    raises a StorageError. `pending`: a set about to go live; its pending marker is written just
    before the rename (`make_live` removes it).
    """
    needed = ensure_room(parent, (len(data) for data in files.values()), MODELS_DIR_HINT)
    temp = parent / f"{TEMP_PREFIX}{stem}"
    with storage_errors(parent, needed, MODELS_DIR_HINT):
        parent.mkdir(parents=True, exist_ok=True)
        marker = None
        try:
            shutil.rmtree(temp, ignore_errors=True)
            for relative, data in files.items():
                atomic_write_bytes(temp / relative, data)
            final = _unique_dir(parent, stem, suffix)
            if pending is not None:
                marker = pending.pending_marker(final.name)
                _mark(marker)
            temp.rename(final)
        except OSError:
            shutil.rmtree(temp, ignore_errors=True)
            if marker is not None:
                _unlink_quietly(marker)  # a failing disk may refuse; the next writer retries
            raise
        fsync_dir(parent)
    return final


def _mark(marker: Path) -> None:
    """Create `marker` as an empty file, durably: it needs an inode but no space, and its
    existence is the whole record."""
    fd = os.open(marker, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    fsync_dir(marker.parent)


def _unlink_quietly(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _replace_symlink(link: Path, target: str) -> None:
    """Point `link` at `target` in one rename: readers see the old target or the new one.

    A real directory at `link` is what a set installed before sets had their own directories
    (or a copy of the models directory that followed its links) leaves there; the caller has
    archived its set, so it is moved aside and removed.
    """
    if link.is_symlink() and os.readlink(link) == target:
        return
    if link.exists() and not link.is_symlink() and not link.is_dir():
        raise ModelsDirError(f"{link} is a file where the registry keeps a link; move it away")
    aside = None
    if link.is_dir() and not link.is_symlink():
        aside = link.with_name(f"{TEMP_PREFIX}legacy-{link.name}")
        link.rename(aside)
    temp = link.with_name(f"{TEMP_PREFIX}link-{link.name}")
    temp.unlink(missing_ok=True)
    try:
        os.symlink(target, temp)
        os.replace(temp, link)
    except OSError:  # e.g. no inode left for the link: everything stays as it was
        temp.unlink(missing_ok=True)
        if aside is not None:
            aside.rename(link)
        raise
    fsync_dir(link.parent)
    if aside is not None:
        shutil.rmtree(aside)


def switch_current(paths: ModelPaths, set_dir: Path) -> None:
    """Make `set_dir` (inside the models directory) the live set: the one atomic step."""
    _replace_symlink(paths.current, str(set_dir.relative_to(paths.root)))


def make_live(paths: ModelPaths, new_set: Path) -> None:
    """Switch to a set just written; if the switch fails, the set never went live and is
    removed (it would otherwise sit in the archive as a version that never ran). A kill before
    the switch leaves its pending marker, by which the next writer removes it."""
    try:
        link_seed_paths(paths)
        switch_current(paths, new_set)
    except OSError:
        _remove_if_never_live(paths, new_set.name)
        raise
    # The set is live: a marker a failing disk leaves beside it is removed by the next writer.
    _unlink_quietly(paths.pending_marker(new_set.name))


def _remove_if_never_live(paths: ModelPaths, set_name: str) -> None:
    if live_name(paths) != set_name:
        shutil.rmtree(paths.archive_dir / set_name, ignore_errors=True)
    _unlink_quietly(paths.pending_marker(set_name))


def link_seed_paths(paths: ModelPaths) -> None:
    """models/training and models/production as fixed symlinks into `current`."""
    for name in SEED_DIRS:
        _replace_symlink(paths.root / name, f"current/{name}")


def remove_leftovers(paths: ModelPaths) -> None:
    """What a killed writer left behind: temporary set directories, links and legacy copies,
    and a promoted set that never went live (its pending marker is still there)."""
    archive = paths.archive_dir
    for marker in archive.glob(f"{PENDING_PREFIX}*") if archive.is_dir() else ():
        never_live = archive / marker.name.removeprefix(PENDING_PREFIX)
        if live_name(paths) != never_live.name and never_live.exists():
            shutil.rmtree(never_live)  # strict, like the marker: a failing disk stops the writer
        marker.unlink()
    for parent in (paths.root, paths.archive_dir, paths.candidates_dir):
        for leftover in parent.glob(f"{TEMP_PREFIX}*") if parent.is_dir() else ():
            if leftover.is_symlink() or not leftover.is_dir():
                leftover.unlink()
            else:
                shutil.rmtree(leftover)
