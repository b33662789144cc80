"""The live set's files under hostile change (issue 25, item 16), run as a user runs the
commands: a set file replaced by a directory is an integrity error, exit 2, never a traceback.
(Item 13, a set whose promotion stopped before the switch, is in
tests/unit/registry/test_recovery.py, where the promotion can be stopped at that step.)"""

from __future__ import annotations

import re

import pytest

EXIT_OK, EXIT_BAD_INPUT = 0, 2


@pytest.mark.parametrize(
    "relative", ["training/lightgbm_model.pkl", "training/training_metadata.json"]
)
def test_a_set_file_replaced_by_a_directory_is_an_integrity_error(cli, copied_set, relative):
    live = (copied_set / "current").resolve()
    target = live / relative
    target.unlink()
    target.mkdir()

    checked = cli.dev_check("ml-models", "--dry-run", "--models-dir", str(copied_set))
    listed = cli.dev_check("history", "--models-dir", str(copied_set))

    assert checked.returncode == EXIT_BAD_INPUT, checked.stdout + checked.stderr
    assert re.search(
        rf"error: {re.escape(str(target))} cannot be read as the set's file \(Is a directory\), "
        r"so nothing was loaded; restore the set with `dev_check.py rollback` or retrain",
        checked.stderr,
    ), checked.stderr
    assert "Traceback" not in checked.stderr
    assert len(checked.stderr.strip().splitlines()) == 1, checked.stderr
    assert listed.returncode == EXIT_OK, listed.stdout + listed.stderr
    assert f"* {live.name}  NOT RESTORABLE: {target} cannot be read" in listed.stdout
    assert (copied_set / "current").resolve() == live  # nothing was switched or removed
