"""The shape every bad-input outcome of the CLIs must have: exit 2 and one line on stderr that
names the problem and what to do, never a traceback."""

from __future__ import annotations

import re
import subprocess

EXIT_BAD_INPUT = 2


def assert_bad_input(completed: subprocess.CompletedProcess[str], message: str) -> None:
    """`message` (a regex) is found in the one line of stderr.

    LightGBM's C++ logs to stderr itself when it refuses a value; its lines may come before."""
    lines = [
        line
        for line in completed.stderr.splitlines()
        if line.strip() and not line.startswith("[LightGBM]")
    ]
    assert completed.returncode == EXIT_BAD_INPUT, completed.stdout + completed.stderr
    assert "Traceback" not in completed.stderr, completed.stderr
    assert len(lines) == 1, completed.stderr
    assert re.search(message, lines[0]), completed.stderr
