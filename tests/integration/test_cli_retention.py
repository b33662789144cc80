"""Retention through the training CLI: the config's `retention` section reaches the registry, and
the run says what it removed."""

from __future__ import annotations

import os
import shutil
import time

import pytest

EXIT_OK = 0
DAY_S = 24 * 3600

pytestmark = pytest.mark.slow


def test_a_promotion_removes_a_stale_candidate_and_says_so(cli, copied_set, random_walk_csv):
    stale = copied_set / "candidates" / "training_20240101_090000.candidate"
    shutil.copytree((copied_set / "current").resolve(), stale)
    month_ago = time.time() - 30 * DAY_S
    os.utime(stale, (month_ago, month_ago))

    forced = cli.create_ml_models(
        "--source", str(random_walk_csv), "--models-dir", str(copied_set), "--force"
    )

    assert forced.returncode == EXIT_OK, forced.stdout + forced.stderr
    assert not stale.exists()
    assert (
        f"retention: removed 1 candidate(s) older than 28 days: {stale.name}\n" in forced.stdout
    )
    assert len(list((copied_set / "archive").glob("*.backup"))) == 2  # both within keep_promoted
