"""Real runs of the CLIs in subprocesses, on generated candle files, with models under tmp dirs.

One promoted model set is trained per test session and shared by every xdist worker (the
documented FileLock pattern); tests that write copy it first.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

from src.config import REPO_ROOT
from src.data.synthetic import generate_sample_market_data
from tests.support.candles import make_planted_candles

CREATE_ML_MODELS = Path("scripts", "ml", "create_ml_models.py")
DEV_CHECK = Path("scripts", "testing", "dev_check.py")
N_BARS = 2_500




def _env(root: Path) -> dict[str, str]:
    """The environment of a CLI run: no Discord webhook (no network), `src` importable, UTF-8."""
    env = {key: value for key, value in os.environ.items() if key != "DISCORD_WEBHOOK_URL"}
    env["PYTHONPATH"] = str(root)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


class Cli:
    """Runs Python (a script or `-c` code) with this venv's interpreter, as a user would.

    `root` is the checkout whose scripts, `src` and config run: the repo, or a copy of it.
    """

    def __init__(self, root: Path = REPO_ROOT) -> None:
        self.root = root

    def python(
        self, *args: str, cwd: Path | None = None, preexec_fn=None
    ) -> subprocess.CompletedProcess[str]:
        """`preexec_fn` runs in the child first, e.g. to enter a memory cgroup."""
        return subprocess.run(
            [sys.executable, *args],
            cwd=cwd or self.root,
            env=_env(self.root),
            capture_output=True,
            text=True,
            encoding="utf-8",
            timeout=300,
            preexec_fn=preexec_fn,
        )

    # Training runs here use base.yaml's hyperparameters (--no-tune) unless a test passes --tune:
    # the search has its own tests (tests/unit/tuning/, test_cli_tuning.py), and tuning every
    # run would cost the suite minutes without testing anything more.
    def create_ml_models(self, *args: str, preexec_fn=None) -> subprocess.CompletedProcess[str]:
        script = str(self.root / CREATE_ML_MODELS)
        return self.python(script, *_untuned(args), preexec_fn=preexec_fn)

    def dev_check(self, *args: str) -> subprocess.CompletedProcess[str]:
        trains = args[:1] == ("ml-models",)
        return self.python(str(self.root / DEV_CHECK), *(_untuned(args) if trains else args))


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
    returncode: int
    stdout: str
    stderr: str

    @property
    def models_dir(self) -> Path:
        return self.root / "models"

    def metadata(self) -> dict:
        return json.loads((self.models_dir / "training" / "training_metadata.json").read_text())


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
        "returncode": completed.returncode,
        "stdout": completed.stdout,
        "stderr": completed.stderr,
    }


@pytest.fixture(scope="session")
def trained_set(request, tmp_path_factory) -> TrainedSet:
    base = tmp_path_factory.getbasetemp()
    # Under xdist each worker has its own basetemp; their common parent is shared by the run.
    shared = (base.parent if hasattr(request.config, "workerinput") else base) / "trained-set"
    shared.mkdir(exist_ok=True)
    record = shared / "run.json"
    with FileLock(shared.with_suffix(".lock")):
        if not record.exists():
            record.write_text(json.dumps(_train(shared)))
    fields = json.loads(record.read_text())
    return TrainedSet(
        root=Path(fields["root"]),
        csv=Path(fields["csv"]),
        returncode=fields["returncode"],
        stdout=fields["stdout"],
        stderr=fields["stderr"],
    )


@pytest.fixture
def repo_copy(tmp_path) -> Cli:
    """The CLIs of a private copy of the code and config, for tests that edit the config."""
    root = tmp_path / "repo"
    for part in ("src", "scripts", "config"):
        shutil.copytree(REPO_ROOT / part, root / part, ignore=shutil.ignore_patterns("__pycache__"))
    return Cli(root)


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
