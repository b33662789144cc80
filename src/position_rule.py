"""The trading policy's rule: P(up) and the position held now -> the position to hold next.

Entry and exit thresholds with hysteresis: long when P(up) rises above `entry`, kept until P(up)
falls below `exit` (<= entry), so a probability hovering near one threshold does not pay a round
trip every bar; with `allow_short` the mirror rule holds below 1 - entry. No thresholds: flat.

Only numpy: the training run chooses the thresholds (src/ml/policy.py), and the live predictor
(src/inference/), which must not import the training libraries, applies the same rule.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TradingPolicy:
    entry: float | None = None  # long while P(up) > entry (None: the flat policy)
    exit: float | None = None  # a long is closed when P(up) < exit
    allow_short: bool = False

    def __post_init__(self) -> None:
        if (self.entry is None) != (self.exit is None):
            raise ValueError("a policy has both an entry and an exit threshold, or neither")
        if self.entry is None:
            return
        lowest_exit = 0.5 if self.allow_short else 0.0
        if not (0.5 <= self.entry < 1.0 and lowest_exit <= self.exit <= self.entry):
            raise ValueError(
                f"need 0.5 <= entry < 1 and {lowest_exit} <= exit <= entry; got entry "
                f"{self.entry}, exit {self.exit}"
            )

    @property
    def flat(self) -> bool:
        return self.entry is None

    def next_position(self, p_up: float, held: int = 0) -> int:
        """The position to hold over the next bar, given P(up) at this bar's close and the
        position held now (+1 long, -1 short, 0 flat). The bot calls this once per bar."""
        if self.flat:
            return 0
        if (held == 1 and p_up < self.exit) or (held == -1 and p_up > 1.0 - self.exit):
            held = 0
        if held == 0 and p_up > self.entry:
            return 1
        if held == 0 and self.allow_short and p_up < 1.0 - self.entry:
            return -1
        return held

    def positions(self, p_up: np.ndarray, segment_starts: np.ndarray) -> np.ndarray:
        """`next_position` over a series, starting flat at each segment start (after a gap)."""
        p_up = np.asarray(p_up, dtype="float64")
        if self.flat:
            return np.zeros(len(p_up))
        long = _latch(p_up > self.entry, p_up < self.exit, segment_starts)
        if not self.allow_short:
            return long
        short = _latch(p_up < 1.0 - self.entry, p_up > 1.0 - self.exit, segment_starts)
        return long - short

    def describe(self) -> str:
        if self.flat:
            return "flat (no trades)"
        side = "long and short" if self.allow_short else "long only"
        return f"{side}: enter when P(up) > {self.entry:.2f}, exit when P(up) < {self.exit:.2f}"

    def to_record(self) -> dict:
        return {"entry": self.entry, "exit": self.exit, "allow_short": self.allow_short}

    @classmethod
    def from_record(cls, record) -> TradingPolicy:
        """The policy a set's metadata (`PolicyRecord`) describes."""
        return cls(record.entry, record.exit, record.allow_short)


def _latch(on: np.ndarray, off: np.ndarray, resets: np.ndarray) -> np.ndarray:
    """1.0 from a row where `on` holds until the next row where `off` holds (or a reset)."""
    events = np.where(on, 1, np.where(off | resets, -1, 0))
    last_event = np.maximum.accumulate(np.where(events != 0, np.arange(len(events)), 0))
    return (events[last_event] == 1).astype("float64")
