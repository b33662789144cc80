"""Run the real weekly CLI in a child process; measure its wall time and its true peak RSS.

Two peak-RSS readings, the larger one is reported:
- psutil polls the child's RSS every `poll_s` (plus any grandchild's, listed once a second);
- os.wait4 returns the kernel's ru_maxrss of the child (KiB on Linux), which cannot miss a
  short spike between two polls.
Each stdout line is time-stamped on arrival (the child runs unbuffered), so the CLI's own progress
lines become phase timings measured from process start.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from src.registry.paths import ARTIFACTS

REPO_ROOT = Path(__file__).resolve().parent.parent
CLI = REPO_ROOT / "scripts" / "ml" / "create_ml_models.py"
SINGLE_THREAD_ENV = {
    name: "1"
    for name in (
        "OMP_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "MKL_NUM_THREADS",
        "NUMEXPR_NUM_THREADS",
        "VECLIB_MAXIMUM_THREADS",
        "BLIS_NUM_THREADS",
    )
}


@dataclass
class FullRun:
    command: list[str]
    exit_code: int
    wall_s: float
    cpu_s: float  # user + system time of the child (wait4), immune to other load on the CPU
    peak_rss_polled_bytes: int
    peak_rss_wait4_bytes: int
    polls: int
    phases: list[tuple[float, str]] = field(default_factory=list)  # (seconds since start, line)
    stderr_tail: str = ""

    @property
    def peak_rss_bytes(self) -> int:
        return max(self.peak_rss_polled_bytes, self.peak_rss_wait4_bytes)


def child_env() -> dict[str, str]:
    env = {**os.environ, **SINGLE_THREAD_ENV, "PYTHONUNBUFFERED": "1"}
    env.pop("DISCORD_WEBHOOK_URL", None)  # a benchmark must never post alerts
    return env


_GONE = (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied)


class _RssPoller(threading.Thread):
    """Polls the child's RSS every `poll_s`, and its descendants' once every `scan_every` polls.

    Listing descendants walks /proc (~3 ms) and this thread shares the pinned CPU with the
    child, so that walk is kept rare; reading one RSS costs ~0.03 ms.
    """

    def __init__(self, pid: int, poll_s: float, scan_every: int = 20):
        super().__init__(daemon=True)
        self.process = psutil.Process(pid)
        self.poll_s = poll_s
        self.scan_every = scan_every
        self.descendants: list[psutil.Process] = []
        self.peak_bytes = 0
        self.polls = 0
        self.stop = threading.Event()

    def _rss(self) -> int:
        if self.polls % self.scan_every == 0:
            self.descendants = self.process.children(recursive=True)
        total = self.process.memory_info().rss
        for member in self.descendants:
            with contextlib.suppress(*_GONE):
                total += member.memory_info().rss
        return total

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                rss = self._rss()
            except _GONE:
                rss = 0
            self.peak_bytes = max(self.peak_bytes, rss)
            self.polls += 1
            self.stop.wait(self.poll_s)


def _read_lines(stream, started: float, sink: list[tuple[float, str]]) -> None:
    for line in iter(stream.readline, ""):
        sink.append((time.perf_counter() - started, line.rstrip("\n")))


def run_weekly_cli(
    csv_path: Path,
    timeframe: str,
    models_dir: Path,
    *,
    poll_s: float = 0.05,
    extra_args: tuple[str, ...] = (),
    preexec_fn=None,  # e.g. MemoryCeiling.enter: runs in the child before the CLI starts
) -> FullRun:
    """The CLI as configured (tuning included) plus `extra_args`, e.g. ("--no-tune",)."""
    command = [
        sys.executable, str(CLI), "--source", str(csv_path), "--timeframe", timeframe,
        "--force", "--models-dir", str(models_dir), "--verbose", *extra_args,
    ]  # fmt: skip
    lines: list[tuple[float, str]] = []
    errors: list[tuple[float, str]] = []
    started = time.perf_counter()
    child = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=child_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=preexec_fn,
    )
    poller = _RssPoller(child.pid, poll_s)
    poller.start()
    readers = [
        threading.Thread(target=_read_lines, args=(child.stdout, started, lines), daemon=True),
        threading.Thread(target=_read_lines, args=(child.stderr, started, errors), daemon=True),
    ]
    for reader in readers:
        reader.start()
    # wait4 rather than Popen.wait: it hands back the child's rusage, ru_maxrss included.
    _, status, usage = os.wait4(child.pid, 0)
    wall_s = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    poller.stop.set()
    poller.join()
    for reader in readers:
        reader.join()
    workdir = csv_path.parent
    return FullRun(
        command=[_portable(part, workdir) for part in command],
        exit_code=child.returncode,
        wall_s=wall_s,
        cpu_s=usage.ru_utime + usage.ru_stime,
        peak_rss_polled_bytes=poller.peak_bytes,
        peak_rss_wait4_bytes=usage.ru_maxrss * 1024,
        polls=poller.polls,
        phases=[(seconds, _portable(line, workdir)) for seconds, line in lines],
        stderr_tail=_portable("\n".join(line for _, line in errors[-20:]), workdir),
    )


def _portable(text: str, workdir: Path) -> str:
    """`text` without this machine's paths: the results are committed and read on other machines.

    The interpreter becomes `python`, the bench's temporary directory `<workdir>`, and paths in
    the repo are relative to its root (the CLI runs from there).
    """
    return (
        text.replace(sys.executable, "python")
        .replace(str(workdir), "<workdir>")
        .replace(f"{REPO_ROOT}{os.sep}", "")
    )


def pickle_sizes(models_dir: Path) -> dict[str, int]:
    """Bytes of every pickle of the live set, by its seed path relative to `models_dir`."""
    return {relative: (models_dir / relative).stat().st_size for relative in ARTIFACTS.values()}
