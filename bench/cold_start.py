"""One bot start, as a child process of bench/inference.py: load, take one candle, print the
position and this process's peak RSS. The parent times it from Popen to the printed line.

    python bench/cold_start.py onnx   MODELS_DIR STATE.json CANDLE.json   # restored stream
    python bench/cold_start.py seeded MODELS_DIR HISTORY.csv CANDLE.json  # seeded from 500 bars
    python bench/cold_start.py pickle MODELS_DIR HISTORY.csv CANDLE.json  # today's path

Each mode imports only what its path needs, so the figures include those imports. The peak RSS
is the kernel's VmHWM of this program: wait4's ru_maxrss would also count the parent's memory,
which the child briefly mapped between fork and exec.
"""

import json
import sys


def onnx(models_dir: str, state: str, candle: dict) -> int:
    from src.inference import FeatureStream, LivePredictor

    predictor = LivePredictor.load(models_dir)
    stream = FeatureStream.restore(state)
    return predictor.position(stream.update(candle))


def seeded(models_dir: str, history_csv: str, candle: dict) -> int:
    import csv

    from src.inference import FeatureStream, LivePredictor

    predictor = LivePredictor.load(models_dir)
    with open(history_csv, newline="") as handle:
        stream = FeatureStream.from_candles(list(csv.DictReader(handle)))
    return predictor.position(stream.update(candle))


def pickle(models_dir: str, history_csv: str, candle: dict) -> int:
    import pandas as pd

    from src.features.feature_manager import FeatureManager
    from src.registry.store import Registry

    model_set = Registry(models_dir).load()
    history = pd.read_csv(history_csv, index_col="timestamp", parse_dates=True)
    new = pd.DataFrame([candle]).set_index("timestamp")
    new.index = pd.to_datetime(new.index, utc=True)
    features = FeatureManager().generate_features(pd.concat([history, new]))
    return model_set.position(features)


if __name__ == "__main__":
    mode, models_dir, source, candle_path = sys.argv[1:5]
    with open(candle_path) as handle:
        candle = json.load(handle)
    modes = {"onnx": onnx, "seeded": seeded, "pickle": pickle}
    position = modes[mode](models_dir, source, candle)
    with open("/proc/self/status") as status:
        peak_kib = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
    print(position, peak_kib, flush=True)
