"""Runs a registry write with a callback before each of its file-system steps.

The steps of a promotion are: each file of the set written (and renamed into place) in a
temporary directory, that directory renamed into the archive, then the `current` symlink
switched (a temporary link created, then renamed over `current`). The callback sees the step's
kind and path before the step runs, and may stop the run there (as a kill would) or change the
file system under it (fill the disk, fail the device); the step itself then runs for real.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from src.registry import install
from src.registry.paths import SET_FILES

# Each file of an unsigned set written and renamed into the temporary directory, the directory
# renamed into the archive, the temporary link created and renamed over `current`.
PROMOTION_STEPS = 2 * (len(SET_FILES) - 1) + 1 + 2

OnStep = Callable[[str, Path], None]


def run_with_steps(monkeypatch: pytest.MonkeyPatch, action: Callable[[], object], on_step: OnStep):
    """`action()` with `on_step(kind, path)` called before each write, rename, symlink and
    replace it makes; kind is one of those four words."""

    def counted(kind, operation, path_argument=0):
        def run(*args):
            on_step(kind, Path(args[path_argument]))
            return operation(*args)

        return run

    with monkeypatch.context() as patch:
        patch.setattr(install, "atomic_write_bytes", counted("write", install.atomic_write_bytes))
        patch.setattr(Path, "rename", counted("rename", Path.rename))
        patch.setattr(install.os, "symlink", counted("symlink", os.symlink, path_argument=1))
        patch.setattr(install.os, "replace", counted("replace", os.replace, path_argument=1))
        return action()


class Recorder:
    """Records the steps as "kind relative/path"; optionally calls `before(index, kind, path)`."""

    def __init__(self, root: Path, before: Callable[[int, str, Path], None] | None = None):
        self.root, self.before, self.done = root, before, []

    def __call__(self, kind: str, path: Path) -> None:
        if self.before is not None:
            self.before(len(self.done), kind, path)
        self.done.append(f"{kind} {path.relative_to(self.root)}")
