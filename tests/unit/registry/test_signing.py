"""Signed sets: with MODEL_SIGNING_KEY set, a set whose metadata was rewritten to match a
tampered file is refused before anything is unpickled; without it, loading says what it knows."""

from __future__ import annotations

import hashlib
import json
import pickle
import types
from pathlib import Path

import pytest

from src.registry.errors import NoModelsError, SignatureError
from src.registry.paths import ARTIFACTS, METADATA, SIGNATURE
from src.registry.signing import SignatureStatus, SigningKey
from src.registry.store import Registry
from src.registry.verify import set_hash

KEY = SigningKey.from_text("a signing key kept in the CI's secrets")
OTHER_KEY = SigningKey.from_text("another key")


class _CreatesMarker:
    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.fixture
def no_unpickling(monkeypatch) -> list[str]:
    calls: list[str] = []

    def refuse(*args, **kwargs):
        calls.append("load")
        raise AssertionError("pickle.load was called on a set whose signature failed")

    monkeypatch.setattr("src.registry.reading.pickle", types.SimpleNamespace(load=refuse))
    return calls


def _tamper_and_rewrite_hashes(models_dir: Path, marker: Path) -> None:
    """What an attacker who can write the models directory but lacks the key can do: replace a
    pickle with code, and rewrite its sha256 and the model_hash so every hash matches again."""
    (models_dir / ARTIFACTS["xgboost"]).write_bytes(pickle.dumps(_CreatesMarker(marker)))
    path = models_dir / METADATA
    metadata = json.loads(path.read_bytes())
    data = (models_dir / ARTIFACTS["xgboost"]).read_bytes()
    metadata["file_hashes"]["xgboost"] = f"sha256:{hashlib.sha256(data).hexdigest()}"
    metadata["version_control"]["model_hash"] = set_hash(metadata["file_hashes"])
    path.write_text(json.dumps(metadata, indent=2, sort_keys=True))


def test_a_signed_set_loads_and_says_it_was_verified(models_dir, trained_set):
    trained_set("A").promote(Registry(models_dir, signing_key=KEY))

    model_set = Registry(models_dir, signing_key=KEY).load()

    assert model_set.signature is SignatureStatus.VERIFIED
    record = json.loads((models_dir / SIGNATURE).read_bytes())
    assert record["algorithm"] == "hmac-sha256" and record["key_id"] == KEY.key_id
    assert KEY.secret.decode() not in (models_dir / SIGNATURE).read_text()


def test_rewritten_hashes_beside_a_tampered_file_are_refused_when_signing_is_on(
    models_dir, trained_set, tmp_path, no_unpickling
):
    trained_set("A").promote(Registry(models_dir, signing_key=KEY))
    _tamper_and_rewrite_hashes(models_dir, tmp_path / "unpickled")

    with pytest.raises(SignatureError, match="signature does not match training_metadata.json"):
        Registry(models_dir, signing_key=KEY).load()
    assert no_unpickling == []
    assert not (tmp_path / "unpickled").exists()


def test_without_the_key_the_same_tampering_passes_the_hash_checks(
    models_dir, trained_set, tmp_path
):
    # Why the signature exists: hashes alone only catch changes made without the metadata.
    trained_set("A").promote(Registry(models_dir, signing_key=KEY))
    _tamper_and_rewrite_hashes(models_dir, tmp_path / "unpickled")

    model_set = Registry(models_dir).load()

    assert (tmp_path / "unpickled").exists()  # the planted pickle ran its code
    assert model_set.signature is SignatureStatus.NOT_CHECKED


def test_an_unsigned_set_is_refused_when_signing_is_on(models_dir, trained_set, no_unpickling):
    trained_set("A").promote(Registry(models_dir))

    with pytest.raises(SignatureError, match="is unsigned, but MODEL_SIGNING_KEY is set"):
        Registry(models_dir, signing_key=KEY).load()
    assert no_unpickling == []


def test_a_deleted_signature_makes_the_set_unsigned_and_refused(models_dir, trained_set):
    trained_set("A").promote(Registry(models_dir, signing_key=KEY))
    (models_dir / SIGNATURE).unlink()

    with pytest.raises(SignatureError, match="is unsigned"):
        Registry(models_dir, signing_key=KEY).load()


def test_a_set_signed_with_another_key_names_both_keys(models_dir, trained_set):
    trained_set("A").promote(Registry(models_dir, signing_key=OTHER_KEY))

    with pytest.raises(SignatureError, match=f"{OTHER_KEY.key_id}.*{KEY.key_id}"):
        Registry(models_dir, signing_key=KEY).load()


@pytest.mark.parametrize(
    ("signer", "status"),
    [(None, SignatureStatus.UNSIGNED), (KEY, SignatureStatus.NOT_CHECKED)],
    ids=["unsigned", "signed"],
)
def test_without_a_key_loading_says_whether_the_set_is_signed(
    models_dir, trained_set, signer, status
):
    trained_set("A").promote(Registry(models_dir, signing_key=signer))

    assert Registry(models_dir).load().signature is status
    assert "MODEL_SIGNING_KEY" in status.value


def test_rollback_to_an_unsigned_archive_is_refused_when_signing_is_on(models_dir, trained_set):
    trained_set("A").promote(Registry(models_dir))
    registry = Registry(models_dir, signing_key=KEY)
    trained_set("B").promote(registry)

    with pytest.raises(NoModelsError, match="cannot be restored: .*is unsigned"):
        registry.rollback()
    assert registry.load().ensemble.model_version == "B"


def test_an_empty_key_means_no_signing():
    assert SigningKey.from_text("") is None and SigningKey.from_text(None) is None
