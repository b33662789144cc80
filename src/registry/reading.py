"""Reading a model set: find the live one, check every file, and only then unpickle.

Set directories never change once they exist, so reading needs no lock and writes nothing: a
dry run works on a read-only models directory.
"""

from __future__ import annotations

import io
import pickle
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from src.features.contract import FEATURE_MANAGER_VERSION
from src.position_rule import TradingPolicy
from src.registry.errors import IntegrityError
from src.registry.metadata import TrainingMetadata, metadata_from_bytes
from src.registry.paths import ARTIFACTS, METADATA
from src.registry.retirement import Retirement, read_retirement
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
    signing_key: SigningKey | None = field(default=None, repr=False)  # judges retirement events

    @property
    def policy(self) -> TradingPolicy:
        return TradingPolicy.from_record(self.metadata.policy)

    def retirement(self) -> Retirement | None:
        """The set's retirement event, read now: a set retired while loaded stops trading."""
        model_hash = self.metadata.version_control.model_hash
        return read_retirement(self.path, model_hash, self.signing_key)

    def position(self, features: pd.DataFrame, held: int = 0) -> int:
        """The position to hold over the next bar: +1 long, -1 short, 0 flat.

        `features` come from `FeatureManager().generate_features` on the closed candles so far
        (a few hundred bars, so the EMAs have converged); the newest row decides. `held` is the
        position held now: the policy's exit threshold applies to an open position. A retired
        set is flat.
        """
        retirement = self.retirement()
        if retirement is not None and retirement.active:
            return 0
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


def unpickle(verified: VerifiedSet, signing_key: SigningKey | None = None) -> ModelSet:
    """The set's objects; only ever called on bytes whose sha256 the metadata vouched for."""
    check_feature_version(verified)
    objects = {name: pickle.load(io.BytesIO(verified.payloads[name])) for name in ARTIFACTS}
    ensemble = objects.pop("production_ensemble")
    if list(ensemble.feature_names_in_) != verified.metadata.feature_names:
        raise IntegrityError(
            f"{verified.path / METADATA}: feature_names differ from the ensemble's; retrain"
        )
    return ModelSet(
        objects, ensemble, verified.metadata, verified.path, verified.signature, signing_key
    )
