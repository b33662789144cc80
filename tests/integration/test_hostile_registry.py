"""The live set's files under hostile change (issue 25, item 16), run as a user runs the
commands: a set file replaced by a directory is an integrity error, exit 2, never a traceback.
(Item 13, a set whose promotion stopped before the switch, is in
tests/unit/registry/test_recovery.py, where the promotion can be stopped at that step.)"""

from __future__ import annotations

import re

import pytest

from tests.support.bad_input import assert_bad_input

EXIT_OK = 0


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

    assert_bad_input(
        checked,
        rf"error: {re.escape(str(target))} cannot be read as the set's file \(Is a directory\), "
        r"so nothing was loaded; restore the set with `dev_check.py rollback` or retrain",
    )
    assert listed.returncode == EXIT_OK, listed.stdout + listed.stderr
    assert f"* {live.name}  NOT RESTORABLE: {target} cannot be read" in listed.stdout
    assert (copied_set / "current").resolve() == live  # nothing was switched or removed
