"""The built wheel carries every file the code reads beside its modules, and an installed wheel
reads them from where it was installed (not from this checkout): the sample candles
`--source sample` trains on, and the metadata's JSON Schema.

The wheel is built from a copy of the files a build reads, so the build's own leftovers
(build/, *.egg-info) never land in the repository.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from src.config import REPO_ROOT
from src.data.sources import SAMPLE_CANDLES_PATH

pytestmark = pytest.mark.slow

# The files of the repository a build reads: the project's metadata, its readme and the code.
BUILD_INPUTS = ("pyproject.toml", "README.md", "src")
REQUIRED = (
    "src/data/sample_data/ETH_BTC-5m.csv",
    "src/data/sample_data/README.md",
    "src/registry/training_metadata.schema.json",
)
# Run by the installed copy: where `src` and its data came from, and what the data holds.
PROBE = """
import json, sys
import src
from src.data.sources import SAMPLE_CANDLES_PATH, load_sample_candles
from src.registry.metadata import SCHEMA_PATH, generated_schema

candles = load_sample_candles().candles
finders = [
    f"{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', type(f).__qualname__)}"
    for f in sys.meta_path
]
print(json.dumps({
    "src": src.__file__,
    "candles_path": str(SAMPLE_CANDLES_PATH),
    "rows": len(candles),
    "first": candles.index[0].isoformat(),
    "last": candles.index[-1].isoformat(),
    "schema_path": str(SCHEMA_PATH),
    "schema_matches_the_code": json.loads(SCHEMA_PATH.read_text()) == generated_schema(),
    "finders": finders,
}))
"""


def _data_files(root: Path) -> set[str]:
    """Every file under root/src that is not Python code, relative to `root`."""
    return {
        str(path.relative_to(root))
        for path in (root / "src").rglob("*")
        if path.is_file() and path.suffix != ".py" and "__pycache__" not in path.parts
    }


def _pip(*args: str, cwd: Path) -> None:
    completed = subprocess.run(
        [sys.executable, "-m", "pip", *args, "--quiet", "--no-deps"],
        cwd=cwd, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> tuple[Path, Path]:
    """(the wheel, the directory it was installed into with `pip install --target`)."""
    root = tmp_path_factory.mktemp("wheel")
    project = root / "project"
    for name in BUILD_INPUTS:
        source = REPO_ROOT / name
        if source.is_dir():
            shutil.copytree(source, project / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            project.mkdir(exist_ok=True)
            shutil.copy2(source, project / name)
    leftovers_before = sorted(REPO_ROOT.glob("build"))
    _pip("wheel", str(project), "--wheel-dir", str(root / "dist"), cwd=root)
    assert sorted(REPO_ROOT.glob("build")) == leftovers_before, "the build wrote into the repo"
    (wheel,) = (root / "dist").glob("*.whl")
    _pip("install", "--target", str(root / "site"), str(wheel), cwd=root)
    return wheel, root / "site"


def test_the_wheel_holds_the_sample_candles_the_schema_and_every_data_file(installed):
    wheel, _ = installed
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        missing = sorted(_data_files(REPO_ROOT) - names)
        assert not missing, f"{missing}: list them in pyproject.toml [tool.setuptools.package-data]"
        for name in REQUIRED:
            assert archive.read(name) == (REPO_ROOT / name).read_bytes(), name


def test_an_installed_wheel_reads_its_own_sample_candles_and_schema(installed, tmp_path):
    _, site = installed
    elsewhere = tmp_path / "elsewhere"  # the working directory: not the checkout
    elsewhere.mkdir()
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=elsewhere, env={**env, "PYTHONPATH": str(site)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    probe = json.loads(completed.stdout)

    # This venv's editable install finds `src` in the checkout through a meta-path finder that
    # comes after PathFinder: PYTHONPATH's copy is found first, and the paths below prove it.
    path_finder = probe["finders"].index("_frozen_importlib_external.PathFinder")
    editable = [i for i, name in enumerate(probe["finders"]) if name.startswith("__editable__")]
    assert all(index > path_finder for index in editable), probe["finders"]
    for key in ("src", "candles_path", "schema_path"):
        assert Path(probe[key]).is_relative_to(site), f"{key} came from {probe[key]}"
    shipped = pd.read_csv(SAMPLE_CANDLES_PATH)
    assert probe["rows"] == len(shipped) == 5_760
    assert probe["first"] == "2018-01-10T04:55:00+00:00"
    assert probe["last"] == "2018-01-30T04:50:00+00:00"
    assert probe["schema_matches_the_code"] is True
