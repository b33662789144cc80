"""Retirement events: written beside the set (its files untouched), signed, read fail-safe."""

from __future__ import annotations

import json

import pytest

from src.registry.errors import ModelsDirError, RetiredSetError
from src.registry.retire import lift, retire
from src.registry.retirement import read_retirement, retirement_path
from src.registry.signing import SigningKey
from src.registry.store import Registry

KEY = SigningKey.from_text("retirement-test-key")


def _live(registry: Registry):
    model_set = registry.load()
    return model_set.path, model_set.metadata.version_control.model_hash


def test_retiring_writes_a_signed_event_beside_the_set_and_leaves_its_files_alone(
    trained_set, models_dir, read_set_files
):
    registry = Registry(models_dir, signing_key=KEY)
    trained_set("A").promote(registry)
    set_dir, _ = _live(registry)
    before = read_set_files(set_dir)

    retirement = registry.retire(set_dir, "2025-01-02T00:00:00+00:00", "skill gone", {"bars": 9})

    assert read_set_files(set_dir) == before
    assert retirement_path(set_dir).parent == set_dir.parent  # beside, not inside
    assert retirement.active and retirement.signature == "signature verified"
    assert retirement.evidence == {"bars": 9}
    assert registry.load().position(trained_set("A").probe, held=1) == 0


def test_a_second_retirement_keeps_the_first_event(trained_set, models_dir):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    set_dir, _ = _live(registry)
    registry.retire(set_dir, "2025-01-02T00:00:00+00:00", "first", {})
    again = registry.retire(set_dir, "2025-01-03T00:00:00+00:00", "second", {})
    assert (again.at, again.reason) == ("2025-01-02T00:00:00+00:00", "first")


def test_a_lift_forged_without_the_key_leaves_the_set_retired(trained_set, models_dir):
    registry = Registry(models_dir, signing_key=KEY)
    trained_set("A").promote(registry)
    set_dir, model_hash = _live(registry)
    registry.retire(set_dir, "2025-01-02T00:00:00+00:00", "skill gone", {})
    record = json.loads(retirement_path(set_dir).read_text())
    record["event"]["lifted"] = {"at": "now", "by": "someone without the key"}
    retirement_path(set_dir).write_text(json.dumps(record))

    forged = read_retirement(set_dir, model_hash, KEY)

    assert forged.active and not forged.signature_ok
    assert "changed without the key" in forged.describe()


def test_a_lift_signed_with_the_key_puts_the_set_back(trained_set, models_dir):
    registry = Registry(models_dir, signing_key=KEY)
    trained_set("A").promote(registry)
    set_dir, model_hash = _live(registry)
    retirement = registry.retire(set_dir, "2025-01-02T00:00:00+00:00", "skill gone", {})
    lift(set_dir, retirement, "2025-01-05T00:00:00+00:00", "rollback --force", KEY)
    lifted = read_retirement(set_dir, model_hash, KEY)
    assert not lifted.active and lifted.lifted["by"] == "rollback --force"
    assert "retirement lifted" in lifted.describe()


@pytest.mark.parametrize(
    "content, problem",
    [
        ("not json", "cannot be read"),
        (None, "another set's files"),
        ('{"lifted": "x"}', "lifted is 'x'"),
    ],
)
def test_an_unreadable_or_foreign_event_counts_as_retired(
    trained_set, models_dir, content, problem
):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    set_dir, model_hash = _live(registry)
    registry.retire(set_dir, "2025-01-02T00:00:00+00:00", "skill gone", {})
    record = json.loads(retirement_path(set_dir).read_text())
    if content is None:
        record["event"]["model_hash"] = "sha256:" + "0" * 64
        content = json.dumps(record)
    elif content.startswith("{"):
        record["event"].update(json.loads(content))
        content = json.dumps(record)
    retirement_path(set_dir).write_text(content)
    retirement = read_retirement(set_dir, model_hash, None)
    assert retirement.active and problem in retirement.reason
    assert retirement.describe().startswith("RETIRED")


def test_a_set_outside_the_archive_cannot_be_retired(trained_set, models_dir):
    with pytest.raises(ModelsDirError, match="not an archived set"):
        retire(models_dir, "sha256:x", "2025-01-02", "why", {}, None)


def test_history_shows_the_retirement_and_rollback_refuses_it_without_force(
    trained_set, models_dir
):
    registry = Registry(models_dir, signing_key=KEY)
    trained_set("A").promote(registry)
    retired_dir, _ = _live(registry)
    registry.retire(retired_dir, "2025-01-02T00:00:00+00:00", "losing money", {})
    trained_set("B").promote(registry)

    versions = {version.name: version for version in registry.history()}
    assert versions[retired_dir.name].retired
    assert "losing money" in versions[retired_dir.name].retirement.describe()
    with pytest.raises(RetiredSetError, match="--force"):
        registry.rollback(retired_dir.name)

    rollback = registry.rollback(retired_dir.name, force=True)
    assert rollback.lifted is not None and rollback.restored.name == retired_dir.name
    assert registry.load().retirement().active is False


def test_an_event_written_before_the_key_was_set_says_so_and_its_lift_does_not_count(
    trained_set, models_dir
):
    unsigned = Registry(models_dir)
    trained_set("A").promote(unsigned)
    set_dir, model_hash = _live(unsigned)
    retirement = unsigned.retire(set_dir, "2025-01-02T00:00:00+00:00", "skill gone", {})
    lift(set_dir, retirement, "2025-01-05T00:00:00+00:00", "rollback --force", None)
    assert not read_retirement(set_dir, model_hash, None).active

    with_key = read_retirement(set_dir, model_hash, KEY)
    assert with_key.active and "unsigned, and MODEL_SIGNING_KEY is set" in with_key.describe()

