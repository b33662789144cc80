"""The magnitudes candles may have, shared by the batch validation and the streaming features.

Free of numerical dependencies, so the inference path can check a single candle with the same
bounds without importing pandas.
"""

# The magnitudes the 12 features can be computed on and handed to the models safely. RandomForest
# and XGBoost cast features to float32 (largest ~3.4e38, smallest normal ~1.2e-38), and close,
# the EMAs, ATR and MACD keep the prices' magnitude (volume keeps the volumes'), so 1e30 leaves
# eight orders of headroom; the Bollinger variance squares price deviations in float64, which
# would overflow only past ~1e150. At the small end, ATR and MACD are small fractions of the
# price: from 1e-20 they stay normal float32 numbers and their squares far from float64
# underflow, while sub-satoshi prices (1e-8, 1e-12) are well inside.
MAX_MAGNITUDE = 1e30
MIN_PRICE = 1e-20
