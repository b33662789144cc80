"""Hyperparameter search (Optuna) on the purged CV of the training window (SPEC §14)."""

from src.tuning.checks import check_search_space, check_storage, check_tuning
from src.tuning.errors import TuningError
from src.tuning.study import Tuning, tune

__all__ = ["Tuning", "TuningError", "check_search_space", "check_storage", "check_tuning", "tune"]
