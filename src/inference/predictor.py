"""The live set's ONNX ensemble and trading policy, loaded without unpickling anything.

`LivePredictor.load("models")` verifies the live set exactly as the registry does (the
signature over the metadata when MODEL_SIGNING_KEY is set, then every listed file's sha256 and
the set hash) before it builds anything, then loads the ensemble's ONNX copy from the verified
bytes (never re-reading the file) and the policy from the metadata. An ONNX file is data: no
code runs when it is loaded. It imports neither scikit-learn, LightGBM, XGBoost, SciPy nor
pandas; a test proves it.

The metadata is read as plain JSON here (the typed record needs pydantic and pandas): the
registry validated it when it wrote the set, and the signature and hashes vouch for its bytes.
"""

from __future__ import annotations

import json
import math
import numbers
from pathlib import Path

import numpy as np
import onnxruntime

from src.features.contract import FEATURE_MANAGER_VERSION, FEATURE_NAMES
from src.features.errors import FeatureError
from src.inference.errors import FeatureRowError, OnnxUnavailableError, PositionError
from src.inference.stream import FeatureRow
from src.position_rule import TradingPolicy
from src.registry.errors import IntegrityError, MetadataError
from src.registry.paths import METADATA, ONNX_INPUT, ONNX_OUTPUT, ModelPaths
from src.registry.retirement import Retirement, read_retirement
from src.registry.signing import SignatureStatus, SigningKey
from src.registry.verify import (
    live_set_dir,
    read_metadata_bytes,
    signature_status,
    verified_files,
)

_ENSEMBLE = "ensemble_onnx"
POSITIONS = (-1, 0, 1)


def _session(model_bytes: bytes) -> onnxruntime.InferenceSession:
    options = onnxruntime.SessionOptions()
    # One row per call on a one-CPU box: threads would only add hand-over latency.
    options.intra_op_num_threads = options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.log_severity_level = 3
    return onnxruntime.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])


def _field(record: dict, path: str, where: Path):
    value = record
    try:
        for key in path.split("."):
            value = value[key]
    except (KeyError, TypeError) as exc:
        raise MetadataError(f"{where} lacks {path}; retrain the set") from exc
    return value


class LivePredictor:
    """P(up) and the policy's position for one feature row, from a verified ONNX set."""

    def __init__(
        self,
        session: onnxruntime.InferenceSession,
        policy: TradingPolicy,
        set_path: Path,
        signature: SignatureStatus,
        metadata: dict,
        signing_key: SigningKey | None = None,
    ) -> None:
        self._session = session
        self.policy = policy
        self.set_path = set_path  # the live set's own directory
        self.signature = signature
        self.metadata = metadata  # the set's training_metadata.json, verified, as plain JSON
        self._signing_key = signing_key  # judges the set's retirement event

    @property
    def cost_per_side(self) -> float:
        """What one side of a trade was charged when the policy was chosen (fee, half the
        spread the candles implied, slippage): a live fill that costs more erodes the edge."""
        return float(self.metadata["policy"]["cost_per_side"])

    def retirement(self) -> Retirement | None:
        """The set's retirement event, read at each call: a set retired while the bot runs
        trades flat from its next decision."""
        model_hash = self.metadata["version_control"]["model_hash"]
        return read_retirement(self.set_path, model_hash, self._signing_key)

    @classmethod
    def load(cls, models_dir: Path | str = "models", signing_key: str | None = None):
        """The live set under `models_dir`, verified before anything is loaded.

        `signing_key` defaults to the MODEL_SIGNING_KEY environment variable (an empty string
        counts as none, as an empty variable does): when there is one, an unsigned or wrongly
        signed set is refused.
        """
        if signing_key is not None and not isinstance(signing_key, str):
            raise TypeError(
                f"signing_key must be the key's text (a str), got {type(signing_key).__name__}"
            )
        key = SigningKey.from_text(signing_key) if signing_key else SigningKey.from_env()
        base = live_set_dir(ModelPaths(Path(models_dir)))
        metadata_path = base / METADATA
        metadata_bytes = read_metadata_bytes(base)
        signature = signature_status(base, metadata_bytes, key)
        try:
            record = json.loads(metadata_bytes.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise MetadataError(f"{metadata_path} is not valid JSON: {exc}") from exc
        payloads = verified_files(
            base,
            _field(record, "file_hashes", metadata_path),
            _field(record, "version_control.model_hash", metadata_path),
        )
        _check_contract(record, metadata_path)
        if _ENSEMBLE not in payloads:
            reason = (record.get("onnx") or {}).get("reason", "a set from before ONNX export")
            raise OnnxUnavailableError(
                f"the live set {base} has no ONNX models ({reason}); load it with the registry "
                "(pickles) or train a set whose ONNX export passed"
            )
        thresholds = ("entry", "exit", "allow_short")
        rule = TradingPolicy(*(_field(record, f"policy.{k}", metadata_path) for k in thresholds))
        float(_field(record, "policy.cost_per_side", metadata_path))  # present, and a number
        return cls(_session(payloads[_ENSEMBLE]), rule, base, signature, record, key)

    def p_up(self, row: FeatureRow) -> float:
        """P(next close up) for one row of the 12 features (from `FeatureStream.update`)."""
        if not isinstance(row, FeatureRow):
            raise FeatureRowError(
                f"p_up takes a FeatureRow (from FeatureStream.update), got {type(row).__name__}"
            )
        if row.feature_manager_version != FEATURE_MANAGER_VERSION:
            raise FeatureError(
                f"the row was made by FeatureManager {row.feature_manager_version}, but the "
                f"models were trained on {FEATURE_MANAGER_VERSION}; use the matching features"
            )
        try:
            features = np.array(row.values, dtype="float64").reshape(1, -1)
        except (TypeError, ValueError) as exc:
            raise FeatureRowError(
                f"the row at {row.timestamp} holds values that are not numbers ({exc}); build it "
                "with FeatureStream"
            ) from exc
        if features.shape[1] != len(FEATURE_NAMES):
            raise FeatureRowError(
                f"a feature row has {len(FEATURE_NAMES)} values ({', '.join(FEATURE_NAMES)}); "
                f"got {features.shape[1]}"
            )
        if not np.isfinite(features).all():
            # The ONNX forest would route NaN differently from scikit-learn, and the boosters
            # would treat it as missing: a number the models never saw is refused instead.
            pairs = zip(FEATURE_NAMES, row.values, strict=True)
            bad = [name for name, value in pairs if not math.isfinite(value)]
            raise FeatureRowError(
                f"feature(s) {bad} are NaN or infinite at {row.timestamp}; the models need "
                "finite values: build the row with FeatureStream from valid candles"
            )
        return float(self._session.run([ONNX_OUTPUT], {ONNX_INPUT: features})[0][0])

    def position(self, row: FeatureRow, held: int = 0) -> int:
        """The position to hold over the next bar (+1 long, -1 short, 0 flat), given the one
        held now: the policy's exit threshold applies to an open position. Flat for a retired
        set."""
        _check_held(held)
        return self.next_position(self.p_up(row), held)

    def next_position(self, p_up: float, held: int = 0) -> int:
        """`position` from a P(up) already computed for the row (e.g. to record it too)."""
        _check_held(held)
        retirement = self.retirement()
        if retirement is not None and retirement.active:
            return 0
        return self.policy.next_position(p_up, int(held))


def _check_held(held) -> None:
    is_number = isinstance(held, numbers.Real) and not isinstance(held, bool)
    if not is_number or held not in POSITIONS:
        raise PositionError(
            f"held must be the position held now, one of {POSITIONS} (short, flat, long); "
            f"got {held!r}"
        )


def _check_contract(record: dict, metadata_path: Path) -> None:
    made_by = _field(record, "feature_manager_version", metadata_path)
    if made_by != FEATURE_MANAGER_VERSION:
        raise IntegrityError(
            f"{metadata_path} was trained on FeatureManager {made_by}, but this code makes "
            f"features {FEATURE_MANAGER_VERSION}; retrain the models"
        )
    if _field(record, "feature_names", metadata_path) != list(FEATURE_NAMES):
        raise IntegrityError(f"{metadata_path}: feature_names differ from {FEATURE_NAMES}")
