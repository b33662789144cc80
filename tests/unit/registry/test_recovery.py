"""Recovery at every crash point of a promotion, in process and deterministic.

A promotion of B over A is a fixed sequence of file-system steps: write each file of B into a
temporary directory, rename it into the archive, then switch the `current` symlink (create a
temporary link, rename it over `current`). Each case stops the promotion just before one step,
as a kill would; the seed paths and a fresh `Registry` must then show exactly A (stopped before
the switch) or exactly B, and the next writer must clean up what the dead one left, a set that
never went live included (`history` marks it until then). The SIGKILL
test in test_crash_safety.py samples the same window with real kills; this one covers every step.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys

import pytest

from src.config import REPO_ROOT
from src.registry.store import Registry
from tests.support.promotion_steps import PROMOTION_STEPS, Recorder, run_with_steps


class _Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler in the registry stops it."""


def _crash_at(crash_at: int):
    def before(index: int, kind: str, path) -> None:
        if index == crash_at:
            raise _Crash(f"{kind} {path}")

    return before


def test_a_promotion_writes_the_whole_set_before_its_one_switch(promotion_steps):
    switch = promotion_steps.index("replace current")
    assert switch == len(promotion_steps) - 1, promotion_steps
    (rename,) = [step for step in promotion_steps if step.startswith("rename")]
    assert rename.startswith("rename archive/.tmp-training_")
    assert promotion_steps[switch - 1].startswith("symlink .tmp-link-current")


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", range(PROMOTION_STEPS))
def test_a_crash_before_any_step_leaves_exactly_the_old_or_the_new_set(
    models_dir, trained_set, read_set_files, promotion_steps, monkeypatch, crash_at
):
    assert len(promotion_steps) == PROMOTION_STEPS, promotion_steps
    registry = Registry(models_dir, lock_timeout_s=5)
    hash_a = trained_set("A").promote(registry).version_control.model_hash
    files_a = read_set_files(models_dir)

    with pytest.raises(_Crash):
        promote_b = functools.partial(trained_set("B").promote, registry)
        run_with_steps(monkeypatch, promote_b, Recorder(models_dir, _crash_at(crash_at)))

    model_set = Registry(models_dir).load()
    switched = crash_at > promotion_steps.index("replace current")
    assert model_set.ensemble.model_version == ("B" if switched else "A")
    if not switched:
        assert read_set_files(models_dir) == files_a  # what plain readers of the seed paths see
    trained_set("A").promote(registry)  # the next writer cleans up
    assert registry.load().metadata.version_control.model_hash == hash_a
    leftovers = [path.name for path in models_dir.rglob(".tmp-*")]
    assert leftovers == []


def _dev_check(*args: str) -> subprocess.CompletedProcess[str]:
    env = {key: value for key, value in os.environ.items() if key != "DISCORD_WEBHOOK_URL"}
    return subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "testing" / "dev_check.py"), *args],
        cwd=REPO_ROOT, env={**env, "PYTHONPATH": str(REPO_ROOT)}, capture_output=True,
        text=True, timeout=300,
    )  # fmt: skip


@pytest.mark.slow
def test_a_set_whose_promotion_stopped_before_the_switch_is_marked_then_removed(
    models_dir, trained_set, promotion_steps, monkeypatch
):
    registry = Registry(models_dir, lock_timeout_s=5)
    trained_set("A").promote(registry)
    before = {path.name for path in (models_dir / "archive").iterdir()}
    switch = next(i for i, step in enumerate(promotion_steps) if step.startswith("symlink"))
    with pytest.raises(_Crash):  # killed after the set's rename, before the switch
        promote_b = functools.partial(trained_set("B").promote, registry)
        run_with_steps(monkeypatch, promote_b, Recorder(models_dir, _crash_at(switch)))
    (never_live,) = [p for p in (models_dir / "archive").glob("training_*") if p.name not in before]

    listed = _dev_check("history", "--models-dir", str(models_dir))

    assert listed.returncode == 0, listed.stdout + listed.stderr
    assert f"  {never_live.name}  NOT RESTORABLE: never went live" in listed.stdout

    # The next writer removes it before anything else, so it is not there to restore.
    refused = _dev_check("rollback", "--to", never_live.name, "--models-dir", str(models_dir))

    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert f"no archived version '{never_live.name}'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not never_live.exists() and not list(models_dir.rglob(".pending-*"))
    assert never_live.name not in _dev_check("history", "--models-dir", str(models_dir)).stdout
