"""Recovery at every crash point of a promotion, in process and deterministic.

A promotion of B over A is a fixed sequence of file-system steps (archive writes and rename,
staged writes, the journal, the replaces). Each case stops the promotion just before one step,
as a kill would, and a fresh `Registry` must then see exactly A (journal not yet written) or
exactly B (journal written: the next reader rolls it forward). The SIGKILL test in
test_crash_safety.py samples the same window with real kills; this one covers every step.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from src.registry import store
from src.registry.paths import METADATA, SET_FILES
from src.registry.store import Registry

# Archive each file and rename the archive; stage each file; journal; replace each live file.
PROMOTION_STEPS = len(SET_FILES) + 1 + len(SET_FILES) + 1 + len(SET_FILES)


class _Crash(BaseException):
    """Stands for the process dying: not an Exception, so no handler in the registry stops it."""


class _Steps:
    """Counts file-system steps; raises _Crash instead of running step number `crash_at`."""

    def __init__(self, root: Path, crash_at: int | None = None):
        self.root, self.crash_at, self.done = root, crash_at, []

    def __call__(self, kind: str, path: Path) -> None:
        if len(self.done) == self.crash_at:
            raise _Crash(f"{kind} {path}")
        self.done.append(f"{kind} {Path(path).relative_to(self.root)}")


def _promote_with_steps(monkeypatch, registry: Registry, trained, steps: _Steps) -> None:
    write, replace, rename = store.atomic_write_bytes, Path.replace, Path.rename

    def counted(kind, operation):
        def run(path, *args):
            steps(kind, path)
            return operation(path, *args)

        return run

    with monkeypatch.context() as patch:
        patch.setattr(store, "atomic_write_bytes", counted("write", write))
        patch.setattr(Path, "replace", counted("replace", replace))
        patch.setattr(Path, "rename", counted("rename", rename))
        trained.promote(registry)


@pytest.fixture(scope="module")
def promotion_steps(tmp_path_factory, trained_set) -> list[str]:
    """The steps of one promotion of B over A, in order, from a run that is not stopped."""
    root = tmp_path_factory.mktemp("steps") / "models"
    registry = Registry(root)
    trained_set("A").promote(registry)
    steps = _Steps(root)
    with pytest.MonkeyPatch.context() as monkeypatch:
        _promote_with_steps(monkeypatch, registry, trained_set("B"), steps)
    return steps.done


def test_a_promotion_journals_before_it_replaces_live_files(promotion_steps):
    journal = promotion_steps.index("write .promotion.json")
    replaces = [index for index, step in enumerate(promotion_steps) if step.startswith("replace")]
    assert len(replaces) == len(SET_FILES) and min(replaces) > journal
    assert promotion_steps[-1] == f"replace .staging/{METADATA}"


@pytest.mark.slow
@pytest.mark.parametrize("crash_at", range(PROMOTION_STEPS))
def test_a_crash_before_any_step_leaves_exactly_the_old_or_the_new_set(
    models_dir, trained_set, read_set_files, promotion_steps, monkeypatch, crash_at
):
    assert len(promotion_steps) == PROMOTION_STEPS, promotion_steps
    registry = Registry(models_dir, lock_timeout_s=5)
    hash_a = trained_set("A").promote(registry)["version_control"]["model_hash"]
    files_a = read_set_files(models_dir)

    with pytest.raises(_Crash):
        _promote_with_steps(monkeypatch, registry, trained_set("B"), _Steps(models_dir, crash_at))

    model_set = Registry(models_dir, lock_timeout_s=5).load()
    journaled = crash_at > promotion_steps.index("write .promotion.json")
    assert model_set.ensemble.model_version == ("B" if journaled else "A")
    if not journaled:
        assert model_set.metadata["version_control"]["model_hash"] == hash_a
        assert read_set_files(models_dir) == files_a
    else:
        previous = Path(model_set.metadata["version_control"]["previous_version"])
        assert read_set_files(previous) == files_a
    leftovers = [".promotion.json", ".staging", "archive/.tmp-*"]
    assert [path for pattern in leftovers for path in models_dir.glob(pattern)] == []
    assert trained_set("A").promote(registry)["version_control"]["model_hash"] == hash_a
