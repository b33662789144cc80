"""Promotion: the first install has no previous version; later ones archive the live set first."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from src.registry.errors import LockTimeoutError
from src.registry.paths import HASHED_FILES, METADATA
from src.registry.store import Registry, set_hash

ARCHIVE_NAME = re.compile(r"^training_(\d{8}_\d{6})(_\d+)?\.backup$")


def _sha256(path: Path) -> str:
    return f"sha256:{hashlib.sha256(path.read_bytes()).hexdigest()}"


def test_first_promotion_has_no_previous_version_and_archives_nothing(models_dir, trained_set):
    written = trained_set("A").promote(Registry(models_dir))

    assert written["version_control"]["previous_version"] is None
    assert not (models_dir / "archive").exists()
    assert json.loads((models_dir / METADATA).read_bytes()) == written


def test_metadata_hashes_name_the_files_and_model_hash_is_the_set_hash(models_dir, trained_set):
    written = trained_set("A").promote(Registry(models_dir))

    assert written["file_hashes"] == {
        name: _sha256(models_dir / relative) for name, relative in HASHED_FILES.items()
    }
    assert written["model_files"] == {
        name: str(models_dir / relative) for name, relative in HASHED_FILES.items()
    }
    assert written["version_control"]["model_hash"] == set_hash(written["file_hashes"])
    assert written["version_control"]["git_commit"] == "abc1234"


def test_model_hash_tells_sets_apart_and_repeats_for_the_same_set(tmp_path, trained_set):
    def model_hash(label: str, directory: str) -> str:
        written = trained_set(label).promote(Registry(tmp_path / directory))
        return written["version_control"]["model_hash"]

    assert model_hash("A", "one") == model_hash("A", "two") != model_hash("B", "three")


def test_second_promotion_archives_the_first_set_byte_for_byte(
    models_dir, trained_set, read_set_files
):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    first_set = read_set_files(models_dir)

    before = datetime.now(UTC).replace(microsecond=0)
    written = trained_set("B").promote(registry)
    after = datetime.now(UTC)

    archives = sorted((models_dir / "archive").iterdir())
    assert [path.name for path in archives] == [archives[0].name]
    match = ARCHIVE_NAME.match(archives[0].name)
    assert match, f"{archives[0].name} is not training_<UTC stamp>.backup"
    stamp = datetime.strptime(match.group(1), "%Y%m%d_%H%M%S").replace(tzinfo=UTC)
    assert before <= stamp <= after
    assert read_set_files(archives[0]) == first_set
    assert Path(written["version_control"]["previous_version"]) == archives[0]
    assert json.loads((models_dir / METADATA).read_bytes()) == written


def test_save_candidate_leaves_the_live_set_alone(models_dir, trained_set, read_set_files):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    live = read_set_files(models_dir)

    candidate = registry.save_candidate(*trained_set("B").parts())

    assert read_set_files(models_dir) == live
    assert candidate.parent == models_dir / "candidates"
    metadata = json.loads((candidate / METADATA).read_bytes())
    assert metadata["file_hashes"] == {
        name: _sha256(candidate / relative) for name, relative in HASHED_FILES.items()
    }


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
