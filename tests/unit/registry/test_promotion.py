"""Promotion: the first install has no previous version; later ones archive the live set first."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from src.registry.errors import LockTimeoutError, ModelsDirError
from src.registry.paths import METADATA
from src.registry.store import Registry
from src.registry.verify import SET_FILE_PATHS, set_hash

SET_NAME = re.compile(r"^training_(\d{8}_\d{6})(_\d+)?\.backup$")


def _sha256(path: Path) -> str:
    return f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"


def test_first_promotion_has_no_previous_version_and_links_the_seed_paths(
    models_dir, trained_set
):
    written = trained_set("A").promote(Registry(models_dir))

    assert written.version_control.previous_version is None
    (set_dir,) = (models_dir / "archive").iterdir()
    assert SET_NAME.match(set_dir.name)
    assert os.readlink(models_dir / "current") == f"archive/{set_dir.name}"
    assert os.readlink(models_dir / "training") == "current/training"
    assert os.readlink(models_dir / "production") == "current/production"
    assert json.loads((models_dir / METADATA).read_bytes()) == written.to_dict()


def test_metadata_hashes_name_the_files_and_model_hash_is_the_set_hash(models_dir, trained_set):
    written = trained_set("A").promote(Registry(models_dir))

    assert written.file_hashes == {
        name: _sha256(models_dir / relative) for name, relative in SET_FILE_PATHS.items()
    }
    assert written.model_files == {
        name: str(models_dir / relative) for name, relative in SET_FILE_PATHS.items()
    }
    assert written.version_control.model_hash == set_hash(written.file_hashes)
    assert written.version_control.git_commit == "abc1234"


def test_model_hash_tells_sets_apart_and_repeats_for_the_same_set(tmp_path, trained_set):
    def model_hash(label: str, directory: str) -> str:
        written = trained_set(label).promote(Registry(tmp_path / directory))
        return written.version_control.model_hash

    assert model_hash("A", "one") == model_hash("A", "two") != model_hash("B", "three")


def test_second_promotion_keeps_the_first_set_unchanged_in_the_archive(
    models_dir, trained_set, read_set_files
):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    first_set = read_set_files(models_dir)
    first_dir = (models_dir / "current").resolve()

    written = trained_set("B").promote(registry)

    assert sorted((models_dir / "archive").iterdir())[0].resolve() == first_dir
    assert read_set_files(first_dir) == first_set
    assert (models_dir / written.version_control.previous_version).resolve() == first_dir
    assert Path(written.version_control.previous_version).parent == models_dir / "archive"
    assert json.loads((models_dir / METADATA).read_bytes()) == written.to_dict()


def test_sets_are_named_by_their_training_time(models_dir, trained_set):
    written = trained_set("A").promote(Registry(models_dir))

    stamp = datetime.fromisoformat(written.created_at).astimezone(UTC)
    assert (models_dir / "current").resolve().name == f"training_{stamp:%Y%m%d_%H%M%S}.backup"


def test_save_candidate_leaves_the_live_set_alone(models_dir, trained_set, read_set_files):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    live = read_set_files(models_dir)

    candidate = registry.save_candidate(*trained_set("B").parts())

    assert read_set_files(models_dir) == live
    assert candidate.parent == models_dir / "candidates"
    metadata = json.loads((candidate / METADATA).read_bytes())
    assert metadata["file_hashes"] == {
        name: _sha256(candidate / relative) for name, relative in SET_FILE_PATHS.items()
    }


def test_a_writer_on_a_read_only_models_dir_fails_before_any_work(
    models_dir, trained_set, read_only, read_set_files
):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    live = read_set_files(models_dir)

    with (
        read_only(models_dir),
        pytest.raises(ModelsDirError, match="not writable|lock file"),
        registry.training_session(),
    ):
        raise AssertionError("a training started on a directory it cannot write")
    with read_only(models_dir), pytest.raises(ModelsDirError):
        registry.rollback()
    assert read_set_files(models_dir) == live


def test_a_second_training_fails_fast_while_one_runs(models_dir):
    # The holder is another process, as a second weekly run would be.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\n"
            "from src.registry.store import Registry\n"
            f"with Registry({str(models_dir)!r}).training_session():\n"
            "    print('holding', flush=True); time.sleep(30)\n",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "holding"
        # Raising (rather than waiting) while the holder is alive is the fail-fast behaviour.
        with (
            pytest.raises(LockTimeoutError, match="another training is running"),
            Registry(models_dir).training_session(),
        ):
            pass
    finally:
        holder.kill()
        holder.wait()
    with Registry(models_dir).training_session():  # the kernel freed the dead holder's lock
        pass
