"""`dev_check.py ml-models --dry-run` on candles newer than the live set's training data: the
planted signal goes on (healthy, exit 0) or stops (degraded, exit 3)."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest

from src.features.contract import FEATURE_NAMES
from tests.support.candles import make_planted_candles

from .conftest import N_BARS

NEWER_BARS = 1_000  # labelled rows after the training data; degradation needs 200
EXIT_OK, EXIT_REJECTED = 0, 3

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    ("accuracy", "exit_code", "verdict"),
    [
        pytest.param(0.85, EXIT_OK, "OK", id="healthy"),
        pytest.param(0.5, EXIT_REJECTED, "DEGRADED", id="degraded"),
    ],
)
def test_dry_run_on_newer_candles_judges_skill_and_drift(
    cli, copied_set, tmp_path, accuracy, exit_code, verdict
):
    # The training candles' bars, then NEWER_BARS more whose next move follows the volume with
    # `accuracy` (the trained set learnt it at 0.85).
    accuracies = np.r_[np.full(N_BARS, 0.85), np.full(NEWER_BARS, accuracy)]
    newer = tmp_path / "newer.csv"
    make_planted_candles(N_BARS + NEWER_BARS, seed=3, accuracy=accuracies).to_csv(newer)

    result = cli.dev_check(
        "ml-models", "--dry-run", "--models-dir", str(copied_set), "--source", str(newer)
    )

    assert result.returncode == exit_code, result.stdout + result.stderr
    out = result.stdout
    assert re.search(rf"newest labelled rows: {NEWER_BARS - 1}$", out, re.M), out
    assert re.search(r"^On candles newer than the training data: .*mcc", out, re.M)
    psi = re.search(r"^PSI vs training window: (.*)$", out, re.M)
    assert psi and {part.split()[0] for part in psi[1].split(", ")} == set(FEATURE_NAMES)
    assert f"Health: {verdict}" in out
    degraded = re.search(rf"PROBLEM: degraded: ensemble mcc -?[\d.]+ on the {NEWER_BARS - 1} ", out)
    assert bool(degraded) == (verdict == "DEGRADED"), out
    # The saved policy is settled on those rows at the cost the set was chosen with.
    cost = copied_set_metadata(copied_set)["policy"]["cost_per_side"]
    trading = re.search(
        rf"^The saved policy on those rows, at the set's {cost:.3%} per side: net ([+-][\d.]+)% "
        r"over (\d+) trades \(buy-and-hold [+-][\d.]+%\); the spread they imply: [\d.-]+%",
        out,
        re.M,
    )
    assert trading, out
    assert (float(trading[1]) > 0) == (verdict == "OK")


def copied_set_metadata(models_dir) -> dict:
    return json.loads((models_dir / "training" / "training_metadata.json").read_text())
