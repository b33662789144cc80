#!/usr/bin/env python3
"""`make train`'s run, recorded for the README: what it prints, as figures and as printed lines.

    .venv/bin/python bench/sample_run.py [--out bench/sample_results.json] [-- EXTRA CLI ARGS]

Runs exactly the command of the Makefile's `train` target (`scripts/ml/create_ml_models.py
--source sample --verbose`, tuned as configured) into a temporary --models-dir, then writes the
holdout metrics of the ensemble and the four baselines, the trading check, the gate's checks and
the console's gate and verdict lines as printed. Nothing in it depends on the clock or the
machine (no timings, no paths), so a fresh run must reproduce it exactly (a slow test does).
EXTRA CLI ARGS (e.g. `--no-tune`) are for the quick mode only, which proves this script runs.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.stamp import Stamp, write_results  # noqa: E402

# The Makefile's `train` recipe runs this with the venv's interpreter (a test keeps them equal).
TRAIN_COMMAND = ("scripts/ml/create_ml_models.py", "--source", "sample", "--verbose")
METRICS = ("f1_score", "f1_up", "mcc", "balanced_accuracy", "roc_auc", "log_loss")
REJECTED = 3  # the CLI's exit code when the gate keeps the set as a candidate


def run_command(args: list[str]) -> subprocess.CompletedProcess[str]:
    """`python ARGS` from the repo root, as a user's shell runs it (no Discord webhook)."""
    env = {key: value for key, value in os.environ.items() if key != "DISCORD_WEBHOOK_URL"}
    return subprocess.run(
        [sys.executable, *args], cwd=REPO_ROOT, env=env, capture_output=True, text=True
    )


def lines_between(lines: list[str], first: str, stops: tuple[str, ...]) -> list[str]:
    """The lines from the first one starting with `first` up to (not including) a line starting
    with any of `stops`; fails if `first` is not printed (the console changed)."""
    starts = [i for i, line in enumerate(lines) if line.startswith(first)]
    if not starts:
        raise SystemExit(f"no line starting {first!r} in the run's output")
    block = []
    for line in lines[starts[0] :]:
        if block and line.startswith(stops):
            break
        block.append(line)
    return block


def _set_dir(models_dir: Path) -> Path:
    """The set the run wrote: the live one when promoted, else the candidate kept for inspection."""
    live = models_dir / "training"
    if live.exists():
        return live
    return next(models_dir.glob("candidates/*/training"))


def _check_printed_table(stdout: list[str], metrics: dict[str, dict]) -> None:
    """The README renders the table from these figures at the console's 3 decimals: make sure
    the console printed the same (a change of its format would otherwise go unseen)."""
    for name, figures in metrics.items():
        label = "ENSEMBLE" if name == "ensemble" else name
        row = next((line.split() for line in stdout if line.split()[:1] == [label]), None)
        expected = ["n/a" if figures[m] is None else f"{figures[m]:.3f}" for m in METRICS]
        if row is None or row[1 : 1 + len(METRICS)] != expected:
            raise SystemExit(f"the console's {label} row {row} is not the metadata's {expected}")


def record(metadata: dict, stdout: str, exit_code: int) -> dict:
    """What the README quotes from one run: figures from its metadata, lines from its console."""
    lines = stdout.splitlines()
    metrics = {"ensemble": {m: metadata["ensemble_metrics"][m] for m in METRICS}}
    metrics |= {
        name: {m: baseline[m] for m in METRICS}
        for name, baseline in metadata["baseline_metrics"].items()
    }
    _check_printed_table(lines, metrics)
    policy, trading = metadata["policy"], metadata["trading_check"]
    return {
        "command": " ".join(("python", *TRAIN_COMMAND)),
        "exit_code": exit_code,
        "data": {key: metadata["data"][key] for key in ("source", "symbol", "timeframe")}
        | {key: metadata["data"][key] for key in ("candles", "start", "end")},
        "holdout": metadata["evaluation"]["holdout"],
        "holdout_metrics": metrics,
        "ensemble_weights": metadata["ensemble_metrics"]["weights"],
        "policy": {
            key: policy[key]
            for key in ("entry", "exit", "cost_per_side", "reason", "without_spread")
        },
        "costs": metadata["costs"],
        "trading_check": {
            name: trading[name] for name in ("policy", "buy_and_hold", "flat", "bootstrap")
        },
        "gate": metadata["gate"],
        "onnx": {key: metadata["onnx"][key] for key in ("status", "bound", "max_abs_diff")},
        "printed_costs": lines_between(lines, "Costs:", ("Trading on the holdout",)),
        "printed_trading_check": lines_between(lines, "Trading on the holdout", ("Quality gate",)),
        "printed_verdict": lines_between(lines, "Quality gate", ("promoted", "not promoted")),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench" / "sample_results.json")
    args, extra = parser.parse_known_args()
    stamp = Stamp.start()
    with tempfile.TemporaryDirectory(prefix="sample-run-") as models_dir:
        ran = run_command([*TRAIN_COMMAND, "--models-dir", models_dir, *extra])
        if ran.returncode not in (0, REJECTED):
            raise SystemExit(f"make train's command exited {ran.returncode}:\n{ran.stderr}")
        metadata_path = _set_dir(Path(models_dir)) / "training_metadata.json"
        results = record(json.loads(metadata_path.read_text()), ran.stdout, ran.returncode)
    write_results(args.out, results, stamp)
    print("\n".join(results["printed_verdict"]))
    print(f"JSON: {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
