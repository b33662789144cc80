"""Crash-safe file writes, content hashes, and write failures the machine causes."""

from __future__ import annotations

import errno
import hashlib
import math
import os
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Failures of the machine, not of the program: full disk, quota, file too large, failing device,
# read-only file system, no permission. They stop a run with exit 2, not a traceback.
ENVIRONMENT_ERRNOS = frozenset(
    {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EROFS, errno.EACCES, errno.EPERM}
)
# Asked for on top of the files themselves: their directories and metadata, and whatever else
# writes to the same file system meanwhile.
SPACE_MARGIN_BYTES = 2**20
SPACE_MARGIN_FRACTION = 0.05


class StorageError(OSError):
    """A write failed, or would fail, because of the file system: full, over quota, read-only
    or failing. The message is one line naming the path, the space needed and what to do."""

    def __init__(self, code: int, message: str):
        super().__init__(code, message)

    def __str__(self) -> str:
        return self.strerror


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def fsync_dir(directory: Path) -> None:
    # A rename is durable only once its directory entry is flushed.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Temp file in the same directory -> flush + fsync -> os.replace -> fsync the directory.

    A reader sees the old bytes or the new bytes, never a partial file. A failed write removes
    its temp file and names `path` (a failing write(2) or fsync(2) names no file by itself).
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; the bot may read models as another user
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_name, path)
    except BaseException as exc:
        Path(temp_name).unlink(missing_ok=True)
        if isinstance(exc, OSError) and exc.filename is None:
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        raise
    fsync_dir(path.parent)


def _existing(directory: Path) -> Path:
    """`directory`, or its nearest ancestor that exists (where it would be created)."""
    return next(path for path in (directory, *directory.parents) if path.exists())


def free_bytes(directory: Path) -> int:
    """Bytes this process may still write on the file system that holds `directory`."""
    stats = os.statvfs(_existing(directory))
    return stats.f_bavail * stats.f_frsize


def bytes_needed(sizes: Iterable[int], directory: Path) -> int:
    """Free space that files of `sizes` bytes need under `directory`, with the margin."""
    block = os.statvfs(_existing(directory)).f_frsize
    files = sum(math.ceil(size / block) * block for size in sizes)
    return files + SPACE_MARGIN_BYTES + math.ceil(SPACE_MARGIN_FRACTION * files)


def mib(size: int) -> str:
    return f"{size / 2**20:,.1f} MiB"


def ensure_room(directory: Path, sizes: Iterable[int], hint: str) -> int:
    """Refuse, before anything is written, files that do not fit under `directory` with the
    margin; returns the bytes needed."""
    needed, free = bytes_needed(sizes, directory), free_bytes(directory)
    if free < needed:
        raise StorageError(
            errno.ENOSPC,
            f"not enough free space for {directory}: {mib(needed)} needed there (files plus a "
            f"{mib(SPACE_MARGIN_BYTES)} + {SPACE_MARGIN_FRACTION:.0%} margin), {mib(free)} "
            f"free; nothing was written; {hint}",
        )
    return needed


@contextmanager
def storage_errors(directory: Path, needed: int, hint: str) -> Iterator[None]:
    """Turns a write failure of the machine (ENVIRONMENT_ERRNOS) inside into a StorageError
    naming the file, the free space `needed` under `directory` and what is free now."""
    try:
        yield
    except StorageError:
        raise
    except OSError as exc:
        if exc.errno not in ENVIRONMENT_ERRNOS:
            raise
        path = exc.filename or directory
        try:
            free = f"{mib(free_bytes(directory))} free now"
        except OSError:  # a failing device may not even answer statvfs
            free = "free space unknown"
        raise StorageError(
            exc.errno,
            f"cannot write {path}: {os.strerror(exc.errno)}; {mib(needed)} free space needed "
            f"under {directory}, {free}; {hint}",
        ) from exc
