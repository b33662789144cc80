"""What two replays of the same weeks must agree on, wherever their weeks were trained (SPEC §14:
results do not depend on the number of workers): every field of every week's record but those
that describe the run rather than the week."""

from __future__ import annotations

import json
from pathlib import Path

# The training's wall time, and the sha256 of the week's pickled set: the set's bytes also record
# which of its numpy dtypes are one object, and that differs where the candles arrived
# unpickled (on a Dask worker) from where they were made. Compare the sets by content instead.
RUN_SPECIFIC_FIELDS = frozenset({"train_seconds", "set_sha256"})
MISSING = "(missing)"


def week_results(out_dir: Path) -> dict[str, dict]:
    """Each week's record in `out_dir`/weeks/, by week, without RUN_SPECIFIC_FIELDS."""
    records = {
        path.stem: json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(Path(out_dir, "weeks").glob("*.json"))
    }
    return {
        week: {key: value for key, value in record.items() if key not in RUN_SPECIFIC_FIELDS}
        for week, record in records.items()
    }


def differing_fields(results: dict[str, dict], other: dict[str, dict]) -> dict[str, list[str]]:
    """Week -> the fields whose values differ between two `week_results`; [MISSING] for a week
    only one of them holds. Empty when the replays agree."""
    differences = {}
    for week in sorted(results.keys() | other.keys()):
        if week not in results or week not in other:
            differences[week] = [MISSING]
            continue
        fields = results[week].keys() | other[week].keys()
        differing = sorted(f for f in fields if results[week].get(f) != other[week].get(f))
        if differing:
            differences[week] = differing
    return differences
