"""LivePredictor: the verified ONNX ensemble and the saved policy, never a pickle."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from src.features.contract import FEATURE_NAMES, WARMUP_BARS
from src.features.errors import FeatureError
from src.inference import FeatureRow, LivePredictor
from src.inference import predictor as predictor_module
from src.inference.errors import FeatureRowError, OnnxUnavailableError, PositionError
from src.registry.errors import IntegrityError, SignatureError
from src.registry.paths import METADATA, ONNX_FILES
from src.registry.signing import SIGNING_KEY_ENV
from src.registry.store import Registry

REPO_ROOT = Path(__file__).resolve().parents[3]
KEY, OTHER_KEY = "the bot's signing key", "somebody else's key"


@pytest.fixture
def live(models_dir, trained_set, monkeypatch):
    monkeypatch.delenv(SIGNING_KEY_ENV, raising=False)
    trained_set("A").promote(Registry(models_dir))
    return models_dir


@pytest.fixture
def no_session(monkeypatch):
    """Fails the test if an ONNX model is handed to onnxruntime."""
    built = []
    monkeypatch.setattr(predictor_module, "_session", lambda data: built.append(data))
    return built


def _rows(trained_set) -> list[FeatureRow]:
    probe = trained_set("A").probe
    return [
        FeatureRow(timestamp.to_pydatetime(), tuple(values))
        for timestamp, values in zip(probe.index, probe.to_numpy().tolist(), strict=True)
    ]


def test_p_up_equals_the_pickled_ensemble_on_the_sets_rows(live, trained_set):
    predictor = LivePredictor.load(live)
    pickled = Registry(live).load().ensemble.predict_proba(trained_set("A").probe)[:, 1]

    onnx = [predictor.p_up(row) for row in _rows(trained_set)]

    np.testing.assert_allclose(onnx, pickled, rtol=0, atol=1e-6)


def test_position_follows_the_saved_policy_as_the_registry_does(live, trained_set):
    # An unsigned set's metadata can be edited: give it a trading policy to follow.
    metadata_path = live / METADATA
    record = json.loads(metadata_path.read_bytes())
    record["policy"].update(entry=0.5, exit=0.45)
    metadata_path.write_text(json.dumps(record))
    predictor, model_set = LivePredictor.load(live), Registry(live).load()
    probe = trained_set("A").probe

    held_onnx = held_pickle = 0
    positions = []
    for position, row in enumerate(_rows(trained_set)):
        held_onnx = predictor.position(row, held_onnx)
        held_pickle = model_set.position(probe.iloc[: position + 1], held_pickle)
        assert held_onnx == held_pickle
        positions.append(held_onnx)
    assert predictor.policy == model_set.policy
    assert set(positions) == {0, 1}  # the rule was exercised both ways
    # The cost the policy was chosen with, spread included, travels with it to the bot.
    assert predictor.cost_per_side == record["policy"]["cost_per_side"]
    assert predictor.cost_per_side == record["costs"]["cost_per_side"] > record["costs"]["fee_rate"]


@pytest.mark.parametrize("name", list(ONNX_FILES))
def test_a_tampered_onnx_file_is_refused_before_anything_is_loaded(live, no_session, name):
    path = live / ONNX_FILES[name]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.unlink()  # the set's files are read-only links into the archive: replace, not edit
    path.write_bytes(bytes(data))

    with pytest.raises(IntegrityError, match=f"{ONNX_FILES[name]} does not match its sha256"):
        LivePredictor.load(live)
    assert no_session == []


@pytest.mark.parametrize(
    ("signed_with", "loaded_with", "message"),
    [
        (None, KEY, "is unsigned, but MODEL_SIGNING_KEY is set"),
        (OTHER_KEY, KEY, "was signed with key"),
    ],
)
def test_a_set_whose_signature_fails_is_refused_before_anything_is_loaded(
    models_dir, trained_set, no_session, monkeypatch, signed_with, loaded_with, message
):
    from src.registry.signing import SigningKey

    trained_set("A").promote(Registry(models_dir, signing_key=SigningKey.from_text(signed_with)))
    monkeypatch.setenv(SIGNING_KEY_ENV, loaded_with)

    with pytest.raises(SignatureError, match=message):
        LivePredictor.load(models_dir)
    assert no_session == []


def test_rewritten_hashes_beside_a_tampered_onnx_file_do_not_pass_the_signature(
    models_dir, trained_set, no_session, monkeypatch
):
    from src.atomic import sha256_hex
    from src.registry.signing import SigningKey
    from src.registry.verify import set_hash

    trained_set("A").promote(Registry(models_dir, signing_key=SigningKey.from_text(KEY)))
    onnx_path = models_dir / ONNX_FILES["ensemble_onnx"]
    forged = onnx_path.read_bytes() + b"\0"
    onnx_path.unlink()
    onnx_path.write_bytes(forged)
    record = json.loads((models_dir / METADATA).read_bytes())
    record["file_hashes"]["ensemble_onnx"] = f"sha256:{sha256_hex(forged)}"
    record["version_control"]["model_hash"] = set_hash(record["file_hashes"])
    (models_dir / METADATA).unlink()
    (models_dir / METADATA).write_text(json.dumps(record))
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)

    with pytest.raises(SignatureError, match="the signature does not match"):
        LivePredictor.load(models_dir)
    assert no_session == []


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")])
def test_a_row_with_nan_or_inf_is_refused_naming_the_feature(live, trained_set, bad):
    row = _rows(trained_set)[0]
    values = list(row.values)
    values[FEATURE_NAMES.index("rsi_14")] = bad

    with pytest.raises(FeatureRowError, match=r"feature\(s\) \['rsi_14'\] are NaN or infinite"):
        LivePredictor.load(live).p_up(FeatureRow(row.timestamp, tuple(values)))


def test_a_row_of_another_feature_version_or_length_is_refused(live, trained_set):
    predictor, row = LivePredictor.load(live), _rows(trained_set)[0]
    with pytest.raises(FeatureError, match="made by FeatureManager v0"):
        predictor.p_up(FeatureRow(row.timestamp, row.values, feature_manager_version="v0"))
    with pytest.raises(FeatureRowError, match="has 12 values"):
        predictor.p_up(FeatureRow(row.timestamp, row.values[:11]))


def test_a_rollback_brings_back_the_onnx_models_of_the_restored_set(models_dir, trained_set):
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    first = [LivePredictor.load(models_dir).p_up(row) for row in _rows(trained_set)]
    trained_set("B").promote(registry)
    second = [LivePredictor.load(models_dir).p_up(row) for row in _rows(trained_set)]

    registry.rollback()

    assert first != second
    assert [LivePredictor.load(models_dir).p_up(row) for row in _rows(trained_set)] == first


def test_the_inference_path_imports_no_training_library_nor_pandas(live):
    script = textwrap.dedent(
        f"""
        import sys
        from datetime import datetime, timedelta, timezone
        from src.inference import FeatureStream, LivePredictor

        start = datetime(2025, 1, 1, tzinfo=timezone.utc)
        candles = [
            {{"timestamp": start + timedelta(minutes=15 * i), "open": 1.5e7 + i,
              "high": 1.5e7 + i + 50, "low": 1.5e7 + i - 50, "close": 1.5e7 + i + 10,
              "volume": 1.0 + i % 7}}
            for i in range({WARMUP_BARS + 60})
        ]
        predictor = LivePredictor.load({str(live)!r})
        stream = FeatureStream.from_candles(candles[:-1])
        position = predictor.position(stream.update(candles[-1]))
        heavy = ("sklearn", "lightgbm", "xgboost", "scipy", "pandas")
        print(sorted({{m.split(".")[0] for m in sys.modules}} & set(heavy)), position)
        """
    )
    completed = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, SIGNING_KEY_ENV: ""},
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.split() == ["[]", "0"]


def test_a_set_from_before_onnx_export_loads_as_pickles_and_the_predictor_says_why_not(
    models_dir, trained_set
):
    trained = trained_set("A")
    older = trained.metadata.model_copy(update={"onnx": None, "schema_version": 3})
    registry = Registry(models_dir)
    registry.promote(trained.models, trained.ensemble, older, trained.report_html)

    assert registry.load().metadata.onnx is None
    with pytest.raises(OnnxUnavailableError, match="has no ONNX models .a set from before ONNX"):
        LivePredictor.load(models_dir)


def test_an_empty_signing_key_argument_does_not_turn_verification_off(
    live, no_session, monkeypatch
):
    monkeypatch.setenv(SIGNING_KEY_ENV, KEY)  # the live set is unsigned

    with pytest.raises(SignatureError, match="is unsigned, but MODEL_SIGNING_KEY is set"):
        LivePredictor.load(live, signing_key="")
    with pytest.raises(TypeError, match="signing_key must be the key's text"):
        LivePredictor.load(live, signing_key=KEY.encode())
    assert no_session == []


@pytest.mark.parametrize("held", [5, -2, 0.5, True, "1", None])
def test_a_held_position_that_is_none_of_short_flat_long_is_refused(live, trained_set, held):
    with pytest.raises(PositionError, match=r"one of \(-1, 0, 1\)"):
        LivePredictor.load(live).position(_rows(trained_set)[0], held=held)


def test_p_up_refuses_what_is_not_a_row_of_numbers(live, trained_set):
    predictor, row = LivePredictor.load(live), _rows(trained_set)[0]
    with pytest.raises(FeatureRowError, match="p_up takes a FeatureRow .*got dict"):
        predictor.p_up(row.as_dict())
    with pytest.raises(FeatureRowError, match="holds values that are not numbers"):
        predictor.p_up(FeatureRow(row.timestamp, ("abc",) * len(FEATURE_NAMES)))
    assert predictor.position(row, held=np.int64(1)) in (0, 1)  # numpy integers are positions
