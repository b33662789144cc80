"""Where each artifact of a model set lives, relative to the models directory (seed layout)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# name -> path relative to the models directory; pickles are only ever unpickled after their
# sha256 matched the metadata, which is always written last.
ARTIFACTS = {
    "lightgbm": "training/lightgbm_model.pkl",
    "xgboost": "training/xgboost_model.pkl",
    "random_forest": "training/random_forest_model.pkl",
    "production_ensemble": "production/production_ensemble.pkl",
}
REPORT = "training/training_report.html"
HASHED_FILES = {**ARTIFACTS, "report": REPORT}
METADATA = "training/training_metadata.json"
SET_FILES = (*HASHED_FILES.values(), METADATA)


@dataclass(frozen=True)
class ModelPaths:
    root: Path  # the models directory, e.g. "models"

    def live(self, relative: str) -> Path:
        return self.root / relative

    @property
    def metadata(self) -> Path:
        return self.root / METADATA

    @property
    def archive_dir(self) -> Path:
        return self.root / "archive"

    @property
    def candidates_dir(self) -> Path:
        return self.root / "candidates"

    @property
    def lock(self) -> Path:
        return self.root / ".registry.lock"

    @property
    def training_lock(self) -> Path:
        return self.root / ".training.lock"

    @property
    def staging(self) -> Path:
        return self.root / ".staging"

    @property
    def journal(self) -> Path:
        return self.root / ".promotion.json"

    def display(self, relative: str) -> str:
        """The path as recorded in metadata (relative to the working directory if given so)."""
        return str(self.root / relative)
