"""Hyperparameter search (Optuna) on the purged CV of the training window (SPEC §14)."""

from src.tuning.study import Tuning, check_search_space, tune

__all__ = ["Tuning", "check_search_space", "tune"]
