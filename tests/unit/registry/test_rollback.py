"""Rollback repoints `current` at an archived set, restoring it byte for byte; history lists every
set oldest first with the live one marked."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from src.registry.errors import IntegrityError, NoModelsError
from src.registry.paths import METADATA, SEED_DIRS
from src.registry.store import Registry
from src.reports.console import version_line


@pytest.fixture
def two_promotions(models_dir, trained_set, read_set_files) -> tuple[Registry, dict, dict]:
    """A then B promoted; returns the registry and the bytes of each set as it was live."""
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    first = read_set_files(models_dir)
    trained_set("B").promote(registry)
    return registry, first, read_set_files(models_dir)


def _model_hash(metadata) -> str:
    return metadata.version_control.model_hash


def _live_metadata(registry: Registry) -> dict:
    return json.loads(registry.paths.metadata.read_bytes())


def test_rollback_restores_the_previous_set_byte_for_byte(two_promotions, read_set_files):
    registry, first, _ = two_promotions
    previous = Path(_live_metadata(registry)["version_control"]["previous_version"])

    restored = registry.rollback().restored

    assert restored.name == previous.name
    assert read_set_files(registry.paths.root) == first


def test_the_restored_set_loads_and_verifies(two_promotions):
    registry, _, _ = two_promotions
    restored = registry.rollback().restored

    model_set = registry.load()
    assert model_set.ensemble.model_version == "A"
    assert _model_hash(model_set.metadata) == _model_hash(restored.metadata)


def test_the_replaced_set_stays_in_the_archive(two_promotions, read_set_files):
    registry, _, second = two_promotions

    rollback = registry.rollback()

    replaced = next(version for version in registry.history() if not version.live)
    assert rollback.replaced == str(replaced.path)
    assert read_set_files(replaced.path) == second


def test_rollback_to_a_named_version(two_promotions, read_set_files):
    registry, first, _ = two_promotions
    archived_first = registry.history()[0]

    restored = registry.rollback(to=archived_first.name).restored

    assert restored.name == archived_first.name
    assert read_set_files(registry.paths.root) == first


def test_a_rollback_can_itself_be_undone(two_promotions, read_set_files):
    registry, _, second = two_promotions
    rollback = registry.rollback()

    registry.rollback(to=Path(rollback.replaced).name)

    assert read_set_files(registry.paths.root) == second


def test_two_rollbacks_follow_previous_versions_back_to_the_first_set(models_dir, trained_set):
    registry = Registry(models_dir)
    for label in ("A", "B", "C"):
        trained_set(label).promote(registry)

    registry.rollback()
    assert registry.load().ensemble.model_version == "B"
    registry.rollback()
    assert registry.load().ensemble.model_version == "A"


def test_rollback_refuses_another_feature_version_and_changes_nothing(
    two_promotions, read_set_files
):
    registry, _, second = two_promotions
    target = registry.history()[0].path
    metadata = json.loads((target / METADATA).read_bytes())
    metadata["feature_manager_version"] = "v0.0.0"
    metadata_bytes = json.dumps(metadata).encode()
    # A set made by another FeatureManager, with honest hashes: only the version check stops it.
    (target / METADATA).write_bytes(metadata_bytes)

    with pytest.raises(IntegrityError, match="FeatureManager v0.0.0.*retrain"):
        registry.rollback()
    assert read_set_files(registry.paths.root) == second


def test_rollback_to_an_unknown_version_lists_the_available_ones(two_promotions, read_set_files):
    registry, _, second = two_promotions
    names = [version.name for version in registry.history() if not version.live]

    with pytest.raises(
        NoModelsError, match=re.escape(f"no archived version 'nope'; available: {names}")
    ):
        registry.rollback(to="nope")
    assert read_set_files(registry.paths.root) == second


def test_rollback_to_the_live_set_says_so(two_promotions):
    registry, _, _ = two_promotions
    live = next(version for version in registry.history() if version.live)

    with pytest.raises(NoModelsError, match="is the live set already"):
        registry.rollback(to=live.name)


def test_rollback_without_a_previous_version_says_so(models_dir, trained_set):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)

    with pytest.raises(NoModelsError, match="no previous_version"):
        registry.rollback()


def test_history_lists_every_set_oldest_first_and_marks_the_live_one(models_dir, trained_set):
    registry = Registry(models_dir)
    written = [trained_set(label).promote(registry) for label in ("A", "B", "C")]

    history = registry.history()

    assert [_model_hash(version.metadata) for version in history] == [
        _model_hash(metadata) for metadata in written
    ]
    assert [version.live for version in history] == [False, False, True]
    assert [str(version.path) for version in history[:2]] == [
        metadata.version_control.previous_version for metadata in written[1:]
    ]


def test_history_keeps_promotion_order_within_one_second(models_dir, trained_set):
    # The test sets share one training time: twelve sets are numbered _2 .. _12, "_10" after "_9".
    registry = Registry(models_dir)
    written = [trained_set(label).promote(registry) for label in ["A", "B"] * 6]

    previous = [metadata.version_control.previous_version for metadata in written[1:]]
    assert [str(version.path) for version in registry.history()[:-1]] == previous


def test_history_of_an_empty_registry_is_empty(tmp_path):
    assert Registry(tmp_path / "models").history() == []


def test_a_broken_live_set_can_be_replaced_and_is_listed_as_not_restorable(
    two_promotions, read_set_files
):
    registry, first, _ = two_promotions
    (registry.paths.root / "training" / "xgboost_model.pkl").unlink()  # the live set is broken

    registry.rollback(to=registry.history()[0].name)

    assert read_set_files(registry.paths.root) == first
    broken = registry.history()[1]
    assert not broken.restorable and "xgboost_model.pkl is missing" in broken.problem
    assert (broken.path / "training" / "lightgbm_model.pkl").exists()  # kept, not deleted
    with pytest.raises(NoModelsError, match="cannot be restored: .*xgboost_model.pkl is missing"):
        registry.rollback(to=broken.name)


def test_an_unreadable_archive_is_listed_with_its_problem(two_promotions):
    registry, _, _ = two_promotions
    archived = registry.history()[0]
    (archived.path / METADATA).unlink()

    listed = registry.history()[0]

    assert listed.metadata is None and "training_metadata.json" in listed.problem
    with pytest.raises(NoModelsError, match="cannot be restored"):
        registry.rollback(to=archived.name)


def _as_legacy_layout(models_dir: Path) -> None:
    """The layout before sets had directories: real training/ and production/ directories."""
    set_dir = (models_dir / "current").resolve()
    for name in SEED_DIRS:
        (models_dir / name).unlink()
        shutil.copytree(set_dir / name, models_dir / name)
    (models_dir / "current").unlink()
    shutil.rmtree(models_dir / "archive")


def test_a_set_installed_in_the_old_layout_is_adopted_on_the_next_promotion(
    models_dir, trained_set, read_set_files
):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    _as_legacy_layout(models_dir)
    legacy = read_set_files(models_dir)
    assert registry.load().ensemble.model_version == "A"

    written = trained_set("B").promote(registry)

    assert all(os.readlink(models_dir / name) == f"current/{name}" for name in SEED_DIRS)
    assert read_set_files(models_dir / written.version_control.previous_version) == legacy
    assert registry.load().ensemble.model_version == "B"
    registry.rollback()
    assert read_set_files(models_dir) == legacy


def test_a_copy_that_followed_the_links_still_loads_and_takes_a_promotion(
    tmp_path, two_promotions, trained_set, read_set_files
):
    registry, _, second = two_promotions
    copy = tmp_path / "copied-models"
    shutil.copytree(registry.paths.root, copy)  # symlinks=False: links become directories
    copied = Registry(copy)
    assert copied.load().ensemble.model_version == "B"

    trained_set("C").promote(copied)

    assert copied.load().ensemble.model_version == "C"
    copied.rollback()
    assert read_set_files(copy) == second


def test_history_shows_each_versions_window_holdout_mcc_and_net_return(models_dir, trained_set):
    registry = Registry(models_dir)
    written = [trained_set(label).promote(registry) for label in ("A", "B")]
    lines = [version_line(version) for version in registry.history()]
    for line, metadata in zip(lines, written, strict=True):
        data, trading = metadata.data, metadata.trading_check
        assert f"window {data.start[:16]} .. {data.end[:16]} UTC" in line
        assert f"holdout MCC {metadata.ensemble_metrics.mcc:.3f}" in line
        assert f"holdout net after costs {trading.policy.net_return:+.2%}" in line
        assert f"(buy-and-hold {trading.buy_and_hold.net_return:+.2%})" in line
    assert lines[1].startswith("* ") and all(len(x) <= 100 for x in lines[1].splitlines()[1:])
