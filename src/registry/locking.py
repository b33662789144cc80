"""Cross-process locks of the models directory, and the checks a writer makes before it starts.

Two locks: the training lock, held for a whole run so two trainings never interleave (a second
one fails fast), and the registry lock, held for the seconds a promotion or rollback writes.
Readers take neither: the sets they read never change.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from src.registry.errors import LockTimeoutError, ModelsDirError


def prepare_writable(root: Path) -> None:
    """Create the models directory if needed and make sure this process can write into it.

    Checked before any work, so a run that cannot save its result fails in its first second.
    """
    try:
        root.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        blocker = next(path for path in (root, *root.parents) if path.exists())
        raise ModelsDirError(
            f"cannot use {root} as the models directory: {blocker} is a file, not a "
            "directory; pass another --models-dir"
        ) from exc
    except OSError as exc:
        raise ModelsDirError(f"cannot create the models directory {root}: {exc.strerror}") from exc
    if not root.is_dir():
        raise ModelsDirError(f"models directory {root} is a file; pass a directory")
    if not os.access(root, os.W_OK | os.X_OK):
        raise ModelsDirError(
            f"models directory {root} is not writable by this user; training, promotion and "
            "rollback need write access (a --dry-run and history only read)"
        )


@contextmanager
def hold_lock(path: Path, timeout_s: float, busy: str) -> Iterator[None]:
    """Hold the file lock at `path`; `busy` says what to do when another process holds it."""
    lock = FileLock(path, timeout=timeout_s)
    try:
        lock.acquire()
    except Timeout as exc:
        raise LockTimeoutError(busy) from exc
    except OSError as exc:
        raise ModelsDirError(f"cannot create the lock file {path}: {exc.strerror}") from exc
    try:
        yield
    finally:
        lock.release()
