"""Where a model set's files live (the seed's layout) and how the models directory is arranged.

    models/
      training   -> current/training       fixed symlinks: the seed's paths
      production -> current/production
      current    -> archive/<version>      the live set; switched by one rename(2)
      archive/<version>/{training,production}/...   every promoted set, never changed
      candidates/<version>.candidate/...   sets the gate rejected

Every set sits in its own directory and is never modified after it appears (by one rename), so
any reader, the seed's plain `pickle.load` of `models/training/*.pkl` included, sees the files
of exactly one set at every moment, and rollback only repoints `current`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from src.registry.errors import ModelsDirError

# name -> path relative to a set directory; pickles are only ever unpickled after their sha256
# matched the metadata.
ARTIFACTS = {
    "lightgbm": "training/lightgbm_model.pkl",
    "xgboost": "training/xgboost_model.pkl",
    "random_forest": "training/random_forest_model.pkl",
    "production_ensemble": "production/production_ensemble.pkl",
}
REPORT = "training/training_report.html"
HASHED_FILES = {**ARTIFACTS, "report": REPORT}
# ONNX copies beside the pickles, in sets whose export passed its check (metadata `onnx`); hashed
# like every file, they are data, never code, and are what the live predictor loads.
ONNX_FILES = {
    "lightgbm_onnx": "training/lightgbm_model.onnx",
    "xgboost_onnx": "training/xgboost_model.onnx",
    "random_forest_onnx": "training/random_forest_model.onnx",
    "ensemble_onnx": "production/production_ensemble.onnx",
}
ONNX_INPUT, ONNX_OUTPUT = "features", "p_up"  # float64 [n, 12] in FEATURE_NAMES order -> [n]
METADATA = "training/training_metadata.json"
SIGNATURE = "training/training_metadata.sig"  # present only when the set was signed
SET_FILES = (*HASHED_FILES.values(), *ONNX_FILES.values(), METADATA, SIGNATURE)
SEED_DIRS = ("training", "production")
TEMP_PREFIX = ".tmp-"
# archive/.pending-<set>: written just before a promoted set appears, removed once it is live; a
# kill in between leaves it beside a set that never went live, which the next writer removes.
PENDING_PREFIX = ".pending-"


@dataclass(frozen=True)
class ModelPaths:
    root: Path  # the models directory, e.g. "models"

    def __post_init__(self) -> None:
        if str(self.root) in ("", "."):
            raise ModelsDirError(
                f"models directory {str(self.root)!r} would put models/ files into the current "
                "directory; pass a directory such as --models-dir models"
            )

    @property
    def metadata(self) -> Path:
        """The live set's metadata at its seed path."""
        return self.root / METADATA

    @property
    def current(self) -> Path:
        return self.root / "current"

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def candidates_dir(self) -> Path:
        return self.root / "candidates"

    def pending_marker(self, set_name: str) -> Path:
        return self.archive_dir / f"{PENDING_PREFIX}{set_name}"

    @property
    def lock(self) -> Path:
        return self.root / ".registry.lock"

    @property
    def training_lock(self) -> Path:
        return self.root / ".training.lock"

    def display(self, relative: str) -> str:
        """The path as recorded in metadata (relative to the working directory if given so)."""
        return str(self.root / relative)
