"""A real memory ceiling for child processes: a memory cgroup made inside this process's own.

Made as a child of the cgroup this process already runs in, so it only narrows what applies
already and leaves every other cgroup alone. cgroup v1 (memory.limit_in_bytes) and v2
(memory.max, when the memory controller is enabled for the children of this process's cgroup).
Without either, `memory_ceiling` raises `CeilingUnavailable` saying why.

The kernel charges a process's anonymous memory and the page cache of its files to the cgroup;
page cache is reclaimed before the limit bites, so a run is OOM-killed only when what it really
holds does not fit.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")


class CeilingUnavailable(RuntimeError):
    """No memory cgroup can be made here (no controller, or not allowed)."""


@dataclass(frozen=True)
class MemoryCeiling:
    path: Path
    version: int  # 1 or 2
    limit_bytes: int

    def enter(self) -> None:
        """Move the calling process into the ceiling (e.g. as a Popen preexec_fn)."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def peak_bytes(self) -> int | None:
        """The cgroup's peak charge (anonymous memory and page cache), when the kernel keeps it."""
        name = "memory.max_usage_in_bytes" if self.version == 1 else "memory.peak"
        with contextlib.suppress(OSError, ValueError):
            return int((self.path / name).read_text())
        return None

    def oom_kills(self) -> int:
        name = "memory.oom_control" if self.version == 1 else "memory.events"
        for line in (self.path / name).read_text().splitlines():
            key, _, value = line.partition(" ")
            if key == "oom_kill":
                return int(value)
        return 0


def _own_cgroup() -> tuple[Path, int]:
    """This process's memory cgroup directory and the cgroup version it belongs to."""
    lines = Path("/proc/self/cgroup").read_text().splitlines()
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if "memory" in controllers.split(","):
            return CGROUP_ROOT / "memory" / path.lstrip("/"), 1
    for line in lines:
        hierarchy, _, path = line.split(":", 2)
        if hierarchy == "0" and (CGROUP_ROOT / "cgroup.controllers").exists():
            return CGROUP_ROOT / path.lstrip("/"), 2
    raise CeilingUnavailable("no memory cgroup controller is mounted under /sys/fs/cgroup")


@contextlib.contextmanager
def memory_ceiling(limit_bytes: int, name: str) -> Iterator[MemoryCeiling]:
    """A fresh cgroup `name` limited to `limit_bytes`, removed on exit (its processes must have
    ended by then)."""
    parent, version = _own_cgroup()
    if version == 2:
        enabled = (parent / "cgroup.subtree_control").read_text().split()
        if "memory" not in enabled:
            raise CeilingUnavailable(
                f"the memory controller is not enabled for the children of {parent}"
            )
    path = parent / f"{name}-{os.getpid()}"
    try:
        path.mkdir()
    except OSError as exc:
        raise CeilingUnavailable(f"cannot create the cgroup {path}: {exc.strerror}") from exc
    try:
        if version == 1:
            (path / "memory.limit_in_bytes").write_text(str(limit_bytes))
            with contextlib.suppress(OSError):  # no swap accounting: nothing to limit
                (path / "memory.memsw.limit_in_bytes").write_text(str(limit_bytes))
        else:
            (path / "memory.max").write_text(str(limit_bytes))
            (path / "memory.swap.max").write_text("0")
        yield MemoryCeiling(path, version, limit_bytes)
    finally:
        path.rmdir()
