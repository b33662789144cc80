"""The --out directory's files: strict JSON, and sets unpickled only when they match."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from src.replay.calendar import Week
from src.replay.store import ReplayStore, ReplayStoreError

WEEK = Week(pd.Timestamp("2025-01-13 09:00", tz="UTC"), pd.Timestamp("2025-01-03 09:00", tz="UTC"))


def test_an_undefined_metric_is_written_as_null(tmp_path):
    store = ReplayStore(tmp_path)
    store.save_candidate(WEEK, {"fingerprint": "f", "auc": float("nan")}, pickle.dumps({}))
    text = (tmp_path / "weeks" / f"{WEEK.key}.json").read_text()
    assert json.loads(text)["auc"] is None and "NaN" not in text


def test_a_set_that_does_not_match_its_record_is_refused(tmp_path):
    store = ReplayStore(tmp_path)
    store.save_candidate(WEEK, {"fingerprint": "f"}, pickle.dumps({"set": 1}))
    assert store.trained(WEEK, "f") and store.load_set(WEEK) == {"set": 1}
    assert not store.trained(WEEK, "other settings")
    (tmp_path / "sets" / f"{WEEK.key}.pkl").write_bytes(pickle.dumps({"set": 2}))
    assert not store.trained(WEEK, "f")
    with pytest.raises(ReplayStoreError, match="is not the set .* records"):
        store.load_set(WEEK)
