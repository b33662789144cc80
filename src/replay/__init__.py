"""The weekly job replayed over past Mondays: what it would have deployed, and how the live set
would have traded the week after (SPEC §15).

The replay itself (run.py, which trains) is imported on first use, so the CLIs' error edge
(src/cli/exits.py), which names the replay's errors, costs the light scripts
(scripts/ml/alert.py, commit_message.py) no training library.
"""

from importlib import import_module

from src.replay.calendar import ReplayDataError, Week, replay_weeks
from src.replay.store import ReplayStoreError, check_out_dir

# Exported name -> the submodule that defines it, imported when the name is first asked for.
_LAZY = {"Replay": "run", "run_replay": "run"}

__all__ = [
    "Replay",
    "ReplayDataError",
    "ReplayStoreError",
    "Week",
    "check_out_dir",
    "replay_weeks",
    "run_replay",
]


def __getattr__(name: str) -> object:  # PEP 562: runs only for names not defined above
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(f"{__name__}.{_LAZY[name]}"), name)
