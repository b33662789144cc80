"""The feature contract shared by training, the registry and inference: names, order, version.

Free of numerical dependencies, so a predictor that must not import the training libraries can
still check that features were made by the FeatureManager its models were trained with.
"""

from __future__ import annotations

from src.features.errors import FeatureError

# Bump whenever any formula, parameter, warm-up or degenerate-case rule in feature_manager.py
# changes: models record this string and refuse features of another version.
FEATURE_MANAGER_VERSION = "v3.0.0"
FEATURE_NAMES = (
    "close", "volume", "returns_1", "rsi_14", "macd", "macd_signal", "atr_14",
    "bb_position", "ema_20", "ema_50", "zscore", "volume_ratio",
)  # fmt: skip
WARMUP_BARS = 49  # TA-Lib's lookback of EMA(50), the longest one
VERSION_ATTR = "feature_manager_version"  # FeatureManager tags its frames' `attrs` with it


def check_feature_version(features, expected: str, stated: str | None = None) -> None:
    """Refuse features not made by FeatureManager `expected`.

    The version comes from the frame's `attrs` tag; a frame or array without one is refused
    unless the caller states the version (`stated`), since untagged numbers in the right shape
    may still come from another formula.
    """
    tagged = getattr(features, "attrs", {}).get(VERSION_ATTR)
    if tagged is not None and stated is not None and tagged != stated:
        raise FeatureError(
            f"the features are tagged FeatureManager {tagged}, but the caller states {stated}"
        )
    version = tagged if tagged is not None else stated
    if version is None:
        raise FeatureError(
            "the features carry no feature_manager_version: build them with "
            "FeatureManager().generate_features, or pass feature_manager_version= when you "
            f"know which FeatureManager made them (these models need {expected})"
        )
    if version != expected:
        raise FeatureError(
            f"features were made by FeatureManager {version}, but the models were trained on "
            f"{expected}; retrain or use the matching FeatureManager"
        )
