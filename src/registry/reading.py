"""Reading a model set: find the live one, check every file, and only then unpickle.

Set directories never change once they exist, so reading needs no lock and writes nothing: a
dry run works on a read-only models directory.
"""

from __future__ import annotations

import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from src.atomic import sha256_hex
from src.features.contract import FEATURE_MANAGER_VERSION
from src.ml.position_rule import TradingPolicy
from src.registry.errors import IntegrityError, ModelsDirError, NoModelsError
from src.registry.metadata import TrainingMetadata, metadata_from_bytes, set_hash
from src.registry.paths import ARTIFACTS, HASHED_FILES, METADATA, SIGNATURE, ModelPaths
from src.registry.signing import SignatureStatus, SigningKey, check_signature

_TRAIN_HINT = "train one with `python3 scripts/testing/dev_check.py ml-models`"


@dataclass(frozen=True)
class VerifiedSet:
    """A set directory whose every file matched the metadata; nothing unpickled yet."""

    path: Path
    metadata: TrainingMetadata
    payloads: dict[str, bytes]  # artifact name -> pickle bytes
    signature: SignatureStatus


@dataclass(frozen=True)
class ModelSet:
    """A verified, loaded set: the three models, the ensemble, its trading policy, metadata."""

    models: dict[str, object]
    ensemble: object
    metadata: TrainingMetadata
    path: Path  # the set's own directory
    signature: SignatureStatus

    @property
    def policy(self) -> TradingPolicy:
        return TradingPolicy.from_record(self.metadata.policy)

    def position(self, features: pd.DataFrame, held: int = 0) -> int:
        """The position to hold over the next bar: +1 long, -1 short, 0 flat.

        `features` come from `FeatureManager().generate_features` on the closed candles so far
        (a few hundred bars, so the EMAs have converged); the newest row decides. `held` is the
        position held now: the policy's exit threshold applies to an open position.
        """
        p_up = float(self.ensemble.predict_proba(features.iloc[-1:])[0, 1])
        return self.policy.next_position(p_up, held)


def live_set_dir(paths: ModelPaths) -> Path:
    """The directory of the live set: where `current` points (or the root, for a set installed
    before sets had directories of their own)."""
    require_dir(paths)
    if paths.current.is_symlink():
        return paths.root / os.readlink(paths.current)
    if (paths.root / "training").is_dir():  # real directories: a layout or a copy from before
        return paths.root
    raise NoModelsError(
        f"no model set in {paths.root}/: {paths.metadata} is missing; {_TRAIN_HINT}"
    )


def require_dir(paths: ModelPaths) -> None:
    if paths.root.exists() and not paths.root.is_dir():
        raise ModelsDirError(f"models directory {paths.root} is a file; pass a directory")


def read_set(base: Path, key: SigningKey | None) -> VerifiedSet:
    """Every file of the set under `base`, checked against its sha256 and the signature."""
    metadata_path = base / METADATA
    try:
        metadata_bytes = metadata_path.read_bytes()
    except FileNotFoundError as exc:
        raise NoModelsError(f"no model set at {base}: {metadata_path} is missing") from exc
    metadata = metadata_from_bytes(metadata_bytes, str(metadata_path))
    signature = check_signature(
        metadata_bytes, read_optional(base / SIGNATURE), key, f"model set {base}"
    )
    payloads = {name: _verified_bytes(base, name, metadata) for name in HASHED_FILES}
    if set_hash(metadata.file_hashes) != metadata.version_control.model_hash:
        raise IntegrityError(f"{metadata_path}: model_hash does not match its file_hashes")
    del payloads["report"]
    return VerifiedSet(base, metadata, payloads, signature)


def check_feature_version(verified: VerifiedSet) -> None:
    made_by = verified.metadata.feature_manager_version
    if made_by != FEATURE_MANAGER_VERSION:
        raise IntegrityError(
            f"{verified.path / METADATA} was trained on FeatureManager {made_by}, but this code "
            f"makes features {FEATURE_MANAGER_VERSION}; retrain the models"
        )


def unpickle(verified: VerifiedSet) -> ModelSet:
    """The set's objects; only ever called on bytes whose sha256 the metadata vouched for."""
    check_feature_version(verified)
    objects = {name: pickle.load(io.BytesIO(verified.payloads[name])) for name in ARTIFACTS}
    ensemble = objects.pop("production_ensemble")
    if list(ensemble.feature_names_in_) != verified.metadata.feature_names:
        raise IntegrityError(
            f"{verified.path / METADATA}: feature_names differ from the ensemble's; retrain"
        )
    return ModelSet(objects, ensemble, verified.metadata, verified.path, verified.signature)


def read_optional(path: Path) -> bytes | None:
    """A file's bytes, or None if it does not exist."""
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None


def _verified_bytes(base: Path, name: str, metadata: TrainingMetadata) -> bytes:
    path = base / HASHED_FILES[name]
    data = read_optional(path)
    if data is None:
        raise IntegrityError(
            f"{path} is missing but listed in {base / METADATA}; restore the set with "
            "`dev_check.py rollback`"
        )
    expected = metadata.file_hashes.get(name)
    if f"sha256:{sha256_hex(data)}" != expected:
        raise IntegrityError(
            f"{path} does not match its sha256 in {base / METADATA} (expected {expected}): "
            "the file was changed or corrupted, so it was not unpickled; restore the set "
            "with `dev_check.py rollback` or retrain"
        )
    return data
