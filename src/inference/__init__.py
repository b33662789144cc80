"""What the live bot imports: streaming features and a predictor that never unpickles."""

from src.inference.predictor import LivePredictor
from src.inference.stream import FeatureRow, FeatureStream

__all__ = ["FeatureRow", "FeatureStream", "LivePredictor"]
