"""The weekly job replayed over past Mondays: what it would have deployed, and how the live set
would have traded the week after (SPEC §15)."""

from src.replay.calendar import ReplayDataError, Week, replay_weeks
from src.replay.run import Replay, run_replay

__all__ = ["Replay", "ReplayDataError", "Week", "replay_weeks", "run_replay"]
