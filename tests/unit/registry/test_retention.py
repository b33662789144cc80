"""Retention: after each promotion and saved candidate the archive keeps the live set, its
previous_version, anything newer than it and the newest N sets; old candidates go; a removal
never leaves a half-deleted set under its name."""

from __future__ import annotations

import errno
import os
import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from src.config import RetentionConfig
from src.registry import retention
from src.registry.paths import ARTIFACTS, TEMP_PREFIX
from src.registry.retention import Pruned, sets_to_prune
from src.registry.store import Registry

LABELS = ("A", "B", "C")
MIDNIGHT = datetime(2025, 8, 28, tzinfo=UTC)
REAL_RMTREE = shutil.rmtree
DAY_S = 24 * 3600


def _set(number: int) -> str:
    """The archive name of set `number`, trained `number` hours after midnight (`_promote`)."""
    return f"training_20250828_{number:02d}0000.backup"


def _registry(models_dir: Path, keep_promoted: int = 8, candidate_days: float = 28) -> Registry:
    return Registry(models_dir, retention=RetentionConfig(
        keep_promoted=keep_promoted, candidate_days=candidate_days
    ))  # fmt: skip


def _promote(registry: Registry, trained_set, numbers: range) -> None:
    """Promote sets `numbers`, each trained an hour after the one before (`_set(number)`)."""
    for number in numbers:
        models, ensemble, metadata, report_html, onnx_files = trained_set(
            LABELS[number % len(LABELS)]
        ).parts()
        trained_at = MIDNIGHT + timedelta(hours=number)
        metadata = metadata.model_copy(update={"created_at": trained_at.isoformat()})
        registry.promote(models, ensemble, metadata, report_html, onnx_files)


def _failing_removal(error: BaseException):
    """shutil.rmtree, failing with `error` for a directory retention removes."""

    def rmtree(path, *args, **kwargs):
        if Path(path).name.startswith(f"{TEMP_PREFIX}pruned-"):
            raise error
        return REAL_RMTREE(path, *args, **kwargs)

    return rmtree


def _archive(models_dir: Path) -> list[str]:
    return sorted(path.name for path in (models_dir / "archive").iterdir())


def _live(models_dir: Path) -> str:
    return Path(os.readlink(models_dir / "current")).name


S = [f"s{number}" for number in range(1, 7)]


@pytest.mark.parametrize(
    ("names", "live", "previous", "keep", "pruned"),
    [
        pytest.param(S[:5], "s5", "s4", 2, ["s1", "s2", "s3"], id="the newest N"),
        pytest.param(S[:5], "s5", "s1", 2, ["s2", "s3"], id="previous_version kept"),
        pytest.param(S[:5], "s5", "s4", 8, [], id="fewer than N"),
        pytest.param(S, "s3", "s2", 1, ["s1"], id="rolled back: newer sets kept"),
        pytest.param(S, "s1", None, 1, [], id="rolled back to the oldest"),
        pytest.param(S[:5], None, None, 1, [], id="no live set: nothing"),
        pytest.param(S[:5], "gone", None, 1, [], id="live set not in the archive: nothing"),
    ],
)  # fmt: skip
def test_which_sets_retention_removes(names, live, previous, keep, pruned):
    assert sets_to_prune(names, live, previous, keep) == pruned


def test_five_promotions_keeping_two_leave_exactly_the_two_newest(models_dir, trained_set):
    registry = _registry(models_dir, keep_promoted=2)

    _promote(registry, trained_set, range(1, 6))

    assert _archive(models_dir) == [_set(4), _set(5)]
    assert _live(models_dir) == _set(5)
    assert registry.last_pruned == Pruned(sets=(_set(3),))
    assert [version.name for version in registry.history()] == [_set(4), _set(5)]
    assert registry.load().metadata.version_control.previous_version.endswith(_set(4))
    assert registry.rollback().restored.name == _set(4)


def test_without_a_retention_config_nothing_is_removed(models_dir, trained_set):
    _promote(Registry(models_dir), trained_set, range(1, 5))

    assert _archive(models_dir) == [_set(number) for number in range(1, 5)]


def test_after_a_rollback_the_live_set_its_previous_and_newer_sets_stay(models_dir, trained_set):
    _promote(Registry(models_dir), trained_set, range(1, 6))
    Registry(models_dir).rollback(to=_set(3))
    registry = _registry(models_dir, keep_promoted=1)

    registry.save_candidate(*trained_set("C").parts())  # any write prunes

    restored = [f"{_set(3)}.live-since.json"]  # the rollback's record, kept with its set
    assert _archive(models_dir) == sorted([_set(n) for n in range(2, 6)] + restored)
    assert registry.last_pruned.sets == (_set(1),)
    assert _live(models_dir) == _set(3)
    assert registry.load().path.name == _set(3)


def test_no_set_is_removed_while_the_live_one_fails_its_checks(models_dir, trained_set):
    _promote(Registry(models_dir), trained_set, range(1, 4))
    corrupted = models_dir / "archive" / _set(3) / ARTIFACTS["lightgbm"]
    corrupted.write_bytes(corrupted.read_bytes() + b"\0")
    registry = _registry(models_dir, keep_promoted=1)

    registry.save_candidate(*trained_set("A").parts())

    assert _archive(models_dir) == [_set(1), _set(2), _set(3)]
    assert not registry.last_pruned.sets


def test_candidates_saved_longer_ago_than_candidate_days_are_removed(models_dir, trained_set):
    registry = _registry(models_dir, candidate_days=28)
    old = registry.save_candidate(*trained_set("A").parts())
    recent = registry.save_candidate(*trained_set("B").parts())
    month_ago = time.time() - 30 * DAY_S
    os.utime(old, (month_ago, month_ago))
    os.utime(recent, (time.time() - 27 * DAY_S,) * 2)

    newest = registry.save_candidate(*trained_set("C").parts())

    assert sorted((models_dir / "candidates").iterdir()) == sorted([recent, newest])
    assert registry.last_pruned == Pruned(candidates=(old.name,))
    # (every candidate's training time, in its name, is a year old: the age is since saving)


def test_a_promotion_prunes_old_candidates_too(models_dir, trained_set):
    registry = _registry(models_dir, candidate_days=1)
    old = registry.save_candidate(*trained_set("A").parts())
    os.utime(old, (time.time() - 2 * DAY_S,) * 2)

    trained_set("B").promote(registry)

    assert not old.exists()
    assert registry.last_pruned == Pruned(candidates=(old.name,))


def test_a_removed_sets_sidecar_files_go_with_it(models_dir, trained_set):
    _promote(Registry(models_dir), trained_set, range(1, 4))
    archive = models_dir / "archive"
    for number in (1, 2):
        (archive / f"{_set(number)}.retirement.json").write_text("{}")

    _promote(_registry(models_dir, keep_promoted=3), trained_set, range(4, 5))

    assert _archive(models_dir) == [_set(2), f"{_set(2)}.retirement.json", _set(3), _set(4)]


def test_a_sidecar_left_without_its_set_is_removed_by_the_next_pruning(models_dir, trained_set):
    registry = _registry(models_dir)
    _promote(registry, trained_set, range(1, 2))
    orphan = models_dir / "archive" / "training_20200101_000000.backup.retirement.json"
    orphan.write_text("{}")

    _promote(registry, trained_set, range(2, 3))

    assert not orphan.exists()
    assert _archive(models_dir) == [_set(1), _set(2)]


class Killed(BaseException):
    """Stands for a kill: nothing after it runs, no handler catches it."""


def test_a_kill_during_removal_leaves_no_set_history_lists_and_the_next_write_cleans_up(
    models_dir, trained_set, monkeypatch
):
    _promote(Registry(models_dir), trained_set, range(1, 3))
    sidecar = models_dir / "archive" / f"{_set(1)}.retirement.json"
    sidecar.write_text("{}")
    registry = _registry(models_dir, keep_promoted=1)

    with monkeypatch.context() as patch:
        patch.setattr(retention.shutil, "rmtree", _failing_removal(Killed()))
        with pytest.raises(Killed):
            _promote(registry, trained_set, range(3, 4))

    trash = f"{TEMP_PREFIX}pruned-{_set(1)}"
    assert _archive(models_dir) == [trash, _set(2), _set(3)]
    in_trash = {path.name for path in (models_dir / "archive" / trash).iterdir()}
    assert in_trash == {"training", "production", sidecar.name}
    assert [version.name for version in registry.history()] == [_set(2), _set(3)]
    assert registry.load().path.name == _set(3)

    registry.rollback()

    assert _archive(models_dir) == [_set(2), f"{_set(2)}.live-since.json", _set(3)]


def test_a_removal_that_fails_is_reported_and_the_promotion_stands(
    models_dir, trained_set, monkeypatch
):
    _promote(Registry(models_dir), trained_set, range(1, 3))
    registry = _registry(models_dir, keep_promoted=1)

    failing_disk = OSError(errno.EIO, "Input/output error")

    with monkeypatch.context() as patch:
        patch.setattr(retention.shutil, "rmtree", _failing_removal(failing_disk))
        _promote(registry, trained_set, range(3, 4))

    assert registry.load().path.name == _set(3)
    assert "Input/output error" in registry.last_pruned.problem
    described = registry.last_pruned.describe(registry.retention)
    assert described.startswith("retention: stopped: [Errno 5] Input/output error")
    assert described.endswith("the next promotion or candidate retries")


def test_what_was_pruned_is_described_in_one_line():
    pruned = Pruned(sets=("a.backup", "b.backup"), candidates=("c.candidate",))

    described = pruned.describe(RetentionConfig(keep_promoted=2, candidate_days=28))

    assert described == (
        "retention: removed 2 archived set(s) beyond the newest 2: a.backup, b.backup; "
        "removed 1 candidate(s) older than 28 days: c.candidate"
    )
