"""HMAC-SHA256 signatures of model sets, so rewritten hashes beside a tampered file do not help.

The signature covers the exact bytes of training_metadata.json, which hold every file's sha256
and the set's model_hash: one signature vouches for every file and every recorded figure (the
trading policy's thresholds included). It is kept beside the metadata in training_metadata.sig.
No dependencies beyond the standard library, so the inference path can use it too.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from enum import Enum

from src.registry.errors import SignatureError

ALGORITHM = "hmac-sha256"
SIGNING_KEY_ENV = "MODEL_SIGNING_KEY"


class SignatureStatus(Enum):
    VERIFIED = "signature verified"
    UNSIGNED = f"unsigned (set {SIGNING_KEY_ENV} to sign and verify model sets)"
    NOT_CHECKED = f"signed, but not verified ({SIGNING_KEY_ENV} is not set)"


@dataclass(frozen=True)
class SigningKey:
    secret: bytes

    @classmethod
    def from_text(cls, text: str | None) -> SigningKey | None:
        """The key from an environment value; None or an empty value means no signing."""
        return cls(text.encode("utf-8")) if text else None

    @classmethod
    def from_env(cls) -> SigningKey | None:
        """The key in MODEL_SIGNING_KEY, or None when it is unset or empty."""
        return cls.from_text(os.environ.get(SIGNING_KEY_ENV))

    @property
    def key_id(self) -> str:
        """Names the key without revealing it, so a mismatch can say which key signed."""
        return hashlib.sha256(b"key-id:" + self.secret).hexdigest()[:12]

    def sign(self, metadata_bytes: bytes) -> bytes:
        digest = hmac.new(self.secret, metadata_bytes, hashlib.sha256).hexdigest()
        record = {"algorithm": ALGORITHM, "key_id": self.key_id, "signature": digest}
        return (json.dumps(record, sort_keys=True) + "\n").encode("ascii")


def check_signature(
    metadata_bytes: bytes, signature_bytes: bytes | None, key: SigningKey | None, where: str
) -> SignatureStatus:
    """Refuse an unsigned or wrongly signed set when a key is given; otherwise report status."""
    if key is None:
        return SignatureStatus.UNSIGNED if signature_bytes is None else SignatureStatus.NOT_CHECKED
    if signature_bytes is None:
        raise SignatureError(
            f"{where} is unsigned, but {SIGNING_KEY_ENV} is set, so only signed sets load; "
            "retrain with the key set, or roll back to a signed version"
        )
    record = _parse(signature_bytes, where)
    expected = json.loads(key.sign(metadata_bytes))
    if record.get("key_id") != key.key_id:
        raise SignatureError(
            f"{where} was signed with key {record.get('key_id')!r}, but {SIGNING_KEY_ENV} is key "
            f"{key.key_id!r}; use the key the set was signed with, or retrain"
        )
    if not hmac.compare_digest(str(record.get("signature")), expected["signature"]):
        raise SignatureError(
            f"{where}: the signature does not match training_metadata.json: the metadata was "
            "changed after signing, so nothing was loaded; restore the set with rollback or retrain"
        )
    return SignatureStatus.VERIFIED


def signed_key_id(signature_bytes: bytes, where: str) -> str | None:
    """The id of the key a signature file says signed it (unchecked: check_signature checks)."""
    return _parse(signature_bytes, where).get("key_id")


def _parse(signature_bytes: bytes, where: str) -> dict:
    try:
        record = json.loads(signature_bytes.decode("ascii"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SignatureError(f"{where}: the signature file is unreadable ({exc})") from exc
    if not isinstance(record, dict) or record.get("algorithm") != ALGORITHM:
        raise SignatureError(f"{where}: the signature file is not an {ALGORITHM} record")
    return record
