"""Checking a set's files against its metadata and signature: the standard library only.

The registry's reader (reading.py) and the live predictor (src/inference/), which must not
import the training libraries or pandas, run the same checks from here: the signature over the
exact metadata bytes, then every listed file's sha256, then the set hash, before anything is
unpickled or loaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from src.atomic import sha256_hex
from src.registry.errors import IntegrityError, ModelsDirError, NoModelsError
from src.registry.paths import HASHED_FILES, METADATA, ONNX_FILES, SIGNATURE, ModelPaths
from src.registry.signing import SignatureStatus, SigningKey, check_signature

TRAIN_HINT = "train one with `python3 scripts/testing/dev_check.py ml-models`"
SET_FILE_PATHS = {**HASHED_FILES, **ONNX_FILES}  # every name a set's file_hashes may list


def set_hash(file_hashes: dict[str, str]) -> str:
    """One hash naming the whole set: sha256 over the sorted per-file hashes."""
    canonical = json.dumps(file_hashes, sort_keys=True).encode()
    return f"sha256:{sha256_hex(canonical)}"


def require_dir(paths: ModelPaths) -> None:
    if paths.root.exists() and not paths.root.is_dir():
        raise ModelsDirError(f"models directory {paths.root} is a file; pass a directory")


def live_set_dir(paths: ModelPaths) -> Path:
    """The directory of the live set: where `current` points (or the root, for a set installed
    before sets had directories of their own)."""
    require_dir(paths)
    if paths.current.is_symlink():
        return paths.root / os.readlink(paths.current)
    if (paths.root / "training").is_dir():  # real directories: a layout or a copy from before
        return paths.root
    raise NoModelsError(f"no model set in {paths.root}/: {paths.metadata} is missing; {TRAIN_HINT}")


def read_optional(path: Path) -> bytes | None:
    """A file's bytes, or None if it does not exist; a directory in its place (or a file in
    place of a directory above it) is refused."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except (IsADirectoryError, NotADirectoryError) as exc:
        raise IntegrityError(
            f"{path} cannot be read as the set's file ({exc.strerror}), so nothing was loaded; "
            "restore the set with `dev_check.py rollback` or retrain"
        ) from exc


def read_metadata_bytes(base: Path) -> bytes:
    metadata_path = base / METADATA
    data = read_optional(metadata_path)
    if data is None:
        raise NoModelsError(f"no model set at {base}: {metadata_path} is missing")
    return data


def signature_status(base: Path, metadata_bytes: bytes, key: SigningKey | None) -> SignatureStatus:
    """Refuse an unsigned or wrongly signed set when a key is given: the signature vouches for
    the metadata bytes, which hold every file's hash, so check it before trusting them."""
    signature = read_optional(base / SIGNATURE)
    return check_signature(metadata_bytes, signature, key, f"model set {base}")


def verified_files(
    base: Path, file_hashes: dict[str, str], model_hash: str | None
) -> dict[str, bytes]:
    """Every file the metadata lists (the pickles and report always), checked, by name."""
    metadata_path = base / METADATA
    unknown = sorted(set(file_hashes) - set(SET_FILE_PATHS))
    if unknown:
        raise IntegrityError(f"{metadata_path} lists unknown files {unknown}; retrain")
    names = [*HASHED_FILES, *(name for name in ONNX_FILES if name in file_hashes)]
    payloads = {name: _verified_bytes(base, name, file_hashes.get(name)) for name in names}
    if set_hash(file_hashes) != model_hash:
        raise IntegrityError(f"{metadata_path}: model_hash does not match its file_hashes")
    return payloads


def _verified_bytes(base: Path, name: str, expected: str | None) -> bytes:
    path = base / SET_FILE_PATHS[name]
    data = read_optional(path)
    if data is None:
        raise IntegrityError(
            f"{path} is missing but listed in {base / METADATA}; restore the set with "
            "`dev_check.py rollback`"
        )
    if f"sha256:{sha256_hex(data)}" != expected:
        raise IntegrityError(
            f"{path} does not match its sha256 in {base / METADATA} (expected {expected}): "
            "the file was changed or corrupted, so it was not loaded; restore the set "
            "with `dev_check.py rollback` or retrain"
        )
    return data
