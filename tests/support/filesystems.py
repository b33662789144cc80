"""Real file-system conditions for tests: a directory this process cannot write into."""

from __future__ import annotations

import contextlib
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def read_only(directory: Path) -> Iterator[None]:
    """`directory` made read-only for real: a read-only bind mount when running as root (root
    ignores permission bits, and CI runs as root), the permission bits otherwise. Child
    processes see it too."""
    if os.geteuid() != 0:
        mode = directory.stat().st_mode
        directory.chmod(0o555)
        try:
            yield
        finally:
            directory.chmod(mode)
        return
    subprocess.run(["mount", "--bind", str(directory), str(directory)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(directory)], check=True)
        yield
    finally:
        subprocess.run(["umount", str(directory)], check=True)
