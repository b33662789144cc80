"""Signing the archived sets that were written without MODEL_SIGNING_KEY.

Once the key is set, every load and rollback refuses an unsigned set; `dev_check.py resign` signs
the archive's sets so they stay usable. Each set's files are checked against its metadata first
(every sha256 and the set hash), and only those exact metadata bytes are signed, so a set changed
after it was written is never vouched for. The signature is the one file a set gains after it
was written: it is written atomically beside the metadata (readers see no signature, then a whole
one) under the registry lock. A set already signed is checked and never overwritten.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from src.atomic import atomic_write_bytes
from src.registry.errors import (
    IntegrityError,
    MissingSigningKeyError,
    RegistryError,
    SignatureError,
)
from src.registry.history import ArchivedVersion, list_versions
from src.registry.metadata import metadata_from_bytes
from src.registry.paths import METADATA, SIGNATURE, ModelPaths
from src.registry.signing import SIGNING_KEY_ENV, SigningKey, check_signature, signed_key_id
from src.registry.verify import read_metadata_bytes, read_optional, verified_files


class Outcome(Enum):
    SIGNED = "signed"
    ALREADY_SIGNED = "already signed with this key"
    OTHER_KEY = "signed with another key"
    SKIPPED = "not signed"  # a set history already lists as never restorable
    FAILED = "NOT SIGNED"  # its files or its signature fail their checks


@dataclass(frozen=True)
class Resigned:
    """What `resign` did with one archived set."""

    name: str
    outcome: Outcome
    detail: str
    live: bool = False

    @property
    def failed(self) -> bool:
        return self.outcome is Outcome.FAILED

    def line(self) -> str:
        """One line for the console, the live set marked * as in `history`."""
        return f"{'* ' if self.live else '  '}{self.name}: {self.outcome.value}; {self.detail}"


def require_key(key: SigningKey | None) -> SigningKey:
    if key is None:
        raise MissingSigningKeyError(
            f"resign signs archived sets with {SIGNING_KEY_ENV}, which is not set; set it to the "
            "key the bot and the weekly workflow verify with, then run resign again"
        )
    return key


def resign_archive(paths: ModelPaths, key: SigningKey) -> list[Resigned]:
    """Sign every archived set that passes its checks and has no signature; oldest first.

    The caller holds the registry lock. The sets are listed as `history` lists them; each is
    then checked again here, so the bytes signed are the very bytes checked.
    """
    return [_resign(version, key) for version in list_versions(paths, None)]


def raise_for_failures(resigned: list[Resigned]) -> None:
    """Refuse, naming them, the sets that were not signed because they fail their checks."""
    failed = [item.name for item in resigned if item.failed]
    if failed:
        raise IntegrityError(
            f"{len(failed)} archived set(s) fail their checks and were not signed: "
            f"{', '.join(failed)} (the lines above say which file); restore their files from git "
            "(the weekly workflow commits models/) and run resign again, or delete them"
        )


def _resign(version: ArchivedVersion, key: SigningKey) -> Resigned:
    if version.name.endswith(".broken"):  # kept aside when it was replaced; history says why
        return Resigned(version.name, Outcome.SKIPPED, version.problem, version.live)
    try:
        metadata_bytes = _verified_metadata_bytes(version.path)
        signature = read_optional(version.path / SIGNATURE)
    except (OSError, RegistryError) as exc:
        return Resigned(version.name, Outcome.FAILED, str(exc), version.live)
    if signature is not None:
        return _checked(version, metadata_bytes, signature, key)
    atomic_write_bytes(version.path / SIGNATURE, key.sign(metadata_bytes))
    return Resigned(version.name, Outcome.SIGNED, f"with key {key.key_id}", version.live)


def _checked(
    version: ArchivedVersion, metadata_bytes: bytes, signature: bytes, key: SigningKey
) -> Resigned:
    """A set that is signed already: left as it is, said how."""
    where = f"model set {version.path}"
    try:
        check_signature(metadata_bytes, signature, key, where)
    except SignatureError as exc:
        signer = _signer(signature, where)
        if signer is not None and signer != key.key_id:
            detail = (
                f"key {signer}, not {SIGNING_KEY_ENV}'s key {key.key_id}; left as it is (load it "
                "with the key that signed it)"
            )
            return Resigned(version.name, Outcome.OTHER_KEY, detail, version.live)
        return Resigned(version.name, Outcome.FAILED, str(exc), version.live)
    return Resigned(version.name, Outcome.ALREADY_SIGNED, "left as it is", version.live)


def _signer(signature: bytes, where: str) -> str | None:
    try:
        return signed_key_id(signature, where)
    except SignatureError:
        return None


def _verified_metadata_bytes(set_dir: Path) -> bytes:
    """The metadata's bytes, once every file it lists matched its sha256 and the set hash: the
    bytes that are then signed are the very bytes checked."""
    metadata_bytes = read_metadata_bytes(set_dir)
    metadata = metadata_from_bytes(metadata_bytes, str(set_dir / METADATA))
    verified_files(set_dir, metadata.file_hashes, metadata.version_control.model_hash)
    return metadata_bytes
