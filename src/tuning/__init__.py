"""Hyperparameter search (Optuna) on the purged CV of the training window (SPEC §14).

Only the errors are imported with the package; the search and the checks (which load Optuna and
the model libraries) on first use. So the CLIs' error edge (src/cli/exits.py), which names
TuningError, costs the light scripts (scripts/ml/alert.py, commit_message.py) no training library.
"""

from src.lazy import lazy_exports
from src.tuning.errors import TuningError

# Exported name -> the submodule that defines it, imported when the name is first asked for.
_LAZY = {
    "Tuning": "study",
    "tune": "study",
    "check_search_space": "checks",
    "check_storage": "checks",
    "check_tuning": "checks",
}

__all__ = ["Tuning", "TuningError", "check_search_space", "check_storage", "check_tuning", "tune"]

__getattr__ = lazy_exports(__name__, _LAZY)
