"""Registry: the one way model sets reach, leave and are read from the models directory.

A promotion writes the new set into a directory of its own under archive/ (one rename makes it
appear complete), then repoints the `current` symlink (one rename): a kill at any moment leaves
the old set or the new one live, every reader sees whole sets without taking a lock, and a
rollback repoints `current` at an archived set, which is therefore restored byte for byte.
Every file is checked against its sha256 in the metadata, and the metadata against its
signature when MODEL_SIGNING_KEY is set, before anything is unpickled.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType

import pandas as pd

from src.atomic import bytes_needed, sha256_hex, storage_errors
from src.config import RetentionConfig
from src.registry.errors import RegistryError
from src.registry.history import ArchivedVersion, list_versions, live_name, rollback_target
from src.registry.install import (
    MODELS_DIR_HINT,
    link_seed_paths,
    make_live,
    remove_leftovers,
    serialise_set,
    switch_current,
    write_set_dir,
)
from src.registry.live_since import record_live_since
from src.registry.locking import hold_lock, prepare_writable
from src.registry.metadata import (
    TrainingMetadata,
    metadata_from_bytes,
    metadata_to_bytes,
)
from src.registry.paths import METADATA, SET_FILES, SIGNATURE, ModelPaths
from src.registry.reading import ModelSet, check_feature_version, read_set, unpickle
from src.registry.resign import Resigned, require_key, resign_archive
from src.registry.retention import Pruned, prune
from src.registry.retire import lift, retire
from src.registry.retirement import Retirement
from src.registry.signing import SigningKey
from src.registry.verify import SET_FILE_PATHS, live_set_dir, read_optional, set_hash


@dataclass(frozen=True)
class Rollback:
    restored: ArchivedVersion
    replaced: str | None  # the set that was live, as recorded in metadata (None if none)
    lifted: Retirement | None = None  # the retirement a forced rollback lifted


def _stem(metadata: TrainingMetadata) -> str:
    """Sets are named by when they were trained."""
    return f"training_{pd.Timestamp(metadata.created_at):%Y%m%d_%H%M%S}"


class Registry:
    def __init__(
        self,
        models_dir: Path | str = "models",
        lock_timeout_s: float = 120.0,
        signing_key: SigningKey | None = None,
        retention: RetentionConfig | None = None,
    ):
        """`retention`: what each promotion and saved candidate prunes afterwards
        (src/registry/retention.py); None prunes nothing."""
        self.paths = ModelPaths(Path(models_dir))
        self.lock_timeout_s = lock_timeout_s
        self.signing_key = signing_key
        self.retention = retention
        self.last_pruned = Pruned()  # what the last promotion or saved candidate pruned

    # -- reading (no lock, writes nothing) ------------------------------------------------------
    def load(self) -> ModelSet:
        """The live set, every file verified before anything is unpickled."""
        return unpickle(read_set(live_set_dir(self.paths), self.signing_key), self.signing_key)

    def load_version(self, version: ArchivedVersion) -> ModelSet:
        """An archived set, verified as the live one is (e.g. to judge it before a restore)."""
        return unpickle(read_set(version.path, self.signing_key), self.signing_key)

    def history(self) -> list[ArchivedVersion]:
        """Every archived set, oldest first; the live one is marked, unrestorable ones say why."""
        return list_versions(self.paths, self.signing_key)

    # -- writing ------------------------------------------------------------------------------
    @contextmanager
    def training_session(self) -> Iterator[None]:
        """Held for a whole training run, so two trainings never interleave; fails fast.

        Separate from the registry lock: a 40 s training must not block a promotion's readers.
        """
        prepare_writable(self.paths.root)
        busy = (
            f"another training is running on {self.paths.root}/ (it holds "
            f"{self.paths.training_lock}); wait for it to finish"
        )
        with hold_lock(self.paths.training_lock, 0, busy):
            with self._writing():  # what a killed run left behind goes before this one starts
                pass
            yield

    @contextmanager
    def _writing(self) -> Iterator[None]:
        prepare_writable(self.paths.root)
        busy = (
            f"{self.paths.lock} is held by another promotion or rollback for more than "
            f"{self.lock_timeout_s:.0f}s; wait for it to finish"
        )
        # Sets check their own room before they are written; links need next to nothing.
        needed = bytes_needed((), self.paths.root)
        with (
            hold_lock(self.paths.lock, self.lock_timeout_s, busy),
            storage_errors(self.paths.root, needed, MODELS_DIR_HINT),
        ):
            remove_leftovers(self.paths)
            if self.paths.current.is_symlink():
                link_seed_paths(self.paths)  # finishes a conversion a kill interrupted
            yield

    def promote(
        self,
        models: dict[str, object],
        ensemble: object,
        metadata: TrainingMetadata,
        report_html: str,
        onnx_files: Mapping[str, bytes] = MappingProxyType({}),
    ) -> TrainingMetadata:
        """Install this set as the live one; returns the metadata as written.

        `onnx_files`: the set's ONNX copies by ONNX_FILES name (none for a pickle-only set).
        """
        payloads = serialise_set(models, ensemble, report_html, onnx_files)  # before the lock
        with self._writing():
            files = self._set_files(payloads, metadata, previous=self._live_version())
            archive = self.paths.archive_dir
            new_set = write_set_dir(files, archive, _stem(metadata), ".backup", self.paths)
            make_live(self.paths, new_set)
            self._prune()
        return metadata_from_bytes(files[METADATA], str(new_set / METADATA))

    def save_candidate(
        self,
        models: dict[str, object],
        ensemble: object,
        metadata: TrainingMetadata,
        report_html: str,
        onnx_files: Mapping[str, bytes] = MappingProxyType({}),
    ) -> Path:
        """Keep a rejected candidate for inspection, outside the live paths."""
        prepare_writable(self.paths.root)
        payloads = serialise_set(models, ensemble, report_html, onnx_files)
        files = self._set_files(payloads, metadata, None)
        saved = write_set_dir(files, self.paths.candidates_dir, _stem(metadata), ".candidate")
        if self.retention is not None:
            with self._writing():
                self._prune()
        return saved

    def rollback(self, to: str | None = None, force: bool = False) -> Rollback:
        """Make an archived set live again (default: the live set's previous_version).

        The set that was live stays in the archive, so a rollback can itself be undone. A
        retired set is refused unless `force`, which lifts its retirement (signed, recorded).
        """
        with self._writing():
            version = rollback_target(self.history(), self._live_metadata(), to, force)
            target = version.path
            verified = read_set(target, self.signing_key)
            check_feature_version(verified)
            replaced = self._live_version()
            now = f"{pd.Timestamp.now(tz='UTC'):%Y-%m-%dT%H:%M:%S}+00:00"
            if version.retired:
                lift(target, version.retirement, now, "rollback --force", self.signing_key)
            record_live_since(target, now)
            link_seed_paths(self.paths)
            switch_current(self.paths, target)
        restored = ArchivedVersion(target.name, target, verified.metadata, live=True)
        return Rollback(restored, replaced, version.retirement if version.retired else None)

    def retire(self, set_dir: Path, at: str, reason: str, evidence: dict) -> Retirement:
        """Retire the set in `set_dir` (verified first): a signed event beside it; its files
        stay as they are and the live side trades it flat from now on."""
        verified = read_set(set_dir, self.signing_key)
        model_hash = verified.metadata.version_control.model_hash
        return retire(
            set_dir, model_hash, at, reason, evidence, self.signing_key, self.lock_timeout_s
        )

    def resign(self) -> list[Resigned]:
        """Sign, with this registry's key, every archived set written without one whose files
        pass their checks; signed sets are checked and left as they are (see resign.py)."""
        key = require_key(self.signing_key)  # before the lock: nothing to wait for without it
        with self._writing():
            return resign_archive(self.paths, key)

    # -- helpers ------------------------------------------------------------------------------
    def _prune(self) -> None:
        """Retention after a write, under the lock. The write has succeeded: a failure here is
        recorded in last_pruned, not raised, and the next write retries."""
        if self.retention is None:
            return
        try:
            self.last_pruned = prune(self.paths, self.retention, datetime.now(UTC))
        except OSError as exc:
            self.last_pruned = Pruned(problem=f"{exc}; the next promotion or candidate retries")

    def _live_metadata(self) -> TrainingMetadata | None:
        try:
            return read_set(live_set_dir(self.paths), self.signing_key).metadata
        except (OSError, RegistryError):
            return None

    def _live_version(self) -> str | None:
        """The live set's directory as recorded in previous_version, after adopting a set
        installed before sets had directories of their own into the archive."""
        if self.paths.current.is_symlink():
            return self.paths.display(f"archive/{live_name(self.paths)}")
        # Real directories at the seed paths: a set installed before sets had directories of
        # their own, or a copy of the models directory that followed its links.
        legacy = {relative: read_optional(self.paths.root / relative) for relative in SET_FILES}
        if all(data is None for data in legacy.values()):
            return None
        return self._adopt_legacy({k: v for k, v in legacy.items() if v is not None})

    def _adopt_legacy(self, files: dict[str, bytes]) -> str | None:
        """Archive the set found at the seed paths and make `current` point at that copy; one
        that fails verification is kept as a .broken directory, never offered for rollback."""
        stem = f"training_{pd.Timestamp.now(tz='UTC'):%Y%m%d_%H%M%S}"
        archived = write_set_dir(files, self.paths.archive_dir, stem, ".backup")
        try:
            read_set(archived, self.signing_key)
        except (OSError, RegistryError):
            archived.rename(archived.with_suffix(".broken"))
            return None
        switch_current(self.paths, archived)
        return self.paths.display(f"archive/{archived.name}")

    def _set_files(
        self, payloads: dict[str, bytes], metadata: TrainingMetadata, previous: str | None
    ) -> dict[str, bytes]:
        """Every file of a set by its relative path, with the completed (and signed) metadata."""
        present = {n: rel for n, rel in SET_FILE_PATHS.items() if rel in payloads}
        file_hashes = {name: f"sha256:{sha256_hex(payloads[rel])}" for name, rel in present.items()}
        version_control = metadata.version_control.model_copy(
            update={"model_hash": set_hash(file_hashes), "previous_version": previous}
        )
        completed = TrainingMetadata.from_dict(
            {
                **metadata.to_dict(),
                "file_hashes": file_hashes,
                "model_files": {n: self.paths.display(rel) for n, rel in present.items()},
                "version_control": version_control.to_dict(),
            }
        )
        files = {**payloads, METADATA: metadata_to_bytes(completed)}
        if self.signing_key is not None:
            files[SIGNATURE] = self.signing_key.sign(files[METADATA])
        return files
