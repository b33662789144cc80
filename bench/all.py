#!/usr/bin/env python3
"""Every benchmark and recorded run the docs quote, one after the other: `make bench`.

    .venv/bin/python bench/all.py [--quick] [--out DIR] [--only NAME ...]

Full mode writes the JSONs into bench/ (then `make docs` renders README.md and docs/ from them);
it takes one to two hours on a quiet 2-CPU machine, so run it on a quiet one. --quick runs every
script at a tiny size (seconds each) to prove they all still run; write its files elsewhere
(--out DIR), they measure nothing worth quoting. Each JSON is stamped by bench/stamp.py with the
commit described here once, at the start. DIR/bench_run.json records each script's command,
exit code and wall time and the whole run's time. Exit 1 when a script wrote no JSON.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from bench.stamp import COMMIT_ENV, Stamp, describe_commit, write_results  # noqa: E402


@dataclass(frozen=True)
class Bench:
    name: str
    script: str  # under bench/
    output: str  # file name under --out
    full: tuple[str, ...]  # arguments of the full run (the script's defaults unless given)
    quick: tuple[str, ...]  # arguments of the quick mode: tiny sizes, 2 trials per model


BENCHES = (
    Bench("sample", "sample_run.py", "sample_results.json", (), ("--no-tune",)),
    Bench("replay_example", "replay_example.py", "replay_example.json", (), ("--weeks", "2")),
    Bench("trading_cost", "trading_cost.py", "trading_results.json", (), ("--scale", "0.05")),
    Bench(
        "full_run", "run_bench.py", "results.json", (), ("--sizes", "1500", "--tune-trials", "2")
    ),
    Bench(
        "memory_tuned", "memory.py", "memory_results.json",
        ("--sizes", "17520", "52560", "105120"),
        ("--sizes", "1500", "2500", "--tune-trials", "2", "--skip-refusal"),
    ),
    Bench(
        "memory_untuned", "memory.py", "memory_calibration.json",
        ("--no-tune", "--sizes", "17520", "105120", "315360"),
        ("--no-tune", "--sizes", "1500", "2500", "--skip-refusal"),
    ),
    Bench(
        "tuning", "tuning.py", "tuning_results.json", (),
        ("--bars", "1500", "--trials", "2", "--weekly-trials", "2"),
    ),
    Bench("replay", "replay.py", "replay_results.json", (), ("--quick",)),
    Bench("sweep", "sweep.py", "sweep_results.json", (), ("--quick",)),
    Bench(
        "worker_memory", "worker_memory.py", "worker_memory_results.json", (), ("--bars", "1500")
    ),
    Bench(
        "inference", "inference.py", "inference_results.json", (),
        ("--bars", "1500", "--starts", "1", "--tune-trials", "2"),
    ),
)  # fmt: skip


def _run(bench: Bench, out_dir: Path, quick: bool, env: dict) -> dict:
    output = out_dir / bench.output
    args = [f"bench/{bench.script}", *(bench.quick if quick else bench.full), "--out", str(output)]
    print(f"\n=== {bench.name}: python {' '.join(args)}", flush=True)
    started_at, started = time.time(), time.perf_counter()
    exit_code = subprocess.run([sys.executable, *args], cwd=REPO_ROOT, env=env).returncode
    wall_s = time.perf_counter() - started
    # A bench exits 1 both when a target is missed and when it fails; only the latter writes
    # no JSON.
    wrote = output.exists() and output.stat().st_mtime >= started_at
    print(f"=== {bench.name}: exit {exit_code} in {wall_s:.0f} s; "
          f"{'wrote' if wrote else 'DID NOT WRITE'} {output}", flush=True)  # fmt: skip
    return {
        "name": bench.name,
        "command": " ".join(["python", *args[:-1], bench.output]),
        "exit_code": exit_code,
        "wrote_json": wrote,
        "wall_s": round(wall_s, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves the scripts run")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / "bench")
    names = [bench.name for bench in BENCHES]
    parser.add_argument("--only", nargs="+", choices=names, default=names, metavar="NAME")
    args = parser.parse_args()
    env = {**os.environ, COMMIT_ENV: describe_commit()}
    os.environ[COMMIT_ENV] = env[COMMIT_ENV]  # this run's own stamp, too
    stamp = Stamp.start()
    print(f"commit {stamp.commit}; {stamp.cpus} CPUs; load average "
          f"{stamp.load_average_at_start}", flush=True)  # fmt: skip
    runs = [_run(bench, args.out, args.quick, env) for bench in BENCHES if bench.name in args.only]
    total_s = stamp.finished()["wall_s"]
    for run in runs:
        print(f"{run['name']:16} exit {run['exit_code']}  {run['wall_s']:7.1f} s"
              f"{'' if run['wrote_json'] else '  NO JSON'}")  # fmt: skip
    print(f"bench total: {total_s:.0f} s ({total_s / 60:.1f} min), "
          f"{'quick' if args.quick else 'full'} mode")  # fmt: skip
    write_results(args.out / "bench_run.json", {"quick": args.quick, "benches": runs}, stamp)
    return 0 if all(run["wrote_json"] for run in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
