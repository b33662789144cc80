"""A full or failing disk during a promotion, a candidate or a rollback: a one-line StorageError
naming the path and the free space needed, the live set untouched, nothing temporary left.

On real file systems each test makes: a small tmpfs whose space or inodes another "program"
(tests.support.filesystems.Filler) takes away at a chosen step, and an ext4 on a loop device
shut down at a chosen step (from then on every read and write returns EIO, as on a dead disk;
this machine has no device-mapper, so no dm "error" target). Where mounting is not possible
(not root, no loop device), the tests skip and pytest's -ra summary says why.
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import pytest

from src.atomic import StorageError, bytes_needed, free_bytes, mib
from src.registry.store import Registry
from tests.support import filesystems
from tests.support.promotion_steps import PROMOTION_STEPS, Recorder, run_with_steps

DISK_BYTES = 8 * 2**20
DISK_INODES = 128
PAGE = os.sysconf("SC_PAGE_SIZE")
# What each way of filling the disk takes away, and so which steps of a promotion then fail: on
# tmpfs a rename needs neither, a short symlink needs only an inode.
NEEDS = {"space": ("write",), "inodes": ("write", "symlink")}


@pytest.fixture
def small_disk(tmp_path) -> Path:
    with filesystems.mounted_or_skip(
        filesystems.small_tmpfs(tmp_path / "disk", DISK_BYTES, DISK_INODES)
    ) as root:
        yield root


@pytest.fixture
def ext4_disk(tmp_path) -> filesystems.Ext4:
    disk = filesystems.small_ext4(tmp_path / "disk.img", tmp_path / "disk", DISK_BYTES)
    with filesystems.mounted_or_skip(disk) as mounted:
        yield mounted


def _leftovers(models_dir: Path) -> list[str]:
    return sorted(
        str(path.relative_to(models_dir))
        for pattern in (".tmp-*", "*.tmp")
        for path in models_dir.rglob(pattern)
    )


def _archived(models_dir: Path) -> list[str]:
    return sorted(path.name for path in (models_dir / "archive").iterdir())


def _assert_one_line_naming(error: StorageError, models_dir: Path, reason: str) -> None:
    message = str(error)
    assert "\n" not in message, message
    assert str(models_dir) in message, message
    assert reason in message and "MiB" in message and "needed" in message, message
    assert "--models-dir" in message, message  # what to do


def _set_sizes(trained, tmp_path: Path, read_set_files) -> list[int]:
    """The bytes of each file of `trained`'s set, from a promotion of it elsewhere."""
    elsewhere = tmp_path / "rehearsal"
    trained.promote(Registry(elsewhere))
    return [len(data) for data in read_set_files(elsewhere).values()]


def test_a_set_that_does_not_fit_is_refused_before_anything_is_written(
    small_disk, trained_set, read_set_files, tmp_path
):
    models_dir = small_disk / "models"
    registry = Registry(models_dir)
    hash_a = trained_set("A").promote(registry).version_control.model_hash
    files_a, archived_a = read_set_files(models_dir), _archived(models_dir)
    sizes = _set_sizes(trained_set("B"), tmp_path, read_set_files)
    files_bytes = sum(-(-size // PAGE) * PAGE for size in sizes)
    needed = bytes_needed(sizes, models_dir)
    filler = filesystems.Filler(small_disk)
    promote_b = functools.partial(trained_set("B").promote, registry)

    # Just below the set's own size, then room for its files but not for the margin.
    for free in (sum(sizes) - 4 * PAGE, files_bytes + 8 * PAGE):
        filler.release()
        filler.fill_space(leave_bytes=free)
        with pytest.raises(StorageError) as caught:
            promote_b()
        _assert_one_line_naming(caught.value, models_dir, "nothing was written")
        assert f"{mib(needed)} needed" in str(caught.value)
        assert read_set_files(models_dir) == files_a
        assert registry.load().metadata.version_control.model_hash == hash_a
        assert _archived(models_dir) == archived_a
        assert _leftovers(models_dir) == []

    filler.release()
    filler.fill_space(leave_bytes=needed + 8 * PAGE)
    assert promote_b().version_control.model_hash != hash_a


@pytest.mark.slow
@pytest.mark.parametrize("step", range(PROMOTION_STEPS))
@pytest.mark.parametrize("resource", sorted(NEEDS))
def test_a_disk_that_fills_during_a_promotion_leaves_the_live_set_and_no_leftovers(
    small_disk, trained_set, read_set_files, promotion_steps, monkeypatch, resource, step
):
    models_dir = small_disk / "models"
    registry = Registry(models_dir)
    hash_a = trained_set("A").promote(registry).version_control.model_hash
    files_a, archived_a = read_set_files(models_dir), _archived(models_dir)
    filler = filesystems.Filler(small_disk)
    take = {"space": filler.fill_space, "inodes": filler.exhaust_inodes}[resource]

    def before(index: int, kind: str, path: Path) -> None:
        if index == step:  # another program fills the disk after the room check passed
            take()

    promote_b = functools.partial(trained_set("B").promote, registry)
    must_fail = any(done.split()[0] in NEEDS[resource] for done in promotion_steps[step:])
    if must_fail:
        with pytest.raises(StorageError) as caught:
            run_with_steps(monkeypatch, promote_b, Recorder(models_dir, before))
        _assert_one_line_naming(caught.value, models_dir, "No space left on device")
        assert read_set_files(models_dir) == files_a
        assert registry.load().metadata.version_control.model_hash == hash_a
        assert _archived(models_dir) == archived_a  # not even a complete, never-live set
    else:  # nothing that needs the resource was left to do
        run_with_steps(monkeypatch, promote_b, Recorder(models_dir, before))
        assert registry.load().ensemble.model_version == "B"
    assert _leftovers(models_dir) == []

    filler.release()  # the disk has room again: the next promotion just works
    assert trained_set("A").promote(registry).version_control.model_hash == hash_a
    assert _leftovers(models_dir) == []


@pytest.mark.slow
@pytest.mark.parametrize("step", range(PROMOTION_STEPS))
def test_a_disk_that_dies_during_a_promotion_keeps_the_live_set(
    ext4_disk, trained_set, read_set_files, monkeypatch, step
):
    models_dir = ext4_disk.mount_point / "models"
    registry = Registry(models_dir)
    hash_a = trained_set("A").promote(registry).version_control.model_hash
    files_a = read_set_files(models_dir)

    def before(index: int, kind: str, path: Path) -> None:
        if index == step:
            ext4_disk.shut_down()

    promote_b = functools.partial(trained_set("B").promote, registry)
    with pytest.raises(StorageError) as caught:
        run_with_steps(monkeypatch, promote_b, Recorder(models_dir, before))
    _assert_one_line_naming(caught.value, models_dir, "Input/output error")

    ext4_disk.restart()  # what the disk holds, as after replacing the cable and rebooting
    assert read_set_files(models_dir) == files_a
    assert registry.load().metadata.version_control.model_hash == hash_a
    with registry.training_session():  # the next run removes what the failed one left
        assert _leftovers(models_dir) == []
    assert registry.load().metadata.version_control.model_hash == hash_a
    assert trained_set("B").promote(registry).version_control.model_hash != hash_a


class _Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler in the registry runs."""


def test_after_a_crash_on_a_nearly_full_disk_the_next_run_cleans_up_first(
    small_disk, trained_set, read_set_files, promotion_steps, monkeypatch, tmp_path
):
    models_dir = small_disk / "models"
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    needed = bytes_needed(_set_sizes(trained_set("B"), tmp_path, read_set_files), models_dir)
    filesystems.Filler(small_disk).fill_space(leave_bytes=needed + 8 * PAGE)  # room for one set
    last_write = max(i for i, done in enumerate(promotion_steps) if done.startswith("write"))

    def crash(index: int, kind: str, path: Path) -> None:
        if index == last_write:
            raise _Crash(f"{kind} {path}")

    promote_b = functools.partial(trained_set("B").promote, registry)
    with pytest.raises(_Crash):
        run_with_steps(monkeypatch, promote_b, Recorder(models_dir, crash))
    assert _leftovers(models_dir), "the crash should have left its partial set behind"
    assert free_bytes(models_dir) < needed  # the partial set holds the room it needs

    with registry.training_session():  # a training run holding the lock cleans them first
        assert _leftovers(models_dir) == []
    promote_b()
    assert registry.load().ensemble.model_version == "B"


def test_a_rollback_without_an_inode_for_its_link_changes_nothing(
    small_disk, trained_set, read_set_files
):
    models_dir = small_disk / "models"
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    trained_set("B").promote(registry)
    files_b = read_set_files(models_dir)
    filler = filesystems.Filler(small_disk)
    filler.exhaust_inodes()

    with pytest.raises(StorageError) as caught:
        registry.rollback()
    _assert_one_line_naming(caught.value, models_dir, "No space left on device")
    assert read_set_files(models_dir) == files_b
    assert _leftovers(models_dir) == []

    filler.release()
    registry.rollback()
    assert registry.load().ensemble.model_version == "A"


def test_a_candidate_that_does_not_fit_is_refused_and_leaves_nothing(
    small_disk, trained_set, tmp_path, read_set_files
):
    models_dir = small_disk / "models"
    registry = Registry(models_dir)
    sizes = _set_sizes(trained_set("B"), tmp_path, read_set_files)
    filesystems.Filler(small_disk).fill_space(leave_bytes=sum(sizes) - 4 * PAGE)

    with pytest.raises(StorageError) as caught:
        registry.save_candidate(*trained_set("B").parts())
    _assert_one_line_naming(caught.value, models_dir, "nothing was written")
    candidates = models_dir / "candidates"
    assert not candidates.exists() or list(candidates.iterdir()) == []
