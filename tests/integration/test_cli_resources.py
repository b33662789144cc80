"""The CLIs on a full disk and on a window too large for memory: exit 2 with one line naming
what to do, no traceback, the live set untouched, nothing started that cannot finish.

Real conditions: a small tmpfs the test mounts and fills, and a memory cgroup made inside the
test's own cgroup. Where this machine allows neither (not root, no memory controller), the test
skips and pytest's -ra summary says why.
"""

from __future__ import annotations

import os
import shutil

import pytest

from src.cli.exits import EXIT_BAD_INPUT, EXIT_OK, EXIT_REJECTED
from src.ml.memory import estimate_peak
from tests.support import filesystems
from tests.support.memory_ceiling import CeilingUnavailable, memory_ceiling

from .conftest import N_BARS

PAGE = os.sysconf("SC_PAGE_SIZE")


def _live_files(models_dir) -> dict[str, bytes]:
    live = (models_dir / "current").resolve()
    return {str(p.relative_to(live)): p.read_bytes() for p in live.rglob("*") if p.is_file()}


def _leftovers(models_dir) -> list[str]:
    return [str(p) for pattern in (".tmp-*", "*.tmp") for p in models_dir.rglob(pattern)]


def test_a_training_on_a_disk_without_room_for_its_set_exits_2_in_one_line(
    cli, trained_set, random_walk_csv, tmp_path
):
    assert trained_set.returncode == EXIT_OK, trained_set.stderr
    small_disk = filesystems.small_tmpfs(tmp_path / "disk", 6 * 2**20, 256)
    with filesystems.mounted_or_skip(small_disk) as disk:
        models_dir = disk / "models"
        shutil.copytree(trained_set.models_dir, models_dir, symlinks=True)
        before = _live_files(models_dir)
        # Just below the size of one more set, as in the 6 MiB reproduction.
        filesystems.Filler(disk).fill_space(leave_bytes=sum(map(len, before.values())) - PAGE)

        trained = cli.create_ml_models(
            "--source", str(random_walk_csv), "--force", "--models-dir", str(models_dir)
        )

        assert trained.returncode == EXIT_BAD_INPUT, trained.stdout + trained.stderr
        assert "Traceback" not in trained.stderr
        (error,) = [line for line in trained.stderr.splitlines() if line.startswith("error:")]
        assert error.startswith(f"error: not enough free space for {models_dir}/archive"), error
        assert "MiB needed" in error and "--models-dir" in error, error
        assert _live_files(models_dir) == before
        assert _leftovers(models_dir) == []


def test_under_a_real_memory_ceiling_a_forced_window_trains_and_a_refused_one_never_starts(
    repo_copy, random_walk_csv, tmp_path
):
    estimate = estimate_peak(N_BARS, 1024)
    limit = int(estimate.peak_mib) - 1  # the window is one MiB too large for the config
    base_yaml = repo_copy.root / "config" / "core" / "base.yaml"
    base_yaml.write_text(
        base_yaml.read_text().replace("max_rss_mib: 1024", f"max_rss_mib: {limit}")
    )
    rows_that_fit = estimate_peak(0, limit).rows_that_fit
    refused_dir, forced_dir = tmp_path / "refused", tmp_path / "forced"
    try:
        ceiling_context = memory_ceiling(512 * 2**20, "test-cli-memory")
        ceiling = ceiling_context.__enter__()
    except CeilingUnavailable as exc:
        pytest.skip(f"cannot make a memory cgroup here: {exc}")
    try:
        refused = repo_copy.create_ml_models(
            "--source", str(random_walk_csv), "--models-dir", str(refused_dir),
            preexec_fn=ceiling.enter,
        )  # fmt: skip
        forced = repo_copy.create_ml_models(
            "--source", str(random_walk_csv), "--models-dir", str(forced_dir), "--verbose",
            "--force-memory", preexec_fn=ceiling.enter,
        )  # fmt: skip
        oom_kills = ceiling.oom_kills()
    finally:
        ceiling_context.__exit__(None, None, None)

    assert refused.returncode == EXIT_BAD_INPUT, refused.stdout + refused.stderr
    assert "Traceback" not in refused.stderr
    assert f"a training window of {N_BARS:,} candles needs an estimated" in refused.stderr
    assert f"at most {rows_that_fit:,} candles fit" in refused.stderr
    assert not refused_dir.exists()  # refused before the models dir was even created
    assert forced.returncode in (EXIT_OK, EXIT_REJECTED), forced.stdout + forced.stderr
    assert f"memory: {N_BARS:,} candles, estimated peak" in forced.stdout
    assert oom_kills == 0


def test_a_bitbank_window_too_large_is_refused_before_any_request(cli, tmp_path, monkeypatch):
    # Nothing listens there: a request would end in a connection error, not in this refusal.
    monkeypatch.setenv("BITBANK_API_URL", "http://127.0.0.1:9")
    result = cli.create_ml_models(
        "--source", "bitbank", "--days", "4000", "--timeframe", "5m",
        "--models-dir", str(tmp_path / "models"),
    )  # fmt: skip

    assert result.returncode == EXIT_BAD_INPUT, result.stdout + result.stderr
    assert "a training window of 1,152,000 candles needs an estimated" in result.stderr
    assert "Traceback" not in result.stderr and "bitbank" not in result.stderr
    assert not (tmp_path / "models").exists()
