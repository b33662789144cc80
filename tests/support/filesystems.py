"""Real file-system conditions for tests: a read-only directory, a small file system that can be
filled (space or inodes) at a chosen moment, and one that fails like a dead device (EIO).

Mounting needs root (CI runs as root); `CannotMount` says why it was not possible, so a test can
skip with that reason, printed by pytest's -ra summary.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import shutil
import struct
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

# ext4's "going down" ioctl (EXT4_IOC_SHUTDOWN = _IOR('X', 125, __u32)) with NOLOGFLUSH: the
# file system stops as a failed disk would; every later read and write returns EIO. What was
# committed before survives, and a fresh mount shows it (after replaying the journal).
EXT4_IOC_SHUTDOWN = 0x8004587D
EXT4_GOING_FLAGS_NOLOGFLUSH = 2


class CannotMount(RuntimeError):
    """This machine does not let the test mount a file system (not root, no loop device)."""


@contextlib.contextmanager
def mounted_or_skip(context):
    """Enter a mounting `context`; where this machine cannot mount, skip the test saying why
    (pytest prints skip reasons with -ra, which the project's pytest options include)."""
    with contextlib.ExitStack() as stack:
        try:
            mounted = stack.enter_context(context)
        except CannotMount as exc:
            pytest.skip(f"cannot mount a test file system here: {exc}")
        yield mounted


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


def _setup(*command: str) -> str:
    """A mount-related command that may be refused here: CannotMount says what it answered."""
    try:
        return subprocess.run(command, check=True, capture_output=True, text=True).stdout
    except FileNotFoundError as exc:
        raise CannotMount(f"`{command[0]}` is not installed") from exc
    except subprocess.CalledProcessError as exc:
        raise CannotMount(f"`{' '.join(command)}` failed: {exc.stderr.strip()}") from exc


@contextlib.contextmanager
def small_tmpfs(mount_point: Path, size_bytes: int, inodes: int) -> Iterator[Path]:
    """A tmpfs of `size_bytes` and at most `inodes` files and directories at `mount_point`."""
    mount_point.mkdir(parents=True, exist_ok=True)
    _setup("mount", "-t", "tmpfs", "-o", f"size={size_bytes},nr_inodes={inodes}", "tmpfs",
           str(mount_point))  # fmt: skip
    try:
        yield mount_point
    finally:
        subprocess.run(["umount", str(mount_point)], check=True)


class Ext4:
    """An ext4 file system on a loop device over an image file; it can fail and come back."""

    def __init__(self, device: str, mount_point: Path):
        self.device, self.mount_point, self.mounted = device, mount_point, False

    def mount(self) -> None:
        subprocess.run(["mount", self.device, str(self.mount_point)], check=True)
        self.mounted = True

    def unmount(self) -> None:
        subprocess.run(["umount", str(self.mount_point)], check=True)
        self.mounted = False

    def shut_down(self) -> None:
        """From now on every read and write on it returns EIO, as on a dead disk."""
        fd = os.open(self.mount_point, os.O_RDONLY)
        try:
            fcntl.ioctl(fd, EXT4_IOC_SHUTDOWN, struct.pack("I", EXT4_GOING_FLAGS_NOLOGFLUSH))
        finally:
            os.close(fd)

    def restart(self) -> None:
        """Unmount and mount again: what the disk holds, as a machine sees it after a reboot."""
        self.unmount()
        self.mount()


@contextlib.contextmanager
def small_ext4(image: Path, mount_point: Path, size_bytes: int) -> Iterator[Ext4]:
    """A fresh ext4 of `size_bytes` in `image`, mounted at `mount_point` through a loop device."""
    with image.open("wb") as handle:
        handle.truncate(size_bytes)
    _setup("mkfs.ext4", "-q", "-F", "-m", "0", str(image))
    device = _setup("losetup", "--find", "--show", str(image)).strip()
    ext4 = Ext4(device, mount_point)
    try:
        mount_point.mkdir(parents=True, exist_ok=True)
        ext4.mount()
        yield ext4
    finally:
        if ext4.mounted:
            ext4.unmount()
        subprocess.run(["losetup", "--detach", device], check=True)


class Filler:
    """Takes a file system's free space or inodes away, as another program writing would."""

    def __init__(self, root: Path):
        self.space, self.inodes = root / "filler-space", root / "filler-inodes"

    def fill_space(self, leave_bytes: int = 0) -> None:
        """Write until the disk is full, then give back `leave_bytes` (rounded up to pages)."""
        fd = os.open(self.space, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            for chunk in (b"\0" * 2**20, b"\0" * 4096):
                try:
                    while os.write(fd, chunk):
                        pass
                except OSError as exc:  # ENOSPC ends each pass
                    if exc.errno != errno.ENOSPC:
                        raise
            size = os.fstat(fd).st_size
            page = os.sysconf("SC_PAGE_SIZE")
            os.ftruncate(fd, max(0, size - -(-leave_bytes // page) * page))
        finally:
            os.close(fd)

    def exhaust_inodes(self) -> None:
        """Create empty files until no inode is left (tmpfs: nr_inodes)."""
        self.inodes.mkdir(exist_ok=True)
        count = len(os.listdir(self.inodes))
        while True:
            try:
                os.close(os.open(self.inodes / str(count), os.O_WRONLY | os.O_CREAT, 0o600))
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
                return
            count += 1

    def release(self) -> None:
        self.space.unlink(missing_ok=True)
        shutil.rmtree(self.inodes, ignore_errors=True)
