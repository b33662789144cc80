"""training_metadata.json: JSON Schema validation on every write and read, canonical bytes."""

from __future__ import annotations

import json
import math
from functools import cache
from pathlib import Path

import jsonschema

from src.atomic import sha256_hex
from src.registry.errors import MetadataError

SCHEMA_PATH = Path(__file__).with_name("training_metadata.schema.json")


@cache
def _validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def _json_safe(value):
    # JSON has no NaN: an undefined metric (e.g. ROC-AUC on one class) is written as null.
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    return value


def validate_metadata(metadata: dict, source: str = "metadata") -> dict:
    errors = sorted(_validator().iter_errors(metadata), key=lambda error: list(error.path))
    if errors:
        problems = "; ".join(
            f"{'/'.join(str(part) for part in error.path) or '(top)'}: {error.message}"
            for error in errors[:5]
        )
        raise MetadataError(f"{source} breaks {SCHEMA_PATH.name}: {problems}")
    return metadata


def metadata_to_bytes(metadata: dict) -> bytes:
    """Validated, canonical JSON (sorted keys) so equal metadata gives equal bytes and hashes."""
    safe = validate_metadata(_json_safe(metadata))
    return (json.dumps(safe, indent=2, sort_keys=True, ensure_ascii=False) + "\n").encode("utf-8")


def metadata_from_bytes(data: bytes, source: str) -> dict:
    try:
        metadata = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MetadataError(f"{source} is not valid JSON: {exc}; restore it with rollback") from exc
    if not isinstance(metadata, dict):
        raise MetadataError(f"{source} must hold a JSON object")
    return validate_metadata(metadata, source)


def set_hash(file_hashes: dict[str, str]) -> str:
    """One hash naming the whole set: sha256 over the sorted per-file hashes."""
    canonical = json.dumps(file_hashes, sort_keys=True).encode()
    return f"sha256:{sha256_hex(canonical)}"
