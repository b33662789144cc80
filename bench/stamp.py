"""The stamp every benchmark JSON carries: the commit it measured, the machine's CPUs and load,
and how long the bench took. The docs quote these beside each figure (bench/render_docs.py).

No numpy behind this module: benches import it before they pin threads and CPUs.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
# bench/all.py describes the commit once, before the first bench writes its JSON into bench/
# and so makes the tree dirty for every bench after it.
COMMIT_ENV = "BENCH_COMMIT"


def describe_commit() -> str:
    """`git describe --always --dirty` of this checkout, or why there is none."""
    if os.environ.get(COMMIT_ENV):
        return os.environ[COMMIT_ENV]
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=True,
        )
    except (OSError, subprocess.CalledProcessError) as exc:
        return f"unknown ({type(exc).__name__}: not a git checkout or no git)"
    return described.stdout.strip()


def _load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


@dataclass(frozen=True)
class Stamp:
    """Taken when a bench starts; `finished()` adds the end's load and the bench's wall time."""

    commit: str
    started_utc: str
    cpus: int  # the machine's (each bench records the CPUs it pinned itself to)
    load_average_at_start: list[float]
    _started: float = field(repr=False)

    @classmethod
    def start(cls) -> Stamp:
        return cls(
            commit=describe_commit(),
            started_utc=datetime.now(UTC).isoformat(timespec="seconds"),
            cpus=os.cpu_count() or 0,
            load_average_at_start=_load_average(),
            _started=time.perf_counter(),
        )

    def finished(self) -> dict:
        return {
            "commit": self.commit,
            "started_utc": self.started_utc,
            "cpus": self.cpus,
            "load_average_at_start": self.load_average_at_start,
            "load_average_at_end": _load_average(),
            "wall_s": round(time.perf_counter() - self._started, 1),
        }


def write_results(path: Path, results: dict, stamp: Stamp) -> None:
    """`results` as indented JSON at `path`, with the finished stamp under "stamp"."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {**results, "stamp": stamp.finished()}
    path.write_text(json.dumps(document, indent=2, default=str) + "\n")
