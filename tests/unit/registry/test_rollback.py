"""Rollback restores an archived set byte-for-byte; history lists the archive oldest first."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from src.registry.errors import NoModelsError
from src.registry.store import Registry


@pytest.fixture
def two_promotions(models_dir, trained_set, read_set_files) -> tuple[Registry, dict, dict]:
    """A then B promoted; returns the registry and the bytes of each set as it was live."""
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    first = read_set_files(models_dir)
    trained_set("B").promote(registry)
    return registry, first, read_set_files(models_dir)


def _model_hash(metadata: dict) -> str:
    return metadata["version_control"]["model_hash"]


def test_rollback_restores_the_previous_set_byte_for_byte(two_promotions, read_set_files):
    registry, first, _ = two_promotions
    models_dir = registry.paths.root
    previous = Path(registry.verify()["version_control"]["previous_version"])

    restored = registry.rollback().restored

    assert restored.name == previous.name
    assert read_set_files(models_dir) == first


def test_the_restored_set_loads_and_verifies(two_promotions):
    registry, _, _ = two_promotions
    restored = registry.rollback().restored

    model_set = registry.load()
    assert model_set.ensemble.model_version == "A"
    assert _model_hash(model_set.metadata) == _model_hash(restored.metadata)
    assert _model_hash(registry.verify()) == _model_hash(restored.metadata)


def test_rollback_archives_the_set_it_replaces(two_promotions, read_set_files):
    registry, _, second = two_promotions

    rollback = registry.rollback()

    newest = registry.history()[-1]
    assert newest.name != rollback.restored.name
    assert rollback.replaced_archive == str(newest.path)
    assert read_set_files(newest.path) == second


def test_rollback_to_a_named_version(two_promotions, read_set_files):
    registry, first, _ = two_promotions
    (archived_first,) = registry.history()

    restored = registry.rollback(to=archived_first.name).restored

    assert restored.name == archived_first.name
    assert read_set_files(registry.paths.root) == first


def test_a_rollback_can_itself_be_undone(two_promotions, read_set_files):
    registry, _, second = two_promotions
    registry.rollback()

    registry.rollback(to=registry.history()[-1].name)

    assert read_set_files(registry.paths.root) == second


def test_rollback_to_an_unknown_version_lists_the_available_ones(two_promotions, read_set_files):
    registry, _, second = two_promotions
    names = [version.name for version in registry.history()]

    with pytest.raises(
        NoModelsError, match=re.escape(f"no archived version 'nope'; available: {names}")
    ):
        registry.rollback(to="nope")
    assert read_set_files(registry.paths.root) == second


def test_rollback_without_a_previous_version_says_so(models_dir, trained_set):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)

    with pytest.raises(NoModelsError, match="no previous_version"):
        registry.rollback()


def test_history_lists_versions_oldest_first(models_dir, trained_set):
    registry = Registry(models_dir)
    written = [trained_set(label).promote(registry) for label in ("A", "B", "C")]

    history = registry.history()

    assert [_model_hash(version.metadata) for version in history] == [
        _model_hash(metadata) for metadata in written[:2]
    ]
    assert [str(version.path) for version in history] == [
        metadata["version_control"]["previous_version"] for metadata in written[1:]
    ]


def test_history_keeps_promotion_order_within_one_second(models_dir, trained_set, monkeypatch):
    # Eleven archives stamped in the same second get counters 2..11: "_10" must follow "_9".
    monkeypatch.setattr("src.registry.store._utc_stamp", lambda: "20250828_090000")
    registry = Registry(models_dir)
    labels = ["A", "B"] * 6
    written = [trained_set(label).promote(registry) for label in labels]

    archived_in_order = [
        metadata["version_control"]["previous_version"] for metadata in written[1:]
    ]
    assert [str(version.path) for version in registry.history()] == archived_in_order


def test_history_of_an_empty_registry_is_empty(tmp_path):
    assert Registry(tmp_path / "models").history() == []


def test_rollback_replaces_a_broken_live_set_and_keeps_it(two_promotions, read_set_files):
    registry, first, _ = two_promotions
    (archived_first,) = registry.history()
    (registry.paths.root / "training" / "xgboost_model.pkl").unlink()  # the live set is broken

    rollback = registry.rollback(to=archived_first.name)

    assert rollback.replaced_archive is None  # a broken set is never a rollback target...
    (broken,) = registry.paths.archive_dir.glob("*.broken")  # ...but it is kept
    assert (broken / "training" / "lightgbm_model.pkl").exists()
    assert read_set_files(registry.paths.root) == first
    registry.load()


def test_a_promotion_over_a_broken_live_set_keeps_it_aside(models_dir, trained_set):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    (models_dir / "training" / "training_metadata.json").write_text("{ not json")

    written = trained_set("B").promote(registry)

    assert written["version_control"]["previous_version"] is None
    assert len(list(registry.paths.archive_dir.glob("*.broken"))) == 1
    registry.load()


def test_an_unreadable_archive_is_listed_with_its_problem(two_promotions):
    registry, _, _ = two_promotions
    (archived,) = registry.history()
    (archived.path / "training" / "training_metadata.json").unlink()

    (listed,) = registry.history()

    assert listed.metadata is None and "training_metadata.json" in listed.problem
    with pytest.raises(NoModelsError, match="available: \\[\\]"):
        registry.rollback(to=archived.name)
