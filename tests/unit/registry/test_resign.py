"""`Registry.resign`: archived sets written without a key are signed once their files pass their
checks; signed sets are checked and never rewritten; a set that fails is named and not signed."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from filelock import FileLock

from src.inference.predictor import LivePredictor
from src.registry.errors import IntegrityError, LockTimeoutError, MissingSigningKeyError
from src.registry.paths import ARTIFACTS, METADATA, SIGNATURE
from src.registry.resign import Outcome, raise_for_failures
from src.registry.signing import SignatureStatus, SigningKey
from src.registry.store import Registry

KEY_TEXT = "the key the bot verifies with"
KEY = SigningKey.from_text(KEY_TEXT)
OTHER_KEY = SigningKey.from_text("a key from before")


def _outcomes(resigned) -> dict[str, Outcome]:
    return {item.name: item.outcome for item in resigned}


def _archived(models_dir: Path) -> list[Path]:
    return sorted((models_dir / "archive").glob("*.backup"))


@pytest.fixture
def two_unsigned(models_dir, trained_set) -> list[Path]:
    """Sets A then B (live) promoted without a key: their archive directories, oldest first."""
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    trained_set("B").promote(registry)
    return _archived(models_dir)


def test_unsigned_sets_are_signed_and_then_load_and_list_as_verified(models_dir, two_unsigned):
    with pytest.raises(IntegrityError, match="unsigned"):
        Registry(models_dir, signing_key=KEY).load()

    resigned = Registry(models_dir, signing_key=KEY).resign()

    assert _outcomes(resigned) == {path.name: Outcome.SIGNED for path in two_unsigned}
    assert [item.live for item in resigned] == [False, True]
    assert resigned[1].line() == f"* {two_unsigned[1].name}: signed; with key {KEY.key_id}"
    registry = Registry(models_dir, signing_key=KEY)
    assert registry.load().signature is SignatureStatus.VERIFIED
    assert all(version.restorable for version in registry.history())
    live = LivePredictor.load(models_dir, signing_key=KEY_TEXT)
    assert live.signature is SignatureStatus.VERIFIED
    raise_for_failures(resigned)  # nothing failed: no error


def test_the_signature_vouches_for_the_metadata_bytes_as_they_were(models_dir, two_unsigned):
    before = {path: (path / METADATA).read_bytes() for path in two_unsigned}

    Registry(models_dir, signing_key=KEY).resign()

    for path, metadata_bytes in before.items():
        assert (path / METADATA).read_bytes() == metadata_bytes
        assert (path / SIGNATURE).read_bytes() == KEY.sign(metadata_bytes)


def test_a_second_resign_leaves_every_signature_as_it_is(models_dir, two_unsigned):
    Registry(models_dir, signing_key=KEY).resign()
    signatures = {path: (path / SIGNATURE).read_bytes() for path in two_unsigned}

    again = Registry(models_dir, signing_key=KEY).resign()

    assert set(_outcomes(again).values()) == {Outcome.ALREADY_SIGNED}
    assert {path: (path / SIGNATURE).read_bytes() for path in two_unsigned} == signatures


def test_a_set_signed_with_another_key_is_reported_and_never_overwritten(
    models_dir, trained_set
):
    trained_set("A").promote(Registry(models_dir, signing_key=OTHER_KEY))
    (signed,) = _archived(models_dir)
    signature = (signed / SIGNATURE).read_bytes()

    (item,) = Registry(models_dir, signing_key=KEY).resign()

    assert item.outcome is Outcome.OTHER_KEY and not item.failed
    assert f"key {OTHER_KEY.key_id}, not MODEL_SIGNING_KEY's key {KEY.key_id}" in item.detail
    assert (signed / SIGNATURE).read_bytes() == signature


def test_a_set_whose_file_changed_is_not_signed_and_is_named(models_dir, two_unsigned):
    first, second = two_unsigned
    tampered = first / ARTIFACTS["xgboost"]
    tampered.write_bytes(tampered.read_bytes() + b"\0")

    resigned = Registry(models_dir, signing_key=KEY).resign()

    assert _outcomes(resigned) == {first.name: Outcome.FAILED, second.name: Outcome.SIGNED}
    assert f"{tampered} does not match its sha256" in resigned[0].detail
    assert not (first / SIGNATURE).exists()
    with pytest.raises(IntegrityError, match=rf"not signed: {first.name} \(the lines above"):
        raise_for_failures(resigned)


def test_a_signed_set_whose_metadata_changed_afterwards_fails(models_dir, trained_set):
    trained_set("A").promote(Registry(models_dir, signing_key=KEY))
    (signed,) = _archived(models_dir)
    metadata = json.loads((signed / METADATA).read_bytes())
    metadata["notes"] = "edited after signing"
    (signed / METADATA).write_text(json.dumps(metadata, indent=2, sort_keys=True))
    signature = (signed / SIGNATURE).read_bytes()

    (item,) = Registry(models_dir, signing_key=KEY).resign()

    assert item.failed and "the signature does not match" in item.detail
    assert (signed / SIGNATURE).read_bytes() == signature


def test_a_set_kept_aside_as_broken_is_skipped(models_dir, two_unsigned):
    broken = two_unsigned[0].with_suffix(".broken")
    shutil.copytree(two_unsigned[0], broken)

    resigned = Registry(models_dir, signing_key=KEY).resign()

    by_name = {item.name: item for item in resigned}
    assert by_name[broken.name].outcome is Outcome.SKIPPED and not by_name[broken.name].failed
    assert "kept aside" in by_name[broken.name].detail
    assert not (broken / SIGNATURE).exists()


def test_without_a_key_nothing_is_touched(models_dir, two_unsigned):
    before = sorted(path for path in models_dir.rglob("*"))

    with pytest.raises(MissingSigningKeyError, match="MODEL_SIGNING_KEY, which is not set; set"):
        Registry(models_dir).resign()

    assert sorted(path for path in models_dir.rglob("*")) == before


def test_resign_waits_for_the_registry_lock(models_dir, two_unsigned):
    registry = Registry(models_dir, lock_timeout_s=0.1, signing_key=KEY)

    with FileLock(registry.paths.lock), pytest.raises(LockTimeoutError):
        registry.resign()

    assert not any((path / SIGNATURE).exists() for path in two_unsigned)


def test_an_empty_archive_has_nothing_to_sign(models_dir):
    assert Registry(models_dir, signing_key=KEY).resign() == []
