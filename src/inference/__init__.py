"""What the live bot imports: streaming features and a predictor that never unpickles.

Loaded on first use (src/lazy.py): the CLIs' error edge names this room's errors without loading
ONNX Runtime."""

from src.lazy import lazy_exports

__all__ = ["FeatureRow", "FeatureStream", "LivePredictor"]

__getattr__ = lazy_exports(
    __name__, {"FeatureRow": "stream", "FeatureStream": "stream", "LivePredictor": "predictor"}
)
