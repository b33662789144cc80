"""Tiny real model sets for the registry and inference tests, trained once per session.

Each set is a real `train_models` run on generated candles with 5-tree models plus the metadata
`build_metadata` makes for it, so the registry pickles, hashes and schema-checks what a weekly
run would hand it - in under a second per set.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
import pytest

from src.config import load_settings, with_overrides
from src.data.sources import CandleSet, load_sample_candles
from src.data.synthetic import generate_sample_market_data
from src.ml.gate import evaluate_gate
from src.ml.run_metadata import build_metadata
from src.ml.training import train_models
from src.registry.paths import SET_FILES, SIGNATURE
from src.registry.store import Registry
from tests.support import filesystems
from tests.support.promotion_steps import Recorder, run_with_steps
from tests.support.report_runs import trained_run

TINY_TREES = {"n_estimators": 5, "max_depth": 2}
# label -> (candle seed, random-forest params). "large" carries ~1 MB of deep trees so that one
# promotion lasts long enough for the crash test to kill it at many different points.
SET_RECIPES = {
    "A": (1, TINY_TREES),
    "B": (2, TINY_TREES),
    "C": (3, TINY_TREES),
    "large": (4, {"n_estimators": 60, "max_depth": None}),
}


@dataclass(frozen=True)
class TrainedSet:
    label: str
    models: dict[str, object]
    ensemble: object  # its model_version is the label, so a loaded set names where it came from
    metadata: dict
    probe: pd.DataFrame  # a few feature rows to fingerprint the set by its predictions
    onnx_files: dict[str, bytes]  # the ONNX copies the run exported

    @property
    def report_html(self) -> str:
        return f"<!doctype html><title>set {self.label}</title>"

    def promote(self, registry: Registry) -> dict:
        return registry.promote(*self.parts())

    def parts(self) -> tuple[dict[str, object], object, dict, str, dict[str, bytes]]:
        """The arguments of `Registry.promote`, e.g. to pickle for a helper process."""
        metadata = copy.deepcopy(self.metadata)
        return self.models, self.ensemble, metadata, self.report_html, self.onnx_files


def _train(label: str) -> TrainedSet:
    seed, forest = SET_RECIPES[label]
    settings = with_overrides(
        load_settings(),
        training={
            "cv": {"n_splits": 2, "gap": 1},
            "models": {
                "lightgbm": {**TINY_TREES, "num_leaves": 3},
                "xgboost": TINY_TREES,
                "random_forest": forest,
            },
        },
        tuning={"enabled": False},
    )
    candle_set = CandleSet(
        generate_sample_market_data(n_bars=600, seed=seed), "synthetic", "BTC/JPY", "15m"
    )
    run = train_models(candle_set, settings, progress=lambda _message: None)
    run.ensemble.set_params(model_version=label)
    gate = evaluate_gate(
        run.skill, None, run.money, settings.quality_gate
    )
    started_at = datetime(2025, 8, 28, 9, 0, tzinfo=UTC)
    metadata = build_metadata(
        run, candle_set, settings, gate, started_at, 1.0, "abc1234", {"enabled": False}
    )
    probe = run.features.iloc[-16:]
    return TrainedSet(label, run.models, run.ensemble, metadata, probe, run.onnx.files)


@pytest.fixture(scope="session")
def trained_set() -> Callable[[str], TrainedSet]:
    """`trained_set("A")`: a set from SET_RECIPES, trained on first use and then reused."""
    cache: dict[str, TrainedSet] = {}

    def get(label: str) -> TrainedSet:
        if label not in cache:
            cache[label] = _train(label)
        return cache[label]

    return get


@pytest.fixture(scope="session")
def sample_run():
    """(run, metadata) of a small tuned run on the candles shipped in the repo (tiny models, a
    few seconds), trained once per session: the report's tests and the weights' check share it."""
    return trained_run(load_sample_candles(), tuned=True)


@pytest.fixture(scope="session")
def read_set_files() -> Callable[[Path], dict[str, bytes]]:
    """`read_set_files(base)`: every file of the set under `base`, by relative path (the
    signature only where the set was signed)."""

    def read(base: Path) -> dict[str, bytes]:
        paths = {relative: Path(base) / relative for relative in SET_FILES}
        return {
            relative: path.read_bytes()
            for relative, path in paths.items()
            if relative != SIGNATURE or path.exists()
        }

    return read


@pytest.fixture
def models_dir(tmp_path: Path) -> Path:
    return tmp_path / "models"


@pytest.fixture
def read_only():
    """`with read_only(path):` - writes under `path` fail with EROFS (or EACCES) inside."""
    return filesystems.read_only


@pytest.fixture(scope="session")
def promotion_steps(tmp_path_factory, trained_set) -> list[str]:
    """The file-system steps of one promotion of B over A, in order, as "kind relative/path"."""
    root = tmp_path_factory.mktemp("steps") / "models"
    registry = Registry(root)
    trained_set("A").promote(registry)
    steps = Recorder(root)
    with pytest.MonkeyPatch.context() as monkeypatch:
        run_with_steps(monkeypatch, lambda: trained_set("B").promote(registry), steps)
    return steps.done
