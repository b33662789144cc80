"""The weekly job replayed over past Mondays: what it would have deployed, and how the live set
would have traded the week after (SPEC §15).

The replay itself (run.py, which trains) is imported on first use, so the CLIs' error edge
(src/cli/exits.py), which names the replay's errors, costs the light scripts
(scripts/ml/alert.py, commit_message.py) no training library.
"""

from src.lazy import lazy_exports
from src.replay.calendar import ReplayDataError, Week, replay_weeks
from src.replay.errors import ReplayTaskError
from src.replay.store import ReplayStoreError, check_out_dir

# Exported name -> the submodule that defines it, imported when the name is first asked for.
_LAZY = {"Replay": "run", "run_replay": "run"}

__all__ = [
    "Replay",
    "ReplayDataError",
    "ReplayStoreError",
    "ReplayTaskError",
    "Week",
    "check_out_dir",
    "replay_weeks",
    "run_replay",
]

__getattr__ = lazy_exports(__name__, _LAZY)
