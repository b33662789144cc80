"""Hyperparameter search (Optuna) on the purged CV of the training window (SPEC §14).

Only the errors are imported with the package; the search and the checks (which load Optuna and
the model libraries) on first use. So the CLIs' error edge (src/cli/exits.py), which names
TuningError, costs the light scripts (scripts/ml/alert.py, commit_message.py) no training library.
"""

from importlib import import_module

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


def __getattr__(name: str) -> object:  # PEP 562: runs only for names not defined above
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
