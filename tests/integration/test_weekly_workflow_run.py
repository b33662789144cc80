"""The weekly workflow, really run: its own steps, in order, in a scratch clone with Git LFS.

The scratch world: this working tree's tracked files (uncommitted edits included) committed into
a fresh repository and pushed to a local bare `remote.git`, which stands for GitHub; each run
clones it into a new directory, as `actions/checkout` does on a fresh runner. HOME is private,
so `git lfs install` and git identities never touch the user's configuration. The candles come
from a local bitbank-format server (tests/support/fake_bitbank.py) named by BITBANK_API_URL.
The steps are read from .github/workflows/weekly-retrain.yml and run by
tests/support/github_actions.py; what each `uses:` step becomes is said in STEPS below.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import runpy
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import pytest
import yaml

from src.config import REPO_ROOT
from src.registry.paths import SET_FILES
from tests.integration.test_cli import (
    SNIPPET_METADATA,
    SNIPPET_PREDICT,
    SNIPPET_PREDICT_IMPORT,
    SNIPPET_QUALITY,
)
from tests.support.fake_bitbank import FakeBitbank, RandomWalkCandles, sine_candle
from tests.support.github_actions import (
    FAILURE,
    SKIPPED,
    SUCCESS,
    Context,
    Emulate,
    JobRunner,
    Run,
    Skip,
    StepResult,
    run_script,
)

pytestmark = pytest.mark.slow

WORKFLOW = REPO_ROOT / ".github" / "workflows" / "weekly-retrain.yml"
DAYS = "25"  # ~2,400 candles of 15m: a training takes seconds
SIGNING_KEY = "weekly-workflow-test-signing-key"
EXIT_REJECTED = 3
LFS_POINTER = re.compile(
    r"version https://git-lfs\.github\.com/spec/v1\n"
    r"oid sha256:(?P<oid>[0-9a-f]{64})\nsize (?P<size>\d+)\n"
)
TRAIN, COMMIT = "Retrain on bitbank BTC/JPY", "Commit promoted artifacts"
UPLOAD = "Upload the training report"
ALERT = "Alert Discord when the job fails outside the training command"


def _upload_paths(step: dict, workdir: Path) -> str:
    """What upload-artifact would upload: the files its `path:` patterns match, one a line."""
    patterns = step["with"]["path"].split()
    matches = {path for pattern in patterns for path in workdir.glob(pattern) if path.is_file()}
    return "\n".join(sorted(str(path.relative_to(workdir)) for path in matches))


# Every step of the job, by name, and what this test does with it.
STEPS = {
    "Check out (with LFS model files)": Emulate(
        "work/ is a `git clone` of remote.git with git-lfs installed (checkout with lfs: true)"
    ),
    "Set up Python": Emulate("work/.venv is a symlink to this project's virtualenv"),
    "Cache bitbank candles": Emulate("not restored: data/cache starts empty, as on a cache miss"),
    "Install and run the test suite": Skip("`make test` runs this very suite: it would recurse"),
    TRAIN: Run(),
    COMMIT: Run(),
    UPLOAD: Emulate("lists the files its `path:` names", _upload_paths),
    ALERT: Run(),
}

# Every expression the workflow uses, and what it means (GitHub's `a && b || c` is a ternary).
EXPRESSIONS = {
    "inputs.days || '365'": lambda c: c.inputs["days"] or "365",
    "inputs.force && '--force' || ''": lambda c: "--force" if c.inputs["force"] else "",
    "secrets.DISCORD_WEBHOOK_URL": lambda c: c.secrets.get("DISCORD_WEBHOOK_URL", ""),
    "secrets.MODEL_SIGNING_KEY": lambda c: c.secrets.get("MODEL_SIGNING_KEY", ""),
    "github.server_url": lambda c: c.github["server_url"],
    "github.repository": lambda c: c.github["repository"],
    "github.run_id": lambda c: c.github["run_id"],
    "steps.train.outcome == 'success'": lambda c: c.outcomes.get("train") == SUCCESS,
    "always()": lambda c: True,
    "failure() && steps.train.outcome != 'failure'": (
        lambda c: c.failed and c.outcomes.get("train") != FAILURE
    ),
}


def _git(*args: str, cwd: Path, env: dict[str, str]) -> str:
    completed = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )
    assert completed.returncode == 0, f"git {' '.join(args)}: {completed.stderr}"
    return completed.stdout


def _working_tree_files() -> list[str]:
    """This checkout's tracked files as they are now (the suite tests uncommitted edits too)."""
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=REPO_ROOT, capture_output=True, check=True, timeout=60
    ).stdout.decode()
    return [name for name in listed.split("\0") if name and os.path.lexists(REPO_ROOT / name)]


@dataclass(frozen=True)
class Scratch:
    """remote.git (GitHub's copy) and the environment every git command and step runs in."""

    root: Path
    env: dict[str, str]

    @property
    def remote(self) -> Path:
        return self.root / "remote.git"

    def git(self, *args: str, cwd: Path | None = None) -> str:
        return _git(*args, cwd=cwd or self.remote, env=self.env)

    def remote_head(self) -> str:
        return self.git("rev-parse", "refs/heads/main").strip()

    def clone(self, name: str) -> Path:
        """What a fresh runner has after checkout and setup-python."""
        work = self.root / name
        self.git("clone", "--quiet", str(self.remote), str(work), cwd=self.root)
        (work / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
        return work


@pytest.fixture
def scratch(tmp_path) -> Scratch:
    for tool in ("git", "git-lfs"):
        assert shutil.which(tool), (
            f"{tool} is not installed: `make test` installs it (Debian package), "
            f"or run `sudo apt-get install {tool}`"
        )
    home = tmp_path / "home"
    home.mkdir()
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "GIT_CONFIG_NOSYSTEM": "1",  # only the private HOME's configuration counts
    }
    scratch = Scratch(tmp_path, env)
    scratch.git("lfs", "install", "--skip-repo", cwd=home)
    seed = tmp_path / "seed"
    for name in _working_tree_files():
        target = seed / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO_ROOT / name, target, follow_symlinks=False)
    _fewer_tuning_trials(seed / "config" / "core" / "base.yaml")
    scratch.git("init", "--quiet", "-b", "main", cwd=seed)
    scratch.git("add", "--all", cwd=seed)
    identity = ["-c", "user.name=test", "-c", "user.email=test@example.invalid"]
    scratch.git(*identity, "commit", "--quiet", "-m", "the working tree under test", cwd=seed)
    scratch.git("init", "--quiet", "--bare", "-b", "main", str(scratch.remote), cwd=tmp_path)
    scratch.git("push", "--quiet", str(scratch.remote), "main", cwd=seed)
    return scratch


def _fewer_tuning_trials(base_yaml: Path) -> None:
    """The job tunes as configured, with 4 trials per model instead of the default's budget,
    which would cost the suite a minute per run and test nothing more."""
    text, count = re.subn(r"(?m)^(  n_trials: )\d+", r"\g<1>4", base_yaml.read_text())
    assert count == 1, "tuning.n_trials not found in base.yaml"
    base_yaml.write_text(text)


def _run_weekly(
    scratch: Scratch,
    work: Path,
    bitbank: FakeBitbank,
    force: bool = False,
    before_step: Callable[[str], None] | None = None,
) -> dict[str, StepResult]:
    """One manual dispatch of the job in `work`; the results by step name. `before_step(name)`
    runs before each step: what happens outside the job meanwhile."""
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["retrain"]
    runner = JobRunner(
        handling=STEPS,
        expressions=EXPRESSIONS,
        workdir=work,
        runner_temp=work.parent / f"{work.name}-runner-temp",
        base_env=_runner_env(scratch, work, bitbank),
        before_step=before_step,
    )
    context = Context(
        inputs={"days": DAYS, "force": force},
        secrets={"MODEL_SIGNING_KEY": SIGNING_KEY},  # no DISCORD_WEBHOOK_URL: nothing is posted
        github={"server_url": "https://github.com", "repository": "o/r", "run_id": "1"},
    )
    return {result.name: result for result in runner.run(job, context)}


def _runner_env(scratch: Scratch, work: Path, bitbank: FakeBitbank) -> dict[str, str]:
    return {
        **scratch.env,
        "CI": "true",
        # The reused virtualenv's editable install points at this checkout; on the runner
        # `make test` installs the clone itself, so the clone's code must win here too.
        "PYTHONPATH": str(work),
        "BITBANK_API_URL": bitbank.url,
    }


def _report(results: dict[str, StepResult]) -> str:
    return "\n".join(
        f"--- {r.name}: {r.outcome} ({r.returncode})\n{r.output}" for r in results.values()
    )


def _assert_outcomes(results: dict[str, StepResult], expected: dict[str, str]) -> None:
    outcomes = {name: results[name].outcome for name in expected}
    assert outcomes == expected, _report(results)


# -- reading the remote ----------------------------------------------------------------------
def _tree_entry(scratch: Scratch, rev: str, path: str, hops: int = 0) -> tuple[str, str]:
    """(mode, blob id) of `path` in commit `rev`, following committed symlinks on the way."""
    assert hops < 20, f"symlink loop at {path}"
    parts = path.split("/")
    for depth in range(1, len(parts) + 1):
        prefix = "/".join(parts[:depth])
        listing = scratch.git("ls-tree", rev, "--", prefix).split("\n")[0]
        assert listing, f"{path}: {prefix} is not in commit {rev}"
        mode, kind, object_id = listing.split("\t")[0].split()
        if mode == "120000":  # a symlink: continue from its target
            target = scratch.git("cat-file", "blob", object_id)
            parent = os.path.dirname(prefix)
            resolved = os.path.normpath(os.path.join(parent, target, *parts[depth:]))
            return _tree_entry(scratch, rev, resolved, hops + 1)
        if kind == "blob":
            assert depth == len(parts), f"{path}: {prefix} is a file"
            return mode, object_id
    raise AssertionError(f"{path} is a directory in commit {rev}")


def _committed_text(scratch: Scratch, rev: str, path: str) -> str:
    return scratch.git("cat-file", "blob", _tree_entry(scratch, rev, path)[1])


def _assert_pickles_are_lfs_objects_in_the_remote(scratch: Scratch, rev: str) -> int:
    pickles = [
        line.split("\t")
        for line in scratch.git("ls-tree", "-r", rev, "--", "models").splitlines()
        if line.endswith(".pkl")
    ]
    for meta, path in pickles:
        pointer = LFS_POINTER.fullmatch(scratch.git("cat-file", "blob", meta.split()[2]))
        assert pointer, f"{path} is committed as a plain blob, not a Git LFS pointer"
        oid = pointer["oid"]
        stored = scratch.remote / "lfs" / "objects" / oid[:2] / oid[2:4] / oid
        assert stored.is_file(), f"{path}: LFS object {oid} never reached the remote"
        assert hashlib.sha256(stored.read_bytes()).hexdigest() == oid, path
        assert stored.stat().st_size == int(pointer["size"]), path
    return len(pickles)


def _assert_commit_holds_a_new_set(scratch: Scratch, before: str) -> str:
    """The remote's new commit: one commit on top of `before`, the set, nothing else."""
    head = scratch.remote_head()
    assert scratch.git("rev-list", f"{before}..{head}").split() == [head]
    changed = scratch.git("diff-tree", "--no-commit-id", "--name-only", "-r", head).split()
    assert changed and all(path.startswith("models/") for path in changed), changed
    leftovers = [p for p in changed if re.search(r"candidates/|\.lock$|\.tmp|/\.staging/", p)]
    assert not leftovers, f"ignored files were committed: {leftovers}"
    for relative in SET_FILES:  # the seed paths, through whatever symlinks the layout uses
        _tree_entry(scratch, head, f"models/{relative}")
    assert _assert_pickles_are_lfs_objects_in_the_remote(scratch, head) >= 4
    return head


# -- the runs --------------------------------------------------------------------------------
def test_promoted_sets_are_committed_through_lfs_and_a_fresh_clone_loads_them(scratch, bitbank):
    bitbank.candle = sine_candle  # predictable: the gate promotes
    seeded = scratch.remote_head()

    first_work = scratch.clone("week-1")
    first = _run_weekly(scratch, first_work, bitbank)

    _assert_outcomes(first, {TRAIN: SUCCESS, COMMIT: SUCCESS, UPLOAD: SUCCESS, ALERT: SKIPPED})
    assert "models/training/training_report.html" in first[UPLOAD].output.splitlines()
    assert bitbank.candle_requests(), "the training never asked the local bitbank"
    assert list((first_work / "data" / "cache").glob("bitbank_BTC_JPY_15m.parquet"))
    first_head = _assert_commit_holds_a_new_set(scratch, seeded)
    first_metadata = _committed_text(scratch, first_head, "models/training/training_metadata.json")
    # The clone's own code ran: the metadata names the commit it was checked out at.
    assert f'"git_commit": "{seeded[:8]}"' in first_metadata

    # Next week, a new runner: the live set comes back from LFS and is archived on promotion.
    second = _run_weekly(scratch, scratch.clone("week-2"), bitbank)

    _assert_outcomes(second, {TRAIN: SUCCESS, COMMIT: SUCCESS, UPLOAD: SUCCESS, ALERT: SKIPPED})
    second_head = _assert_commit_holds_a_new_set(scratch, first_head)
    archived = [
        path
        for path in scratch.git(
            "ls-tree", "-r", "--name-only", second_head, "--", "models/archive"
        ).splitlines()
        if path.endswith("/training/training_metadata.json")
    ]
    # (A layout that keeps the live set under archive/ too lists both sets there.)
    assert first_metadata in [_committed_text(scratch, second_head, path) for path in archived]

    fresh = scratch.clone("fresh")
    _assert_fresh_clone_loads_and_runs_the_seed_snippets(scratch, fresh, second_head)


def _assert_fresh_clone_loads_and_runs_the_seed_snippets(
    scratch: Scratch, fresh: Path, head: str
) -> None:
    metadata_path = fresh / "models" / "training" / "training_metadata.json"
    assert scratch.git("log", "-1", "--format=%B", head).strip() == _commit_message(metadata_path)

    # One interpreter from the clone's root: the project's loader (sha256 checks before any
    # unpickling), then the seed's snippets verbatim, as in tests/integration/test_cli.py.
    load = (
        "from src.registry.store import Registry\n"
        "print('loaded', Registry('models').load().metadata.version_control.model_hash)\n"
    )
    snippets = [SNIPPET_METADATA, SNIPPET_PREDICT_IMPORT + SNIPPET_PREDICT, SNIPPET_QUALITY]
    result = subprocess.run(
        [str(fresh / ".venv" / "bin" / "python"), "-c", "\n".join([load, *snippets])],
        cwd=fresh,
        env={**scratch.env, "PYTHONPATH": str(fresh), "MODEL_SIGNING_KEY": SIGNING_KEY},
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=300,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    model_hash = json.loads(metadata_path.read_text())["version_control"]["model_hash"]
    assert result.stdout.splitlines()[0] == f"loaded {model_hash}"
    assert "=== MLOps統合予測テスト ===" in result.stdout
    assert re.search(r"^lightgbm: 予測=[01], 確率=0\.\d{3}$", result.stdout, re.MULTILINE)
    assert "✅ 全モデル品質基準クリア" in result.stdout


def _commit_message(metadata_path: Path) -> str:
    """What the clone's scripts/ml/commit_message.py prints for its metadata (run in this
    process, where its ~3 s of imports are already done)."""
    script = metadata_path.parents[2] / "scripts" / "ml" / "commit_message.py"
    output = io.StringIO()
    with (
        contextlib.redirect_stdout(output),
        mock.patch.object(sys, "argv", ["commit_message.py", str(metadata_path)]),
        pytest.raises(SystemExit) as exited,
    ):
        runpy.run_path(str(script), run_name="__main__")
    assert exited.value.code == 0, output.getvalue()
    return output.getvalue().strip()


def test_a_rejected_set_commits_nothing(scratch, bitbank):
    bitbank.candle = RandomWalkCandles(seed=0)  # no skill to find: the gate rejects
    seeded = scratch.remote_head()
    work = scratch.clone("week-1")

    results = _run_weekly(scratch, work, bitbank)

    # The training command alerts on its own rejection, so the workflow's alert step stays off.
    _assert_outcomes(results, {TRAIN: FAILURE, COMMIT: SKIPPED, UPLOAD: SUCCESS, ALERT: SKIPPED})
    assert results[TRAIN].returncode == EXIT_REJECTED, results[TRAIN].output
    assert "Quality gate: REJECTED" in results[TRAIN].output
    (candidate_report,) = results[UPLOAD].output.splitlines()
    assert re.fullmatch(r"models/candidates/[^/]+/training/training_report\.html", candidate_report)
    assert scratch.remote_head() == seeded

    # Had the step run anyway, the candidate and the locks are ignored: it commits nothing.
    job = yaml.safe_load(WORKFLOW.read_text())["jobs"]["retrain"]
    commit_step = next(step for step in job["steps"] if step["name"] == COMMIT)
    env = _runner_env(scratch, work, bitbank)
    rerun = run_script(commit_step["run"], env, work, work.parent / "commit-again.sh")
    assert rerun.returncode == 0, rerun.stdout
    assert "models/ is unchanged: nothing to commit" in rerun.stdout
    assert scratch.remote_head() == seeded


def test_a_failure_after_training_runs_the_alert_step(scratch, bitbank):
    bitbank.candle = RandomWalkCandles(seed=1)
    seeded = scratch.remote_head()
    hook = scratch.remote / "hooks" / "pre-receive"  # GitHub refusing the push
    hook.write_text("#!/bin/sh\necho 'push refused by the test remote' >&2\nexit 1\n")
    hook.chmod(0o755)

    results = _run_weekly(scratch, scratch.clone("week-1"), bitbank, force=True)

    _assert_outcomes(results, {TRAIN: SUCCESS, COMMIT: FAILURE, UPLOAD: SUCCESS, ALERT: SUCCESS})
    assert "Quality gate: FORCED" in results[TRAIN].output
    # The first push and 3 more, each after a rebase onto the remote's main; then it gives up.
    assert results[COMMIT].output.count("push refused by the test remote") == 4
    assert "git push was refused 4 times (after 3 rebases" in results[COMMIT].output
    assert scratch.remote_head() == seeded


def test_a_push_after_main_moved_during_the_run_lands_on_top_of_it(scratch, bitbank):
    bitbank.candle = sine_candle  # predictable: the gate promotes
    seeded = scratch.remote_head()
    pushed = []

    def someone_pushes_to_main(step: str) -> None:
        if step == COMMIT:  # the training is done; main moves before its commit is pushed
            pushed.append(_push_an_unrelated_commit(scratch))

    results = _run_weekly(
        scratch, scratch.clone("week-1"), bitbank, before_step=someone_pushes_to_main
    )

    _assert_outcomes(results, {TRAIN: SUCCESS, COMMIT: SUCCESS, UPLOAD: SUCCESS, ALERT: SKIPPED})
    retried = "push refused; rebasing the models commit onto the remote's main and retrying"
    assert results[COMMIT].output.count(retried) == 1, results[COMMIT].output
    (unrelated,) = pushed
    head = _assert_commit_holds_a_new_set(scratch, unrelated)
    assert scratch.git("rev-list", f"{seeded}..{head}").split() == [head, unrelated]


def _push_an_unrelated_commit(scratch: Scratch) -> str:
    """Someone else's commit on the remote's main (outside models/); returns its id."""
    other = scratch.clone("someone-else")
    (other / "NOTES.md").write_text("a note pushed while the weekly job ran\n")
    scratch.git("add", "NOTES.md", cwd=other)
    identity = ["-c", "user.name=someone", "-c", "user.email=someone@example.invalid"]
    scratch.git(*identity, "commit", "--quiet", "-m", "a note", cwd=other)
    scratch.git("push", "--quiet", "origin", "main", cwd=other)
    return scratch.remote_head()
