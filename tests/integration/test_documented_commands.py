"""Every command and option the docs tell a user to run is run by a test on its success path.

How "run by a test" is known: tests/support/documented_commands.py's RUN_BY names, for each
documented item, the tests that run it. A table, rather than a record of the whole session's
runs checked at its end, because it holds in any selection of tests and under xdist: this module
checks the table against the docs and against pytest's collected ids, and the integration
conftest fails each listed test that did not itself run its items (exit 0 or 3, through the
`Cli` helper). So an item cannot be listed without a test that runs it, and a new documented
item without a listed test fails here, by name.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

from src.config import REPO_ROOT
from tests.support.documented_commands import (
    RUN_BY,
    CliRun,
    documentation,
    documented_items,
    parser_options,
)

INTEGRATION = "tests/integration/"


@pytest.fixture(scope="module")
def options() -> set[str]:
    return parser_options()


def test_every_documented_command_and_option_has_a_test_that_runs_it(options):
    documented = documented_items(documentation(), options)

    missing = sorted(documented - RUN_BY.keys())
    assert not missing, (
        f"documented but run by no listed test: {missing}; add a test under {INTEGRATION} that "
        "runs each on its success path and checks its output, and list it in RUN_BY "
        "(tests/support/documented_commands.py)"
    )
    stale = sorted(RUN_BY.keys() - documented)
    assert not stale, f"RUN_BY lists items no doc names any more: {stale}; remove them"


def test_every_test_the_table_names_is_collected():
    collected = subprocess.run(
        [sys.executable, "-m", "pytest", "--collect-only", "-q", "-p", "no:cacheprovider",
         INTEGRATION],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert collected.returncode == 0, collected.stdout + collected.stderr
    ids = {line.removeprefix(INTEGRATION) for line in collected.stdout.splitlines()}
    unknown = sorted({test for tests in RUN_BY.values() for test in tests} - ids)
    assert not unknown, f"RUN_BY names tests pytest does not collect: {unknown}"


def test_a_new_option_on_a_documented_command_line_is_missing_until_a_test_runs_it(options):
    page = (
        "Train with `--seed 3`, or:\n\n```bash\n"
        "python3 scripts/testing/dev_check.py replay --weeks 4 \\\n    --brand-new 2\n"
        "dask worker tcp://host:8786 --nthreads 1   # another tool's option\n```\n"
        "Or `dev_check.py prune --keep 3`; `--unknown-elsewhere` is no script's option.\n"
    )

    documented = documented_items([("markdown", page)], options)

    assert documented == {
        "--seed", "--weeks", "--brand-new", "--keep", "dev_check.py replay", "dev_check.py prune",
    }  # fmt: skip
    assert sorted(documented - RUN_BY.keys()) == ["--brand-new", "--keep", "dev_check.py prune"]


SCRIPT = "/checkout/scripts/testing/dev_check.py"
TRAIN = "/checkout/scripts/ml/create_ml_models.py"


@pytest.mark.parametrize(
    ("argv", "returncode", "item", "runs"),
    [
        ((SCRIPT, "history", "--models-dir", "m"), 0, "dev_check.py history", True),
        ((SCRIPT, "history", "--models-dir", "m"), 0, "dev_check.py rollback", False),
        ((SCRIPT, "history", "--models-dir", "m"), 2, "dev_check.py history", False),
        ((SCRIPT, "ml-models", "--dry-run"), 3, "--dry-run", True),
        ((TRAIN, "--source", "sample"), 3, "--source sample", True),
        ((TRAIN, "--source", "data.csv"), 0, "--source sample", False),
        ((TRAIN, "--source", "data.csv"), 0, "--source", True),
        ((TRAIN, "--verbose"), 1, "--verbose", False),
        ((TRAIN, "--verbose"), 0, "create_ml_models.py", True),
        (("-c", "print('--verbose')"), 0, "--verbose", False),
    ],
)
def test_a_run_counts_for_an_item_only_when_it_ran_it_and_did_its_job(
    argv, returncode, item, runs
):
    assert CliRun(argv, returncode).runs(item) is runs
