"""Two replays of the same weeks agree on every field but the run-specific ones."""

from __future__ import annotations

import json

from src.replay.compare import MISSING, differing_fields, week_results


def _write(out_dir, week: str, **record) -> None:
    (out_dir / "weeks").mkdir(parents=True, exist_ok=True)
    (out_dir / "weeks" / f"{week}.json").write_text(json.dumps(record))


def test_wall_time_and_the_pickle_hash_are_left_out_and_every_other_field_counts(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    common = {"ensemble_metrics": {"mcc": 0.3, "log_loss": 0.69}, "outcome": {"promoted": True}}
    _write(one, "2025-01-06T0900Z", **common, train_seconds=1.0, set_sha256="aa")
    _write(two, "2025-01-06T0900Z", **common, train_seconds=2.5, set_sha256="bb")
    _write(one, "2025-01-13T0900Z", **common, train_seconds=1.0)
    _write(two, "2025-01-13T0900Z", **{**common, "outcome": {"promoted": False}})
    _write(one, "2025-01-20T0900Z", **common)

    results = week_results(one)

    assert results["2025-01-06T0900Z"] == common
    assert differing_fields(results, week_results(two)) == {
        "2025-01-13T0900Z": ["outcome"],
        "2025-01-20T0900Z": [MISSING],
    }
    assert differing_fields(results, results) == {}
