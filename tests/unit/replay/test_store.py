"""The --out directory's files: strict JSON, and sets unpickled only when they match."""

from __future__ import annotations

import json
import pickle

import pandas as pd
import pytest

from src.registry.signing import SigningKey
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


@pytest.mark.parametrize("text", ["{}", "[]", "null", '"a string"', "\xff\xfe"])
def test_a_week_file_that_is_no_record_means_the_week_is_not_trained(tmp_path, text):
    store = ReplayStore(tmp_path)
    store.save_candidate(WEEK, {"fingerprint": "f"}, pickle.dumps({"set": 1}))
    (tmp_path / "weeks" / f"{WEEK.key}.json").write_bytes(text.encode("latin-1"))
    assert not store.trained(WEEK, "f")


def test_with_a_key_only_a_set_the_key_signed_is_unpickled(tmp_path):
    signed = ReplayStore(tmp_path, SigningKey.from_text("k"))
    signed.save_candidate(WEEK, {"fingerprint": "f"}, pickle.dumps({"set": 1}))
    assert signed.trained(WEEK, "f") and signed.load_set(WEEK) == {"set": 1}
    assert ReplayStore(tmp_path).trained(WEEK, "f")  # without a key: the sha256 alone

    other = ReplayStore(tmp_path, SigningKey.from_text("another key"))
    assert not other.trained(WEEK, "f")
    assert other.untrusted == {WEEK.key: "not signed with MODEL_SIGNING_KEY's key"}
    with pytest.raises(ReplayStoreError, match="with a valid signature; delete both"):
        other.load_set(WEEK)
    (tmp_path / "sets" / f"{WEEK.key}.sig").unlink()
    assert not signed.trained(WEEK, "f")
    assert signed.untrusted == {WEEK.key: "unsigned, but MODEL_SIGNING_KEY is set"}
