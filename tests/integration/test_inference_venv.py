"""The live bot's side in a venv that holds only the `inference` extra of pyproject.toml.

The venv gets exactly the distributions the extra resolves to (and their dependencies), linked
from this venv's installed files: no network, and the same versions the rest
of the suite ran. scikit-learn, LightGBM, XGBoost, SciPy and pandas are absent, so an import of
any of them on the inference path would fail the run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import tomllib
from importlib.metadata import PackageNotFoundError, distribution
from pathlib import Path

import numpy as np
import pandas as pd
from packaging.requirements import Requirement

from src.config import REPO_ROOT
from src.features.contract import WARMUP_BARS
from src.features.feature_manager import FeatureManager
from src.registry.signing import SIGNING_KEY_ENV
from src.registry.store import Registry

ABSENT = ("sklearn", "lightgbm", "xgboost", "scipy", "pandas")


def _extra(name: str) -> list[Requirement]:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    return [Requirement(text) for text in project["project"]["optional-dependencies"][name]]


def _closure(requirements: list[Requirement]) -> dict:
    """name -> installed distribution for the requirements and their dependencies, each checked
    against the range that asked for it."""
    found, pending = {}, list(requirements)
    while pending:
        requirement = pending.pop()
        if requirement.marker is not None and not requirement.marker.evaluate({"extra": ""}):
            continue
        try:
            dist = distribution(requirement.name)
        except PackageNotFoundError as exc:
            raise AssertionError(f"{requirement} is not installed in this venv") from exc
        assert requirement.specifier.contains(dist.version, prereleases=True), (
            f"installed {requirement.name} {dist.version} is outside {requirement}"
        )
        key = dist.metadata["Name"].lower()
        if key not in found:
            found[key] = dist
            pending += [Requirement(text) for text in dist.requires or ()]
    return found


def _make_venv(target: Path, dists: dict) -> Path:
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(target)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site = target / "lib" / version / "site-packages"
    for dist in dists.values():
        for relative in dist.files or ():
            if relative.parts[0] == "..":  # console scripts outside site-packages
                continue
            source = Path(dist.locate_file(relative))
            if source.exists() and "__pycache__" not in relative.parts:
                (site / relative).parent.mkdir(parents=True, exist_ok=True)
                (site / relative).symlink_to(source)
    return target / "bin" / "python"


def _candles(csv: Path) -> pd.DataFrame:
    candles = pd.read_csv(csv, index_col=0, parse_dates=True)
    candles.index.name = "timestamp"
    return candles.iloc[-(WARMUP_BARS + 300) :]


SCRIPT = textwrap.dedent(
    """
    import csv, json, sys
    from src.inference import FeatureStream, LivePredictor

    models_dir, csv_path, absent = sys.argv[1], sys.argv[2], sys.argv[3].split(",")
    with open(csv_path, newline="") as handle:
        candles = list(csv.DictReader(handle))
    predictor = LivePredictor.load(models_dir)
    stream = FeatureStream.from_candles(candles[:-20])
    p_up, held = [], 0
    for candle in candles[-20:]:
        row = stream.update(candle)
        p_up.append(predictor.p_up(row))
        held = predictor.position(row, held)
    importable = []
    for name in absent:
        try:
            __import__(name)
            importable.append(name)
        except ImportError:
            pass
    loaded = sorted({m.split(".")[0] for m in sys.modules} & set(absent))
    print(json.dumps({"p_up": p_up, "held": held, "importable": importable, "loaded": loaded}))
    """
)


def test_the_bot_side_runs_in_a_venv_with_only_the_inference_extra(trained_set, tmp_path):
    assert trained_set.returncode == 0, trained_set.stdout + trained_set.stderr
    python = _make_venv(tmp_path / "venv", _closure(_extra("inference")))
    candles = _candles(trained_set.csv)
    candles.reset_index().to_csv(tmp_path / "candles.csv", index=False)

    completed = subprocess.run(
        [str(python), "-c", SCRIPT, str(trained_set.models_dir), str(tmp_path / "candles.csv"),
         ",".join(ABSENT)],
        cwd=REPO_ROOT,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(REPO_ROOT), SIGNING_KEY_ENV: ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip

    assert completed.returncode == 0, completed.stderr
    result = json.loads(completed.stdout)
    assert result["importable"] == [] and result["loaded"] == []
    pickled = Registry(trained_set.models_dir).load().ensemble
    rows = FeatureManager().generate_features(candles).iloc[-20:]
    np.testing.assert_allclose(result["p_up"], pickled.predict_proba(rows)[:, 1], atol=1e-6)
