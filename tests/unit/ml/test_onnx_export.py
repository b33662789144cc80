"""ONNX export: equal to the pickles within the bound, float64 splits, pickle-only when not."""

from __future__ import annotations

import numpy as np
import pytest

from src.config import MODEL_NAMES
from src.inference import LivePredictor
from src.inference.errors import OnnxUnavailableError
from src.ml import onnx_export
from src.ml.onnx_export import export_onnx, onnx_p_up
from src.registry.metadata import OnnxRecord
from src.registry.store import Registry
from src.reports.console import run_summary


def test_every_exported_model_equals_its_pickled_object_within_the_bound(trained_set):
    trained = trained_set("A")
    features = trained.probe.to_numpy()
    record = trained.metadata.onnx

    pickled = {
        name: trained.models[name].predict_proba(trained.probe)[:, 1] for name in MODEL_NAMES
    }
    pickled["ensemble"] = trained.ensemble.predict_proba(trained.probe)[:, 1]

    assert record.status == "exported" and record.rows_compared > 0
    assert "ONNX copies exported: max |P(up) ONNX - pickle|" in run_summary(trained.metadata)
    assert sorted(trained.onnx_files) == sorted(f"{name}_onnx" for name in pickled)
    for name, expected in pickled.items():
        np.testing.assert_allclose(
            onnx_p_up(trained.onnx_files[f"{name}_onnx"], features), expected, rtol=0, atol=1e-6
        )
        assert record.max_abs_diff[name] <= onnx_export.MAX_ABS_DIFF


def test_lightgbm_splits_at_raw_prices_are_taken_in_float64(trained_set):
    # At 1.5e7 yen float32 has whole-yen steps: a price a hair above a split threshold would
    # round onto it and take the left branch. Probe every threshold and the next double above.
    trained = trained_set("A")
    booster = trained.models["lightgbm"].estimator.booster_
    splits = []

    def collect(node):
        if "split_feature" in node:
            splits.append((node["split_feature"], node["threshold"]))
            collect(node["left_child"])
            collect(node["right_child"])

    for tree in booster.dump_model()["tree_info"]:
        collect(tree["tree_structure"])
    base = trained.probe.iloc[[0]]
    rows = []
    for feature, threshold in splits:
        for value in (threshold, np.nextafter(threshold, np.inf)):
            row = base.copy()
            row.iloc[0, feature] = value
            rows.append(row)
    probe = base.__class__(np.vstack([row.to_numpy() for row in rows]), columns=base.columns)
    probe.attrs.update(base.attrs)
    assert max(abs(threshold) for _, threshold in splits) > 1e6  # price splits are among them

    onnx = onnx_p_up(trained.onnx_files["lightgbm_onnx"], probe.to_numpy())

    np.testing.assert_allclose(
        onnx, trained.models["lightgbm"].predict_proba(probe)[:, 1], rtol=0, atol=1e-6
    )


def test_an_export_beyond_the_bound_is_refused_and_the_set_is_pickle_only(
    monkeypatch, models_dir, trained_set
):
    trained = trained_set("B")
    monkeypatch.setattr(onnx_export, "MAX_ABS_DIFF", 0.0)  # float32 outputs never meet 0

    refused = export_onnx(trained.models, trained.ensemble, trained.probe)

    assert refused.files == {}
    assert refused.record["status"] == "pickle-only"
    assert "differs from the pickle by" in refused.record["reason"]
    metadata = trained.metadata.model_copy(update={"onnx": OnnxRecord(**refused.record)})
    assert "ONNX copies REFUSED, the set is pickle-only: ONNX" in run_summary(metadata)
    registry = Registry(models_dir)
    registry.promote(trained.models, trained.ensemble, metadata, trained.report_html)
    assert registry.load().metadata.onnx.status == "pickle-only"  # the pickles still load
    with pytest.raises(OnnxUnavailableError, match="has no ONNX models .*differs from the pickle"):
        LivePredictor.load(models_dir)
