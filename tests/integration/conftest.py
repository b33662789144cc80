"""Real runs of the CLIs in subprocesses, on generated candle files, with models under tmp dirs.

One promoted model set is trained per test session and shared by every xdist worker (the
documented FileLock pattern); tests that write copy it first.

Every script run through `Cli` is recorded for the test under way: a test that
tests/support/documented_commands.py lists as running a documented command or option fails
unless it did run it, with an exit of 0 or 3.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from filelock import FileLock

from src.config import REPO_ROOT
from src.data.synthetic import generate_sample_market_data
from tests.support.candles import make_planted_candles
from tests.support.dask_cluster import DaskCluster, start_cluster
from tests.support.documented_commands import CREATE_ML_MODELS, DEV_CHECK, CliRun, items_run_by
from tests.support.fake_bitbank import FakeBitbank

N_BARS = 2_500
# The scripts the test under way ran through `Cli` (cleared before each test's setup).
CLI_RUNS: list[CliRun] = []


def _env(root: Path, extra: dict[str, str]) -> dict[str, str]:
    """The environment of a CLI run: no Discord webhook (no network), `src` importable, UTF-8,
    and what the test adds (e.g. BITBANK_API_URL)."""
    env = {key: value for key, value in os.environ.items() if key != "DISCORD_WEBHOOK_URL"}
    env["PYTHONPATH"] = str(root)
    env["PYTHONIOENCODING"] = "utf-8"
    return {**env, **extra}


class Cli:
    """Runs Python (a script or `-c` code) with this venv's interpreter, as a user would.

    `root` is the checkout whose scripts, `src` and config run: the repo, or a copy of it.
    """

    def __init__(self, root: Path = REPO_ROOT) -> None:
        self.root = root

    def python(
        self, *args: str, cwd: Path | None = None, preexec_fn=None, env: dict | None = None,
        timeout_s: float = 300,
    ) -> subprocess.CompletedProcess[str]:
        """`preexec_fn` runs in the child first, e.g. to enter a memory cgroup; `env` is added
        to the environment."""
        completed = subprocess.run(
            [sys.executable, *args],
            cwd=cwd or self.root,
            env=_env(self.root, env or {}),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=timeout_s,
            preexec_fn=preexec_fn,
        )
        CLI_RUNS.append(CliRun(tuple(args), completed.returncode))
        return completed

    def spawn(self, *args: str, env: dict | None = None, **popen) -> subprocess.Popen:
        """Start Python in the background (e.g. `paper --follow`); `ended` records the run."""
        return subprocess.Popen(
            [sys.executable, *args], cwd=self.root, env=_env(self.root, env or {}), **popen
        )

    def ended(self, process: subprocess.Popen) -> None:
        CLI_RUNS.append(CliRun(tuple(process.args[1:]), process.returncode))

    # Training runs here use base.yaml's hyperparameters (--no-tune) unless a test passes --tune:
    # the search has its own tests (tests/unit/tuning/, test_cli_tuning.py), and tuning every
    # run would cost the suite minutes without testing anything more.
    def create_ml_models(
        self, *args: str, preexec_fn=None, env: dict | None = None
    ) -> subprocess.CompletedProcess[str]:
        script = str(self.root / CREATE_ML_MODELS)
        return self.python(script, *_untuned(args), preexec_fn=preexec_fn, env=env)

    def dev_check(self, *args: str, env: dict | None = None) -> subprocess.CompletedProcess[str]:
        trains = args[:1] == ("ml-models",) and "--dry-run" not in args
        script = str(self.root / DEV_CHECK)
        return self.python(script, *(_untuned(args) if trains else args), env=env)


def _untuned(args: tuple[str, ...]) -> tuple[str, ...]:
    return args if "--tune" in args or "--no-tune" in args else (*args, "--no-tune")


@pytest.fixture(scope="session")
def cli() -> Cli:
    return Cli()


@dataclass(frozen=True)
class TrainedSet:
    """A model set promoted by `create_ml_models.py --verbose` from a planted-signal CSV."""

    root: Path  # holds models/ (the seed's layout under a working directory)
    csv: Path
    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    @property
    def cli_run(self) -> CliRun:
        """The training run, counted for every test that checks it (it ran in one of them)."""
        return CliRun(self.argv, self.returncode)

    def metadata(self) -> dict:
        return json.loads((self.models_dir / "training" / "training_metadata.json").read_text())


def once_per_session(request, tmp_path_factory, name: str, make: Callable[[Path], dict]) -> dict:
    """`make(directory)`'s JSON result: made by the first xdist worker that asks (holding a
    FileLock), read by the others; `directory` is shared by the whole run."""
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp; their common parent is shared by the run.
    shared = (base.parent if hasattr(request.config, "workerinput") else base) / name
    shared.mkdir(exist_ok=True)
    record = shared / "run.json"
    with FileLock(shared.with_suffix(".lock")):
        if not record.exists():
            record.write_text(json.dumps(make(shared)))
    return json.loads(record.read_text())


def _train(shared: Path) -> dict:
    csv = shared / "planted.csv"
    make_planted_candles(N_BARS, seed=3).to_csv(csv)
    models_dir = shared / "trained" / "models"
    completed = Cli().create_ml_models(
        "--source", str(csv), "--models-dir", str(models_dir), "--verbose"
    )
    return {
        "root": str(models_dir.parent),
        "csv": str(csv),
        "argv": completed.args[1:],
        "returncode": completed.returncode,
        "stdout": completed.stdout,
        "stderr": completed.stderr,
    }


@pytest.fixture(scope="session")
def trained_set(request, tmp_path_factory) -> TrainedSet:
    fields = once_per_session(request, tmp_path_factory, "trained-set", _train)
    return TrainedSet(
        root=Path(fields["root"]),
        csv=Path(fields["csv"]),
        argv=tuple(fields["argv"]),
        returncode=fields["returncode"],
        stdout=fields["stdout"],
        stderr=fields["stderr"],
    )


def copy_repo(root: Path) -> Cli:
    """The CLIs of a copy at `root` of the code and config, for tests that edit the config."""
    for part in ("src", "scripts", "config"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return Cli(root)


@pytest.fixture
def repo_copy(tmp_path) -> Cli:
    """The CLIs of a private copy of the code and config, for tests that edit the config."""
    return copy_repo(tmp_path / "repo")


@pytest.fixture
def copied_set(trained_set, tmp_path) -> Path:
    """A private copy of the trained set's models dir, for tests that run writers or compare."""
    assert trained_set.returncode == 0, trained_set.stdout + trained_set.stderr
    target = tmp_path / "models"
    shutil.copytree(trained_set.models_dir, target, symlinks=True)
    return target


@pytest.fixture(scope="session")
def random_walk_csv(tmp_path_factory) -> Path:
    """Candles without any signal: an honest gate rejects models trained on them."""
    path = tmp_path_factory.mktemp("random-walk") / "random_walk.csv"
    generate_sample_market_data(N_BARS, seed=0).to_csv(path)
    return path


@pytest.fixture
def bitbank() -> Iterator[FakeBitbank]:
    """A local bitbank (BITBANK_API_URL=bitbank.url) serving candles up to the real now."""
    server = FakeBitbank()
    server.now = pd.Timestamp.now(tz="UTC")  # the CLI asks for the days up to the real now
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def dask_cluster(tmp_path_factory) -> Iterator[DaskCluster]:
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1, as the README starts them."""
    cluster = start_cluster(2, tmp_path_factory.mktemp("dask-cluster"))
    try:
        yield cluster
    finally:
        cluster.stop()


def where_to_train(request, where: str, tasks: int) -> tuple[list[str], str]:
    """The option that trains `tasks` tasks on two local workers ("--workers 2") or on the
    module's `dask_cluster` ("--scheduler"), and the line the CLI prints of it."""
    if where == "--scheduler":
        address = request.getfixturevalue("dask_cluster").address
        return ["--scheduler", address], f"training {tasks} on the Dask cluster at {address}"
    return ["--workers", "2"], f"training {tasks} on a LocalCluster of 2 single-threaded"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item):
    CLI_RUNS.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Fails a passing test listed in RUN_BY for a documented item that it did not run."""
    report = yield
    if report.when != "call" or not report.passed:
        return report
    trained = [value.cli_run for value in item.funcargs.values() if isinstance(value, TrainedSet)]
    runs = [*CLI_RUNS, *trained]
    test_id = item.nodeid.removeprefix("tests/integration/")
    unrun = [name for name in items_run_by(test_id) if not any(run.runs(name) for run in runs)]
    if unrun:
        report.outcome = "failed"
        report.longrepr = (
            f"{test_id} is listed in tests/support/documented_commands.py as running {unrun}, "
            "but ran none of them through the Cli helper with an exit of 0 or 3"
        )
    return report
