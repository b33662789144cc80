"""The README's sample figures are what `make train` prints: a fresh run of its command, recorded
by bench/sample_run.py, equals the committed bench/sample_results.json (training is seeded)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from src.config import REPO_ROOT

COMMITTED = REPO_ROOT / "bench" / "sample_results.json"


def _without_stamp(record: dict) -> dict:
    """Everything but the stamp: the commit, clock and load of the run that wrote it."""
    return {key: value for key, value in record.items() if key != "stamp"}


@pytest.mark.slow
def test_a_fresh_make_train_equals_the_committed_sample_record(tmp_path):
    fresh_path = tmp_path / "sample_results.json"
    ran = subprocess.run(
        [sys.executable, "bench/sample_run.py", "--out", str(fresh_path)],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr
    fresh = json.loads(fresh_path.read_text())
    committed = json.loads(COMMITTED.read_text())
    assert _without_stamp(fresh) == _without_stamp(committed), (
        "make train now prints other figures than bench/sample_results.json holds: run `make docs` "
        "(it rewrites the file and the README's sample section) and commit both"
    )
    assert fresh["printed_verdict"][0].startswith("Quality gate: ")
    assert any(line.startswith("Skill: ") for line in fresh["printed_verdict"])
    assert any(line.startswith("Money: ") for line in fresh["printed_verdict"])
