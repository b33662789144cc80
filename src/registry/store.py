"""Registry: install, load, verify, archive and restore a model set, crash-safely.

Promotion recipe (under one cross-process `filelock.FileLock`):
1. archive the live set to archive/training_<UTC stamp>.backup (temp dir, then one rename);
2. write every new file into .staging/ (fsync);
3. write the journal .promotion.json (atomic) - from here on the new set is committed;
4. os.replace each staged file into place, the metadata last; delete the journal.
A kill before step 3 leaves the old set live; after it, whoever next takes the lock (a loader
or the next promotion) rolls the journal forward. Readers read under the same lock, so they see
one complete set, verified by sha256 against the metadata before anything is unpickled.
"""

from __future__ import annotations

import io
import json
import pickle
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from filelock import FileLock, Timeout

from src.atomic import atomic_write_bytes, fsync_dir, sha256_hex
from src.features.feature_manager import FEATURE_MANAGER_VERSION
from src.registry.errors import IntegrityError, LockTimeoutError, MetadataError, NoModelsError
from src.registry.metadata import metadata_from_bytes, metadata_to_bytes
from src.registry.paths import ARTIFACTS, HASHED_FILES, METADATA, SET_FILES, ModelPaths


@dataclass(frozen=True)
class ModelSet:
    """A verified, loaded set: the three models, the ensemble and its metadata."""

    models: dict[str, object]
    ensemble: object
    metadata: dict


@dataclass(frozen=True)
class ArchivedVersion:
    name: str
    path: Path
    metadata: dict | None
    problem: str | None = None  # why the archive cannot be read, if it cannot


@dataclass(frozen=True)
class Rollback:
    restored: ArchivedVersion
    replaced_archive: str | None  # where the set that was live went (None if there was none)


def set_hash(file_hashes: dict[str, str]) -> str:
    """One hash naming the whole set: sha256 over the sorted per-file hashes."""
    canonical = json.dumps(file_hashes, sort_keys=True).encode()
    return f"sha256:{sha256_hex(canonical)}"


def _utc_stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%d_%H%M%S")


def _unique_dir(parent: Path, stem: str, suffix: str) -> Path:
    candidate, counter = parent / f"{stem}{suffix}", 1
    while candidate.exists():
        counter += 1
        candidate = parent / f"{stem}_{counter}{suffix}"
    return candidate


_ARCHIVE_NAME = re.compile(r"training_(?P<stamp>\d{8}_\d{6})(?:_(?P<counter>\d+))?\.backup")


def _archive_order(path: Path) -> tuple[str, int]:
    # Archives made in the same second are numbered _2, _3, ...; as text "_10" would sort before
    # "_2", so the number is compared as a number.
    match = _ARCHIVE_NAME.fullmatch(path.name)
    if match is None:
        return path.name, 0
    return match["stamp"], int(match["counter"] or 1)


def _serialise_set(models: dict[str, object], ensemble: object, report_html: str) -> dict:
    payloads = {name: pickle.dumps(models[name], protocol=5) for name in models}
    payloads["production_ensemble"] = pickle.dumps(ensemble, protocol=5)
    payloads["report"] = report_html.encode("utf-8")
    return payloads


class Registry:
    """The one way model sets reach, leave and are read from the models directory."""

    def __init__(self, models_dir: Path | str = "models", lock_timeout_s: float = 120.0):
        self.paths = ModelPaths(Path(models_dir))
        self.lock_timeout_s = lock_timeout_s

    # -- locking and recovery -------------------------------------------------------------
    def _acquire(self) -> FileLock:
        self.paths.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.paths.lock, timeout=self.lock_timeout_s)
        try:
            lock.acquire()
        except Timeout as exc:
            raise LockTimeoutError(
                f"{self.paths.lock} is held by another training, promotion or rollback for more "
                f"than {self.lock_timeout_s:.0f}s; wait for it to finish"
            ) from exc
        return lock

    @contextmanager
    def training_session(self) -> Iterator[None]:
        """Held for a whole training run, so two trainings never interleave; fails fast.

        Separate from the registry lock, which readers take for milliseconds: a 40 s training
        must not block the bot from loading its models.
        """
        self.paths.root.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self.paths.training_lock, timeout=0)
        try:
            lock.acquire()
        except Timeout as exc:
            raise LockTimeoutError(
                f"another training is running on {self.paths.root}/ (it holds "
                f"{self.paths.training_lock}); wait for it to finish"
            ) from exc
        try:
            yield
        finally:
            lock.release()

    def _recover(self) -> None:
        """Finish a promotion whose journal was written, or discard one that never committed."""
        paths = self.paths
        if paths.journal.exists():
            staged = json.loads(paths.journal.read_text())["files"]
            for relative in staged:
                source = paths.staging / relative
                if source.exists():
                    paths.live(relative).parent.mkdir(parents=True, exist_ok=True)
                    source.replace(paths.live(relative))
            for directory in {paths.live(relative).parent for relative in staged}:
                fsync_dir(directory)
            paths.journal.unlink()
        shutil.rmtree(paths.staging, ignore_errors=True)
        for parent in (paths.archive_dir, paths.candidates_dir):
            for leftover in parent.glob(".tmp-*") if parent.exists() else ():
                shutil.rmtree(leftover, ignore_errors=True)

    # -- reading ----------------------------------------------------------------------------
    @staticmethod
    def _read_files(base: Path) -> dict[str, bytes | None]:
        """The raw bytes of every file of the set under `base` (None where missing)."""
        raw = {}
        for relative in SET_FILES:
            try:
                raw[relative] = (base / relative).read_bytes()
            except FileNotFoundError:
                raw[relative] = None
        return raw

    @staticmethod
    def _verify_files(base: Path, raw: dict[str, bytes | None]) -> tuple[dict, dict[str, bytes]]:
        """Metadata and artifact bytes, every file checked against its sha256 in the metadata."""
        metadata_path = base / METADATA
        if raw[METADATA] is None:
            raise NoModelsError(
                f"no model set at {base}: {metadata_path} is missing; train one with "
                "`python3 scripts/testing/dev_check.py ml-models`"
            )
        metadata = metadata_from_bytes(raw[METADATA], str(metadata_path))
        payloads = {}
        for name, relative in HASHED_FILES.items():
            data, path = raw[relative], base / relative
            if data is None:
                raise IntegrityError(
                    f"{path} is missing but listed in {metadata_path}; restore the set with "
                    "`dev_check.py rollback`"
                )
            expected = metadata["file_hashes"].get(name)
            if f"sha256:{sha256_hex(data)}" != expected:
                raise IntegrityError(
                    f"{path} does not match its sha256 in {metadata_path} (expected {expected}): "
                    "the file was changed or corrupted, so it was not unpickled; restore the set "
                    "with `dev_check.py rollback` or retrain"
                )
            payloads[name] = data
        if set_hash(metadata["file_hashes"]) != metadata["version_control"]["model_hash"]:
            raise IntegrityError(f"{metadata_path}: model_hash does not match its file_hashes")
        return metadata, payloads

    def _read_live(self, read_only: bool = False) -> tuple[dict, dict[str, bytes]]:
        # Only the reads happen under the lock; parsing and hashing run after it is released.
        self._require_live_set()
        raw = None
        if read_only and not self.paths.lock.exists():
            raw = self._read_without_lock()
        if raw is None:
            lock = self._acquire()  # an existing lock file is opened, not written
            try:
                if read_only:
                    self._refuse_pending_promotion()
                else:
                    self._recover()
                raw = self._read_files(self.paths.root)
            finally:
                lock.release()
        metadata, payloads = self._verify_files(self.paths.root, raw)
        self._check_feature_version(metadata, self.paths.metadata)
        return metadata, payloads

    def _refuse_pending_promotion(self) -> None:
        if self.paths.journal.exists():
            raise IntegrityError(
                f"a promotion into {self.paths.root}/ was interrupted; the next training, "
                "rollback or normal load completes it (a read-only check does not)"
            )

    def _read_without_lock(self) -> dict[str, bytes | None] | None:
        """The live files, read without creating a lock file; None if a promotion may have run
        meanwhile (every promotion creates the lock file before touching anything)."""
        self._refuse_pending_promotion()
        raw = self._read_files(self.paths.root)
        return None if self.paths.lock.exists() else raw

    def _require_live_set(self) -> None:
        # Checked before locking so that looking at an empty directory creates nothing in it.
        if not (self.paths.metadata.exists() or self.paths.journal.exists()):
            raise NoModelsError(
                f"no model set in {self.paths.root}/: {self.paths.metadata} is missing; train one "
                "with `python3 scripts/testing/dev_check.py ml-models`"
            )

    def _check_feature_version(self, metadata: dict, source: Path) -> None:
        if metadata["feature_manager_version"] != FEATURE_MANAGER_VERSION:
            raise IntegrityError(
                f"{source} was trained on FeatureManager {metadata['feature_manager_version']}, "
                f"but this code makes features {FEATURE_MANAGER_VERSION}; retrain the models"
            )

    def verify(self, read_only: bool = False) -> dict:
        """Check the live set without unpickling anything; return its metadata."""
        return self._read_live(read_only)[0]

    def load(self, read_only: bool = False) -> ModelSet:
        """Read the live set under the lock, verify every hash, then unpickle.

        `read_only` creates and changes nothing in the models directory (for dry runs): no lock
        file is created, and an interrupted promotion is reported instead of completed.
        """
        metadata, payloads = self._read_live(read_only)
        objects = {name: pickle.load(io.BytesIO(payloads[name])) for name in ARTIFACTS}
        ensemble = objects.pop("production_ensemble")
        if list(ensemble.feature_names_in_) != metadata["feature_names"]:
            raise IntegrityError(
                f"{self.paths.metadata}: feature_names differ from the ensemble's; retrain"
            )
        return ModelSet(models=objects, ensemble=ensemble, metadata=metadata)

    # -- writing ----------------------------------------------------------------------------
    def _complete_metadata(self, metadata: dict, payloads: dict[str, bytes], previous) -> bytes:
        file_hashes = {name: f"sha256:{sha256_hex(data)}" for name, data in payloads.items()}
        completed = {
            **metadata,
            "file_hashes": file_hashes,
            "model_files": {name: self.paths.display(rel) for name, rel in HASHED_FILES.items()},
            "version_control": {
                **metadata.get("version_control", {}),
                "model_hash": set_hash(file_hashes),
                "previous_version": previous,
            },
        }
        return metadata_to_bytes(completed)

    @staticmethod
    def _write_dir(files: dict[str, bytes | None], parent: Path, stem: str, suffix: str) -> Path:
        """Write `files` into a new directory under `parent` that appears in one rename."""
        parent.mkdir(parents=True, exist_ok=True)
        temp = parent / f".tmp-{stem}"
        shutil.rmtree(temp, ignore_errors=True)
        for relative, data in files.items():
            if data is not None:
                atomic_write_bytes(temp / relative, data)
        final = _unique_dir(parent, stem, suffix)
        temp.rename(final)
        fsync_dir(parent)
        return final

    def _install(self, files: dict[str, bytes]) -> None:
        """Stage, journal, then replace the live files (metadata last). Caller holds the lock."""
        paths = self.paths
        for relative, data in files.items():
            atomic_write_bytes(paths.staging / relative, data)
        order = [relative for relative in SET_FILES if relative != METADATA] + [METADATA]
        atomic_write_bytes(paths.journal, json.dumps({"files": order}).encode())
        self._recover()

    def _archive_live(self) -> str | None:
        """Copy the live set into the archive and return its path for `previous_version`.

        A live set that fails verification is kept too, as a `.broken` folder that is never
        offered for rollback, so replacing it loses nothing.
        """
        raw = self._read_files(self.paths.root)
        if all(data is None for data in raw.values()):
            return None
        stem = f"training_{_utc_stamp()}"
        try:
            self._verify_files(self.paths.root, raw)
        except (IntegrityError, MetadataError, NoModelsError):
            self._write_dir(raw, self.paths.archive_dir, stem, ".broken")
            return None
        archived = self._write_dir(raw, self.paths.archive_dir, stem, ".backup")
        return self.paths.display(f"archive/{archived.name}")

    def promote(
        self, models: dict[str, object], ensemble: object, metadata: dict, report_html: str
    ) -> dict:
        """Archive the live set, then install this one; returns the metadata as written."""
        payloads = _serialise_set(models, ensemble, report_html)  # outside the lock readers use
        lock = self._acquire()
        try:
            self._recover()
            files = self._set_files(payloads, metadata, previous=self._archive_live())
            self._install(files)
        finally:
            lock.release()
        return json.loads(files[METADATA])

    def save_candidate(
        self, models: dict[str, object], ensemble: object, metadata: dict, report_html: str
    ) -> Path:
        """Keep a rejected candidate for inspection, outside the live paths."""
        payloads = _serialise_set(models, ensemble, report_html)
        files = self._set_files(payloads, metadata, previous=None)
        stem = f"training_{_utc_stamp()}"
        return self._write_dir(files, self.paths.candidates_dir, stem, ".candidate")

    def _set_files(self, payloads: dict[str, bytes], metadata: dict, previous) -> dict:
        """Every file of a set by its relative path, with the completed metadata."""
        files = {HASHED_FILES[name]: data for name, data in payloads.items()}
        files[METADATA] = self._complete_metadata(metadata, payloads, previous)
        return files

    # -- history and rollback ---------------------------------------------------------------
    def history(self) -> list[ArchivedVersion]:
        """Archived sets, oldest first. An archive whose metadata cannot be read is listed with
        `problem` set (and is never a rollback target) instead of hiding the others."""
        archive = self.paths.archive_dir
        if not archive.exists():
            return []
        versions = []
        for path in sorted(archive.glob("training_*.backup"), key=_archive_order):
            try:
                metadata = metadata_from_bytes((path / METADATA).read_bytes(), str(path / METADATA))
                versions.append(ArchivedVersion(name=path.name, path=path, metadata=metadata))
            except (OSError, MetadataError) as exc:
                versions.append(ArchivedVersion(path.name, path, None, problem=str(exc)))
        return versions

    def rollback(self, to: str | None = None) -> Rollback:
        """Restore an archived set byte-for-byte (default: the live set's previous_version).

        The live set is archived first, so a rollback loses nothing and can itself be undone
        (roll back to the archive it reports).
        """
        lock = self._acquire()
        try:
            self._recover()
            target = self._rollback_target(to)
            raw = self._read_files(target)
            metadata, _ = self._verify_files(target, raw)
            self._check_feature_version(metadata, target / METADATA)
            replaced = self._archive_live()
            self._install(raw)
        finally:
            lock.release()
        return Rollback(ArchivedVersion(target.name, target, metadata), replaced)

    def _rollback_target(self, to: str | None) -> Path:
        names = [version.name for version in self.history() if version.problem is None]
        if to is None:
            try:
                live = metadata_from_bytes(
                    self.paths.metadata.read_bytes(), str(self.paths.metadata)
                )
            except (OSError, MetadataError) as exc:
                raise NoModelsError(
                    f"the live set has no readable metadata ({exc}); name a version with --to: "
                    f"{names}"
                ) from exc
            previous = live["version_control"]["previous_version"]
            if previous is None:
                raise NoModelsError("the live set has no previous_version to roll back to")
            to = Path(previous).name
        if to not in names:
            raise NoModelsError(f"no archived version {to!r}; available: {names}")
        return self.paths.archive_dir / to
