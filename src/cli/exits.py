"""The CLIs' exit codes, and the edge that maps project errors to them and alerts a failure.

Exit codes: 0 promoted (or dry-run healthy), 3 rejected by the gate or degraded,
2 bad input, config or environment (bad candles, config, missing or tampered model files, a
full, read-only or failing disk, a window too large for limits.max_rss_mib), 1 anything else.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Callable

from threadpoolctl import threadpool_limits

from src.alerts.discord import send_alert, webhook_url_from_env
from src.atomic import ENVIRONMENT_ERRNOS, StorageError
from src.compute import ComputeError
from src.config import AlertConfig, ConfigError, load_settings
from src.data.errors import CandleValidationError, DataSourceError
from src.features.errors import FeatureError
from src.inference.errors import OnnxUnavailableError, StreamStateError
from src.live.journal import JournalError
from src.ml.errors import MemoryBudgetError, TrainingDataError
from src.registry.errors import (
    IntegrityError,
    LockTimeoutError,
    MetadataError,
    MissingSigningKeyError,
    ModelsDirError,
    NoModelsError,
    RetiredSetError,
)
from src.replay import ReplayDataError, ReplayStoreError, ReplayTaskError
from src.sweep.grid import GridError
from src.tuning import TuningError

EXIT_OK, EXIT_FAILURE, EXIT_BAD_INPUT, EXIT_REJECTED = 0, 1, 2, 3
# What Dask's nanny sets for its workers: one BLAS and OpenMP thread.
_THREAD_VARIABLES = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
BAD_INPUT_ERRORS = (
    ConfigError,
    CandleValidationError,
    ComputeError,
    DataSourceError,
    FeatureError,
    NoModelsError,
    IntegrityError,
    ReplayDataError,
    ReplayStoreError,
    ReplayTaskError,
    GridError,
    MetadataError,
    MissingSigningKeyError,
    ModelsDirError,
    RetiredSetError,
    JournalError,
    StreamStateError,
    OnnxUnavailableError,
    TrainingDataError,
    MemoryBudgetError,
    StorageError,
    TuningError,
)


def notify(config: AlertConfig, title: str, lines: list[str], level: str) -> None:
    """Post to Discord if DISCORD_WEBHOOK_URL is set; never fails the run."""
    result = send_alert(title, lines, level, webhook_url_from_env(), config)
    if not result.delivered and webhook_url_from_env():
        print(f"warning: Discord alert not delivered: {result.detail}", file=sys.stderr)


def _failure_alert(title: str, exc: BaseException) -> None:
    try:
        config = load_settings().alerts
    except ConfigError:
        config = AlertConfig()
    notify(config, title, [f"{type(exc).__name__}: {exc}"], "failure")


def run_main(main: Callable[[], int]) -> None:
    """Run a CLI body, mapping project errors to the documented exit codes."""
    try:
        # Dask's workers run BLAS and OpenMP on one thread (its nanny sets OMP_NUM_THREADS=1 and
        # the like); so does this process, or a result computed here (the ensemble's weights,
        # in the 8th digit) would differ from the same task run on a worker.
        # A command's modules may be imported inside `main` (dev_check.py imports each command's
        # on first use): libraries loaded from then on read these at load, which
        # threadpool_limits, applying to those loaded already, cannot reach.
        os.environ.update(dict.fromkeys(_THREAD_VARIABLES, "1"))
        with threadpool_limits(limits=1):
            code = main()
    except BAD_INPUT_ERRORS as exc:
        print(f"error: {exc}", file=sys.stderr)
        _failure_alert("Model job stopped on bad input", exc)
        code = EXIT_BAD_INPUT
    except LockTimeoutError as exc:
        print(f"error: {exc}", file=sys.stderr)
        code = EXIT_FAILURE
    except KeyboardInterrupt:
        code = EXIT_FAILURE
    except Exception as exc:  # noqa: BLE001 - the last line of defence prints the trace
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRNOS:
            # The machine's fault (full or failing disk) at a write not wrapped above.
            print(f"error: {exc}", file=sys.stderr)
            _failure_alert("Model job stopped by its environment", exc)
            code = EXIT_BAD_INPUT
        else:
            traceback.print_exc()
            _failure_alert("Model job crashed", exc)
            code = EXIT_FAILURE
    sys.exit(code)
