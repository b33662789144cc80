"""Loading: every file is checked against its sha256 before anything is unpickled."""

from __future__ import annotations

import json
import pickle
import re
import types
from pathlib import Path

import numpy as np
import pytest

from src.registry.errors import IntegrityError, MetadataError, ModelsDirError, NoModelsError
from src.registry.paths import ARTIFACTS, HASHED_FILES, METADATA
from src.registry.store import Registry

ARTIFACT_NAMES = list(ARTIFACTS)


class _CreatesMarker:
    """Unpickling this calls open(marker, "w"): the marker file proves that unpickling ran."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def _flip_one_byte(path: Path, marker: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


def _plant_code_running_pickle(path: Path, marker: Path) -> None:
    path.write_bytes(pickle.dumps(_CreatesMarker(marker)))


@pytest.fixture
def registry(models_dir, trained_set) -> Registry:
    registry = Registry(models_dir)
    trained_set("A").promote(registry)
    return registry


@pytest.fixture
def no_unpickling(monkeypatch) -> list[str]:
    """Make the store's pickle module refuse to unpickle; returns the refused calls."""
    calls: list[str] = []

    def refuse(name: str):
        def call(*args, **kwargs):
            calls.append(name)
            raise AssertionError(f"pickle.{name} was called on an unverified set")

        return call

    fake = types.SimpleNamespace(load=refuse("load"), loads=refuse("loads"))
    monkeypatch.setattr("src.registry.reading.pickle", fake)
    return calls


def _rewrite_metadata(models_dir: Path, **changes) -> None:
    path = models_dir / METADATA
    metadata = json.loads(path.read_bytes())
    for key, value in changes.items():
        section, _, field = key.partition("__")
        if field:
            metadata[section][field] = value
        else:
            metadata[section] = value
    path.write_text(json.dumps(metadata))


def test_the_marker_pickle_runs_code_when_unpickled(tmp_path):
    marker = tmp_path / "unpickled"
    pickle.loads(pickle.dumps(_CreatesMarker(marker)))
    assert marker.exists()


def test_load_returns_the_promoted_set(registry, models_dir, trained_set):
    model_set = registry.load()

    expected = trained_set("A")
    assert model_set.metadata.to_dict() == json.loads((models_dir / METADATA).read_bytes())
    assert set(model_set.models) == {"lightgbm", "xgboost", "random_forest"}
    assert model_set.ensemble.model_version == "A"
    np.testing.assert_array_equal(
        model_set.ensemble.predict_proba(expected.probe),
        expected.ensemble.predict_proba(expected.probe),
    )
    assert model_set.path == models_dir / "archive" / Path(model_set.path).name
    assert (models_dir / "current").resolve() == model_set.path.resolve()


@pytest.mark.parametrize("corrupt", [_flip_one_byte, _plant_code_running_pickle])
@pytest.mark.parametrize("artifact", ARTIFACT_NAMES)
def test_a_changed_artifact_is_refused_before_unpickling(
    registry, models_dir, tmp_path, artifact, corrupt
):
    corrupt(models_dir / ARTIFACTS[artifact], tmp_path / "unpickled")  # through the seed path
    with pytest.raises(IntegrityError, match=re.escape(f"{ARTIFACTS[artifact]} does not match")):
        registry.load()
    assert not (tmp_path / "unpickled").exists()


def test_a_changed_report_is_refused(registry, models_dir):
    path = models_dir / HASHED_FILES["report"]
    _flip_one_byte(path, models_dir)

    with pytest.raises(IntegrityError, match="training_report.html does not match its sha256"):
        registry.load()


@pytest.mark.parametrize("artifact", ARTIFACT_NAMES)
def test_a_changed_artifact_reaches_no_unpickler(registry, models_dir, no_unpickling, artifact):
    _flip_one_byte(models_dir / ARTIFACTS[artifact], models_dir)

    with pytest.raises(IntegrityError, match=re.escape(ARTIFACTS[artifact])):
        registry.load()
    assert no_unpickling == []


@pytest.mark.parametrize("artifact", list(HASHED_FILES))
def test_a_missing_artifact_is_an_integrity_error(registry, models_dir, artifact):
    (models_dir / HASHED_FILES[artifact]).unlink()

    with pytest.raises(IntegrityError, match=re.escape(f"{HASHED_FILES[artifact]} is missing")):
        registry.load()


def test_another_feature_manager_version_is_refused(registry, models_dir, no_unpickling):
    _rewrite_metadata(models_dir, feature_manager_version="v0.0.0")

    with pytest.raises(IntegrityError, match="FeatureManager v0.0.0.*retrain"):
        registry.load()
    assert no_unpickling == []


def test_a_model_hash_that_disagrees_with_the_file_hashes_is_refused(
    registry, models_dir, no_unpickling
):
    _rewrite_metadata(models_dir, version_control__model_hash="sha256:" + "0" * 64)

    with pytest.raises(IntegrityError, match="model_hash does not match its file_hashes"):
        registry.load()
    assert no_unpickling == []


def _without_file_hashes(metadata_bytes: bytes) -> bytes:
    metadata = json.loads(metadata_bytes)
    del metadata["file_hashes"]
    return json.dumps(metadata).encode()


def _with_short_hash(metadata_bytes: bytes) -> bytes:
    metadata = json.loads(metadata_bytes)
    metadata["file_hashes"]["xgboost"] = "sha256:abc"
    return json.dumps(metadata).encode()


@pytest.mark.parametrize(
    ("rewrite", "message"),
    [
        (lambda data: data[: len(data) // 2], "is not valid JSON"),
        (lambda data: b"\xff\xfe" + data, "is not valid JSON"),
        (lambda data: b"[]", "must hold a JSON object"),
        (_without_file_hashes, "lacks \\['file_hashes'\\]: it was not written by the registry"),
        (_with_short_hash, r"file_hashes/xgboost: String should match pattern"),
    ],
    ids=["truncated", "not-utf8", "array", "no-file-hashes", "bad-hash-format"],
)
def test_invalid_metadata_is_a_metadata_error(
    registry, models_dir, no_unpickling, rewrite, message
):
    path = models_dir / METADATA
    path.write_bytes(rewrite(path.read_bytes()))

    with pytest.raises(MetadataError, match=re.escape(METADATA) + ".*" + message):
        registry.load()
    assert no_unpickling == []


@pytest.mark.parametrize("method", ["load", "history"])
@pytest.mark.parametrize("exists", [True, False], ids=["empty-dir", "no-dir"])
def test_no_set_is_no_models_error_and_creates_nothing(tmp_path, method, exists):
    models_dir = tmp_path / "models"
    if exists:
        models_dir.mkdir()

    if method == "load":
        with pytest.raises(NoModelsError, match=re.escape(str(models_dir))):
            Registry(models_dir).load()
    else:
        assert Registry(models_dir).history() == []
    assert list(tmp_path.rglob("*")) == ([models_dir] if exists else [])


def _tree(root: Path) -> dict[str, tuple[int, int]]:
    return {
        str(path.relative_to(root)): (path.lstat().st_size, path.lstat().st_mtime_ns)
        for path in sorted(root.rglob("*"))
    }


def test_loading_takes_no_lock_and_changes_nothing(registry, models_dir):
    registry.paths.lock.unlink()  # e.g. a set checked out from git, where lock files are ignored
    before = _tree(models_dir)

    registry.load()
    registry.history()

    assert _tree(models_dir) == before


def test_loading_and_history_work_on_a_read_only_models_dir(registry, models_dir, read_only):
    with read_only(models_dir):
        assert registry.load().ensemble.model_version == "A"
        assert [version.live for version in registry.history()] == [True]


@pytest.mark.parametrize("under_a_file", [False, True], ids=["is-a-file", "under-a-file"])
def test_a_models_dir_that_is_a_file_is_named(tmp_path, under_a_file):
    blocker = tmp_path / "models"
    blocker.write_text("not a directory")
    models_dir = blocker / "inner" if under_a_file else blocker

    registry = Registry(models_dir)

    with pytest.raises(ModelsDirError, match=re.escape(str(blocker)) + ".* a file"):
        registry.load() if not under_a_file else registry.training_session().__enter__()
