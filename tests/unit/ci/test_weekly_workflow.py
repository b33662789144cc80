"""The weekly retrain workflow is valid (actionlint) and agrees with the config's schedule.

Linting cannot tell whether the steps work: tests/integration/test_weekly_workflow_run.py runs them.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from src.config import REPO_ROOT, load_settings

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "weekly-retrain.yml"


def _actionlint() -> str:
    beside_python = Path(sys.executable).with_name("actionlint")
    found = str(beside_python) if beside_python.exists() else shutil.which("actionlint")
    assert found, "actionlint not installed: `pip install -e '.[dev]'` provides it"
    return found


def test_actionlint_passes():
    result = subprocess.run(
        [_actionlint(), "-no-color", str(WORKFLOW)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    broken = tmp_path / ".github" / "workflows" / "broken.yml"
    broken.parent.mkdir(parents=True)
    broken.write_text(WORKFLOW.read_text().replace("runs-on:", "runs_on:"))
    result = subprocess.run(
        [_actionlint(), "-no-color", str(broken)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0


def test_workflow_schedule_matches_config():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    schedule = load_settings().schedule
    cron = workflow[True]["schedule"][0]["cron"]  # YAML 1.1 reads the key `on` as True
    minute, hour, _, _, weekday = cron.split()
    # cron counts Sunday as 0; datetime.weekday() counts Monday as 0.
    assert (int(minute), int(hour), int(weekday)) == (0, schedule.hour_utc, schedule.weekday + 1)


def test_workflow_guards_time_and_overlap():
    workflow = yaml.safe_load(WORKFLOW.read_text())
    job = workflow["jobs"]["retrain"]
    assert job["timeout-minutes"] == 45
    assert workflow["concurrency"]["cancel-in-progress"] is False
    for step in job["steps"]:
        if "uses" in step:
            version = step["uses"].split("@", 1)[1]
            assert version.count(".") == 2, f"{step['uses']} is not pinned to an exact version"
