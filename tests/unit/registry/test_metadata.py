"""training_metadata.json as a typed record: a lossless round trip and a schema others can use."""

from __future__ import annotations

import json

import jsonschema
import pytest

from src.registry.errors import MetadataError
from src.registry.metadata import (
    SCHEMA_PATH,
    TrainingMetadata,
    generated_schema,
    metadata_from_bytes,
    metadata_to_bytes,
)
from src.registry.paths import METADATA
from src.registry.store import Registry


@pytest.fixture
def written(models_dir, trained_set) -> bytes:
    trained_set("A").promote(Registry(models_dir))
    return (models_dir / METADATA).read_bytes()


def test_the_record_round_trips_to_the_same_json_and_bytes(written):
    as_dict = json.loads(written)

    record = TrainingMetadata.from_dict(as_dict)

    assert record.to_dict() == as_dict
    assert metadata_to_bytes(record) == written
    assert metadata_from_bytes(written, "written") == record


def test_the_committed_schema_is_the_one_the_record_generates():
    committed = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert committed == generated_schema(), (
        "regenerate it: python -c 'import json; from src.registry.metadata import "
        "generated_schema, SCHEMA_PATH; SCHEMA_PATH.write_text(json.dumps(generated_schema(), "
        "indent=2, sort_keys=True) + chr(10))'"
    )


def test_a_reader_in_another_language_can_validate_with_the_committed_schema(written):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(json.loads(written))
    broken = {**json.loads(written), "training_samples": "many"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(schema).validate(broken)


def test_undefined_metrics_are_null_in_json(written):
    as_dict = json.loads(written)
    as_dict["ensemble_metrics"]["roc_auc"] = float("nan")

    record = TrainingMetadata.from_dict(as_dict)

    assert record.ensemble_metrics.roc_auc is None
    assert record.to_dict()["ensemble_metrics"]["roc_auc"] is None


def test_an_unknown_key_is_refused(written):
    with pytest.raises(MetadataError, match="extra_key: Extra inputs are not permitted"):
        metadata_from_bytes(json.dumps({**json.loads(written), "extra_key": 1}).encode(), "x")


def test_a_version_4_record_without_the_weight_choice_still_reads(written):
    as_dict = json.loads(written)
    assert as_dict["ensemble_metrics"]["weight_choice"]["chosen_on"].startswith("out-of-fold")
    as_dict["schema_version"] = 4
    del as_dict["ensemble_metrics"]["weight_choice"]

    record = metadata_from_bytes(json.dumps(as_dict).encode(), "a version 4 record")

    assert record.schema_version == 4
    assert record.ensemble_metrics.weight_choice is None
