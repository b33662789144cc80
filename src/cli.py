"""What both CLIs share: common options, settings with overrides, and exit codes.

Exit codes: 0 promoted (or dry-run healthy), 3 rejected by the gate or degraded,
2 bad input or config (bad candles, config, missing or tampered model files), 1 anything else.
"""

from __future__ import annotations

import argparse
import sys
import traceback
from collections.abc import Callable
from pathlib import Path

from src.config import ConfigError, Settings, load_settings, with_overrides
from src.data.errors import CandleValidationError, DataSourceError
from src.features.errors import FeatureError
from src.registry.errors import IntegrityError, LockTimeoutError, MetadataError, NoModelsError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_REJECTED = 0, 1, 2, 3
BAD_INPUT_ERRORS = (
    ConfigError,
    CandleValidationError,
    DataSourceError,
    FeatureError,
    NoModelsError,
    IntegrityError,
    MetadataError,
)


def add_training_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--source",
        help="bitbank, sample, or a CSV/Parquet file path (default: data.source in base.yaml)",
    )
    parser.add_argument("--days", type=int, help="days of candles to fetch (bitbank)")
    parser.add_argument("--symbol", help="market symbol, e.g. BTC/JPY")
    parser.add_argument("--timeframe", help="candle timeframe, e.g. 15m")
    parser.add_argument("--seed", type=int, help="random seed for every model")
    parser.add_argument(
        "--force",
        action="store_true",
        help="promote even if the quality gate rejects (recorded in metadata)",
    )


def add_models_dir(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--models-dir",
        type=Path,
        default=Path("models"),
        help="root holding training/, production/, archive/ (default: models)",
    )


def settings_from(args: argparse.Namespace) -> Settings:
    return with_overrides(
        load_settings(),
        data={
            "source": args.source,
            "days": args.days,
            "symbol": args.symbol,
            "timeframe": args.timeframe,
        },
        training={"seed": args.seed},
    )


def run_main(main: Callable[[], int]) -> None:
    """Run a CLI body, mapping project errors to the documented exit codes."""
    try:
        code = main()
    except BAD_INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_BAD_INPUT
    except LockTimeoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_FAILURE
    except KeyboardInterrupt:
        code = EXIT_FAILURE
    except Exception:  # noqa: BLE001 - the last line of defence prints the trace
        traceback.print_exc()
        code = EXIT_FAILURE
    sys.exit(code)
