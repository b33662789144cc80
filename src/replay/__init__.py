"""The weekly job replayed over past Mondays: what it would have deployed, and how the live set
would have traded the week after (SPEC §15)."""

from src.replay.calendar import ReplayDataError, Week, replay_weeks
from src.replay.run import Replay, run_replay
from src.replay.store import ReplayStoreError, check_out_dir

__all__ = [
    "Replay",
    "ReplayDataError",
    "ReplayStoreError",
    "Week",
    "check_out_dir",
    "replay_weeks",
    "run_replay",
]
