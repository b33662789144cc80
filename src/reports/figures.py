"""How a figure and the gate's verdict read in text, the same in the console, the HTML report
and the weekly workflow's commit message.

The standard library only: the commit step (scripts/ml/commit_message.py) loads no training
library through it.
"""

from __future__ import annotations

import math


def format_metric(value, spec: str = ".3f") -> str:
    """A number for display; None and NaN (a metric undefined on these rows) become "n/a"."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    return format(value, spec) if isinstance(value, float | int) else str(value)


def gate_verdict(passed: bool, forced: bool) -> str:
    if passed:
        return "PASSED"
    return "FORCED" if forced else "REJECTED"
