"""Crash safety: SIGKILL a promotion at many points; the live set is always exactly old or new.

A helper process imports everything once, then forks one child per trial that promotes set B
("large", ~1 MB of trees) over set A. The test kills the child at delays spread from 0 to the
measured length of one promotion, then checks what a fresh `Registry` sees.
"""

from __future__ import annotations

import os
import pickle
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pytest

from src.config import REPO_ROOT
from src.registry.paths import ARTIFACTS
from src.registry.store import Registry

TRIALS = 32
LOCK_TIMEOUT_S = 5.0

HELPER = textwrap.dedent(
    '''
    """Forks one child per "promote" line; the test SIGKILLs that child, then sends "reap".

    The child opens the registry lock itself, so killing it releases the lock as a crash would.
    """
    import os
    import pickle
    import sys
    import time
    import traceback
    from pathlib import Path

    import lightgbm, sklearn.ensemble, xgboost  # noqa: F401,E401 - the pickles need them
    import src.ml.ensemble  # noqa: F401
    from src.registry.store import Registry


    def promote(rehearsal_dir, models_dir, payload_path):
        parts = pickle.loads(Path(payload_path).read_bytes())
        # The same promotion on a copy first: its length, measured just now and in this process,
        # is what the test spreads its kill delays over.
        started = time.perf_counter()
        Registry(rehearsal_dir).promote(*parts)
        say(f"ready {os.getpid()} {time.perf_counter() - started:.6f}")
        Registry(models_dir, lock_timeout_s=5).promote(*parts)
        say("done")


    def say(line):
        # One write(2) per line: a pipe delivers writes under PIPE_BUF whole, so the lines of
        # several processes never interleave (print() may split them, e.g. when unbuffered).
        os.write(1, (line + "\\n").encode())


    def child(args):
        code = 0
        try:
            promote(*args)
        except BaseException:
            traceback.print_exc()
            code = 1
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)


    say("helper ready")
    pid = None
    while line := sys.stdin.readline():
        command, *args = line.split()
        if command == "promote":
            pid = os.fork()
            if pid == 0:
                child(args)
        elif command == "reap":
            _, status = os.waitpid(pid, 0)
            say(f"exit {os.waitstatus_to_exitcode(status)}")
    '''
)


@dataclass(frozen=True)
class Trial:
    rehearsal_s: float  # how long the same promotion took just before, in the same child
    kill_after_s: float
    exit_code: int  # -9: killed; 0: the promotion finished before the kill


class _Helper:
    def __init__(self, workdir: Path):
        script = workdir / "promote_helper.py"
        script.write_text(HELPER)
        self.stderr_path = workdir / "promote_helper.stderr"
        env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
        with self.stderr_path.open("w") as stderr:
            self.process = subprocess.Popen(
                [sys.executable, str(script)],
                cwd=REPO_ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
                text=True,
                bufsize=1,
            )
        self.read_until("helper ready")

    def read_until(self, prefix: str) -> list[str]:
        lines = []
        while not (lines and lines[-1].startswith(prefix)):
            line = self.process.stdout.readline()
            if not line:
                raise AssertionError(
                    f"helper ended before {prefix!r}; said {lines}; stderr:\n"
                    + self.stderr_path.read_text()
                )
            lines.append(line.strip())
        return lines

    def send(self, line: str) -> None:
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()

    def promote(self, rehearsal_dir: Path, models_dir: Path, payload: Path, fraction: float):
        """Promote in a child, SIGKILL it `fraction` of a promotion's length after it starts."""
        self.send(f"promote {rehearsal_dir} {models_dir} {payload}")
        _, pid, rehearsal_s = self.read_until("ready")[-1].split()
        kill_after_s = fraction * float(rehearsal_s)
        time.sleep(kill_after_s)
        os.kill(int(pid), signal.SIGKILL)  # the helper reaps only on "reap": no pid reuse
        self.send("reap")
        exit_code = int(self.read_until("exit")[-1].split()[1])
        assert exit_code in (0, -signal.SIGKILL), self.stderr_path.read_text()
        return Trial(float(rehearsal_s), kill_after_s, exit_code)

    def close(self) -> None:
        self.process.stdin.close()
        self.process.wait(timeout=30)


def _stage(models_dir: Path, live_before: str) -> str:
    """How far the killed promotion got, judged from what it left behind (before recovery)."""
    archive = models_dir / "archive"
    if os.readlink(models_dir / "current") != live_before:
        return "finished"
    if list(models_dir.glob(".tmp-link-*")):
        return "switching"
    if list(archive.glob(".tmp-*")):
        return "writing the new set"
    if len(list(archive.glob("training_*"))) > 1:
        return "written, not switched"
    return "not started"


def _artifacts(files: dict[str, bytes]) -> dict[str, bytes]:
    return {relative: files[relative] for relative in ARTIFACTS.values()}


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_a_killed_promotion_leaves_exactly_the_old_or_the_new_set(
    tmp_path, trained_set, read_set_files
):
    template = tmp_path / "template"
    set_a = trained_set("A")
    hash_a = set_a.promote(Registry(template)).version_control.model_hash
    files_a = read_set_files(template)
    payload = tmp_path / "large.pkl"
    payload.write_bytes(pickle.dumps(trained_set("large").parts(), protocol=5))
    # Every copy made up front and flushed once, so that no trial pays for flushing the others.
    copies = [
        shutil.copytree(template, tmp_path / f"copy_{index:02d}", symlinks=True)
        for index in range(2 * TRIALS)
    ]
    os.sync()
    live_before = os.readlink(template / "current")
    known: dict[str, dict[str, bytes]] = {hash_a: _artifacts(files_a)}

    def check_after_kill(models_dir: Path) -> str:
        registry = Registry(models_dir, lock_timeout_s=LOCK_TIMEOUT_S)
        model_set = registry.load()
        model_hash = model_set.metadata.version_control.model_hash
        live = read_set_files(models_dir)  # through the seed paths, as plain readers see them
        assert model_hash in known, f"{models_dir}: a set that is neither A nor B"
        assert _artifacts(live) == known[model_hash], f"{models_dir}: files of another set"
        label = "A" if model_hash == hash_a else "B"
        if label == "A":
            assert live == files_a
        else:
            previous = Path(model_set.metadata.version_control.previous_version)
            assert read_set_files(previous) == files_a
        assert model_set.ensemble.model_version == {"A": "A", "B": "large"}[label]
        for archived in (models_dir / "archive").glob("training_*"):
            assert _artifacts(read_set_files(archived)) in known.values(), f"{archived} is torn"
        started = time.monotonic()
        set_a.promote(registry)  # a lock still held by the dead child would time out here
        assert time.monotonic() - started < LOCK_TIMEOUT_S
        assert registry.load().metadata.version_control.model_hash == hash_a
        assert list(models_dir.rglob(".tmp-*")) == [], "the next writer left leftovers behind"
        return label

    outcomes, trials = Counter(), []
    helper = _Helper(tmp_path)
    try:
        for index in range(TRIALS):
            rehearsal, models_dir = copies[2 * index], copies[2 * index + 1]
            # Kills spread over one rehearsed promotion, and a last one well after it, so the
            # new set is reached even when this run is slower than its rehearsal.
            fraction = index / (TRIALS - 2) if index < TRIALS - 1 else 3.0
            trials.append(helper.promote(rehearsal, models_dir, payload, fraction))
            rehearsed = Registry(rehearsal).load().metadata.version_control.model_hash
            known.setdefault(rehearsed, _artifacts(read_set_files(rehearsal)))
            assert len(known) == 2, "two children pickled set B differently"
            stage = _stage(models_dir, live_before)
            outcomes[(check_after_kill(models_dir), stage)] += 1
    finally:
        helper.close()

    rehearsals_ms = sorted(round(trial.rehearsal_s * 1000) for trial in trials)
    summary = (
        f"{TRIALS} kills, one promotion {rehearsals_ms[0]}-{rehearsals_ms[-1]} ms: "
        + ", ".join(
            f"{label} after '{stage}': {count}" for (label, stage), count in outcomes.items()
        )
    )
    print(summary)
    live_sets = Counter(label for label, _ in outcomes.elements())
    assert live_sets["A"] and live_sets["B"], f"the kills missed the promotion: {summary}"
    assert any(stage not in ("not started", "finished") for _, stage in outcomes), summary
