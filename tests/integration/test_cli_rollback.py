"""`dev_check.py history` and `rollback` on their success paths, run as a user runs them."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

EXIT_OK = 0

pytestmark = pytest.mark.slow


def _set_digests(models_dir: Path) -> dict[str, str]:
    """sha256 of every file a reader of the seed's paths sees (training/, production/)."""
    return {
        str(path.relative_to(models_dir)): hashlib.sha256(path.read_bytes()).hexdigest()
        for part in ("training", "production")
        for path in sorted((models_dir / part).rglob("*"))
        if path.is_file()
    }


def test_two_promotions_then_rollback_restores_the_first_set_byte_for_byte(
    cli, copied_set, random_walk_csv
):
    first = _set_digests(copied_set)
    first_live = (copied_set / "current").resolve().name
    forced = cli.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(copied_set), "--force"
    )
    assert forced.returncode == EXIT_OK, forced.stdout + forced.stderr
    second = _set_digests(copied_set)
    second_live = (copied_set / "current").resolve().name
    assert second != first

    listed = cli.dev_check("history", "--models-dir", str(copied_set))
    assert listed.returncode == EXIT_OK, listed.stdout + listed.stderr
    assert f"  {first_live}" in listed.stdout and f"* {second_live}" in listed.stdout

    rolled = cli.dev_check("rollback", "--models-dir", str(copied_set))

    assert rolled.returncode == EXIT_OK, rolled.stdout + rolled.stderr
    assert "Traceback" not in rolled.stderr
    assert re.search(rf"restored {first_live} \(trained \d{{4}}-\d\d-\d\dT", rolled.stdout)
    assert f"undo with `dev_check.py rollback --to {second_live}`" in rolled.stdout
    assert _set_digests(copied_set) == first

    undone = cli.dev_check("rollback", "--to", second_live, "--models-dir", str(copied_set))

    assert undone.returncode == EXIT_OK, undone.stdout + undone.stderr
    assert f"restored {second_live}" in undone.stdout
    assert _set_digests(copied_set) == second


def test_history_of_an_empty_archive_says_there_is_none(cli, tmp_path):
    models = tmp_path / "models"
    models.mkdir()

    listed = cli.dev_check("history", "--models-dir", str(models))

    assert listed.returncode == EXIT_OK, listed.stdout + listed.stderr
    assert listed.stdout == f"no archived versions in {models}/archive/\n"
    assert listed.stderr == ""
    assert list(models.iterdir()) == []  # listing writes nothing


@pytest.mark.parametrize(
    ("args", "error"),
    [
        pytest.param(("rollback",), "the live set has no previous_version to roll back to",
                     id="no previous"),
        pytest.param(("rollback", "--to", "nope"), "no archived version 'nope'; available: []",
                     id="unknown name"),
    ],
)  # fmt: skip
def test_a_rollback_with_nothing_to_restore_exits_2_and_changes_nothing(
    cli, copied_set, args, error
):
    before = _set_digests(copied_set)

    refused = cli.dev_check(*args, "--models-dir", str(copied_set))

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr == f"error: {error}\n"
    assert _set_digests(copied_set) == before


def test_history_of_a_file_exits_2_naming_it(cli, tmp_path):
    blocker = tmp_path / "models"
    blocker.write_text("a file where the models directory should be")

    refused = cli.dev_check("history", "--models-dir", str(blocker))

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert refused.stderr == f"error: models directory {blocker} is a file; pass a directory\n"
