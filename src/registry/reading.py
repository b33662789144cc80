"""Reading a model set: find the live one, check every file, and only then unpickle.

Set directories never change once they exist, so reading needs no lock and writes nothing: a
dry run works on a read-only models directory.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from src.features.contract import FEATURE_MANAGER_VERSION
from src.position_rule import TradingPolicy
from src.registry.errors import IntegrityError
from src.registry.metadata import TrainingMetadata, metadata_from_bytes
from src.registry.paths import ARTIFACTS, METADATA
from src.registry.signing import SignatureStatus, SigningKey
from src.registry.verify import read_metadata_bytes, signature_status, verified_files


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


def read_set(base: Path, key: SigningKey | None) -> VerifiedSet:
    """Every file of the set under `base`, checked against its sha256 and the signature."""
    metadata_bytes = read_metadata_bytes(base)
    metadata = metadata_from_bytes(metadata_bytes, str(base / METADATA))
    signature = signature_status(base, metadata_bytes, key)
    payloads = verified_files(base, metadata.file_hashes, metadata.version_control.model_hash)
    return VerifiedSet(base, metadata, {name: payloads[name] for name in ARTIFACTS}, signature)


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
