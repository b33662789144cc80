#!/usr/bin/env python3
"""The replay docs/replay.md shows: `dev_check.py replay` on candles whose signal switches on
and off, recorded as printed (its table and summary) and as its summary.json.

    .venv/bin/python bench/replay_example.py [--weeks 10] [--out bench/replay_example.json]

The candles are tests/support/candles.py's planted signal: 98 days of 15m bars whose next move
follows the volume 70% of the time from day 35 to day 70 and 50% (no signal) before and after;
1% moves, far larger than a real market's. The replay trains each of the last --weeks runs
untuned on a 14-day window. Seeded and untimed, so a rerun gives the same file apart from its
stamp. A smaller --weeks is the quick mode.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.sample_run import lines_between, run_command  # noqa: E402
from bench.stamp import Stamp, write_results  # noqa: E402
from tests.support.candles import make_planted_candles  # noqa: E402

BARS_PER_DAY = 96  # 15m bars
N_BARS = 98 * BARS_PER_DAY
SIGNAL_DAYS = (35, 70)  # [first, last) day of the 70%-accurate signal
WINDOW_DAYS = 14
SEED = 5


def onoff_candles():
    day = np.arange(N_BARS) / BARS_PER_DAY
    on = (day >= SIGNAL_DAYS[0]) & (day < SIGNAL_DAYS[1])
    return make_planted_candles(N_BARS, SEED, np.where(on, 0.7, 0.5))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--weeks", type=int, default=10)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "replay_example.json")
    args = parser.parse_args()
    stamp = Stamp.start()
    with tempfile.TemporaryDirectory(prefix="replay-example-") as work:
        csv_path, out = Path(work, "onoff.csv"), Path(work, "replay")
        candles = onoff_candles()
        candles.to_csv(csv_path)
        options = ["--weeks", str(args.weeks), "--days", str(WINDOW_DAYS), "--no-tune"]
        ran = run_command(
            ["scripts/testing/dev_check.py", "replay", "--source", str(csv_path), *options,
             "--out", str(out)]
        )  # fmt: skip
        if ran.returncode != 0:
            raise SystemExit(f"the replay exited {ran.returncode}:\n{ran.stderr}")
        summary = json.loads((out / "summary.json").read_text())
    results = {
        "command": " ".join(
            ["python", "scripts/testing/dev_check.py", "replay", "--source", "onoff.csv", *options]
        ),
        "candles": {"bars": N_BARS, "timeframe": "15m", "signal_days": SIGNAL_DAYS, "seed": SEED},
        "printed": lines_between(ran.stdout.splitlines(), "run ", ("per-week results",)),
        "summary": summary,
    }
    write_results(args.out, results, stamp)
    print("\n".join(results["printed"]))
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
