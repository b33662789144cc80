""".ci/install-system-packages, which `make test` runs: present packages cost nothing, missing ones
without a way to install them stop the run with the command that fixes it."""

from __future__ import annotations

import shutil
import subprocess

from src.config import REPO_ROOT

SCRIPT = REPO_ROOT / ".ci" / "install-system-packages"


def _run(*packages: str, path: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [shutil.which("bash"), str(SCRIPT), *packages],
        env={"PATH": path},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_present_packages_are_left_alone(tmp_path):
    (tmp_path / "present-tool").write_text("#!/bin/sh\n")
    (tmp_path / "present-tool").chmod(0o755)

    result = _run("present-tool", path=str(tmp_path))

    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_missing_package_without_apt_get_is_an_error_naming_the_fix(tmp_path):
    result = _run("no-such-package-xyz", path=str(tmp_path))  # a PATH without apt-get

    assert result.returncode == 1
    assert "missing: no-such-package-xyz" in result.stderr
    assert "sudo apt-get install no-such-package-xyz" in result.stderr
