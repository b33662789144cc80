"""`make mutants` stays runnable: every planted bug still finds the code it edits."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.mutants import MUTANTS, REPO


@pytest.mark.parametrize("mutant", MUTANTS, ids=[mutant.name for mutant in MUTANTS])
def test_each_mutant_edits_exactly_one_place_and_names_tests_that_exist(mutant):
    source = (REPO / mutant.path).read_text(encoding="utf-8")

    assert source.count(mutant.old) == 1, f"{mutant.name}: its text is gone from {mutant.path}"
    assert mutant.old != mutant.new
    for test in mutant.tests:
        assert Path(REPO / test.split("::")[0]).exists(), test


def test_mutant_names_are_unique():
    names = [mutant.name for mutant in MUTANTS]
    assert len(names) == len(set(names))
