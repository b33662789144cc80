"""What the tuning settings must hold before any candles are read: a search space the run can
search, and an Optuna storage it can open."""

from __future__ import annotations

import os
from pathlib import Path

from src.config import BASE_CONFIG_PATH, MODEL_NAMES, Choice, ConfigError, Settings, TuningConfig
from src.ml.models import validate_model_params

_STORAGE_EXAMPLES = "e.g. sqlite:///tuning.db, or null to keep the studies in memory"


def check_tuning(settings: Settings) -> None:
    """`check_search_space` and `check_storage` for settings whose tuning is on."""
    check_search_space(settings)
    check_storage(settings.tuning.storage)


def check_search_space(settings: Settings) -> None:
    """Raise `ConfigError` unless every tuned parameter has an untuned value in training.models
    inside its range (trial 0), and the libraries accept both ends of every range."""
    training = settings.training
    for name in MODEL_NAMES:
        defaults = getattr(training.models, name)
        for param, dimension in getattr(settings.tuning.search_space, name).items():
            where = f"tuning.search_space.{name}.{param}"
            if param not in defaults:
                raise ConfigError(
                    f"{where}: training.models.{name} has no {param}; give it the untuned value "
                    f"there (trial 0 of the search) in {BASE_CONFIG_PATH}"
                )
            if not _contains(dimension, defaults[param]):
                raise ConfigError(
                    f"{where}: the untuned value {defaults[param]!r} lies outside the range; "
                    f"widen the range or change training.models.{name}.{param}"
                )
    for end in (0, -1):
        validate_model_params(_at_range_end(training, settings.tuning, end), "tuning.search_space")


def check_storage(url: str | None) -> None:
    """Raise `ConfigError` unless `url` (tuning.storage) is a database URL whose driver is
    installed and, for SQLite, whose file can be created. The URL may hold a password, so the
    messages name only its kind and, for SQLite, its file."""
    if url is None:
        return
    # Imported here: SQLAlchemy comes with Optuna but costs ~0.2 s, and only a storage needs it.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    kind = url.split(":", 1)[0]
    try:
        parsed = make_url(url)
        parsed.get_dialect().import_dbapi()
    except NoSuchModuleError as exc:
        raise ConfigError(
            f"tuning.storage: {kind!r} is not a database SQLAlchemy knows; {_STORAGE_EXAMPLES}"
        ) from exc
    except ArgumentError as exc:
        raise ConfigError(f"tuning.storage is not a database URL; {_STORAGE_EXAMPLES}") from exc
    except ImportError as exc:
        raise ConfigError(
            f"tuning.storage: a {kind} database needs the Python driver {exc.name!r}, which is "
            f"not installed; install it into .venv, or use sqlite:///tuning.db"
        ) from exc
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        _check_sqlite_file(Path(parsed.database))


def _check_sqlite_file(path: Path) -> None:
    folder = path.parent
    if path.is_dir():
        raise ConfigError(f"tuning.storage: the SQLite file {path} is a directory; name a file")
    if not folder.is_dir():
        raise ConfigError(
            f"tuning.storage: the SQLite file's directory {folder} does not exist; create it or "
            "name a file in an existing one"
        )
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(
            f"tuning.storage: cannot create the SQLite file {path}: {folder} is not writable"
        )


def _contains(dimension, value) -> bool:
    if isinstance(dimension, Choice):
        return value in dimension.choices
    return dimension.low <= value <= dimension.high


def _range_ends(dimension) -> list:
    return dimension.choices if isinstance(dimension, Choice) else [dimension.low, dimension.high]


def _at_range_end(training, tuning: TuningConfig, end: int):
    """training with every tuned parameter at the first (0) or last (-1) end of its range."""
    models = {
        name: {
            **getattr(training.models, name),
            **{
                param: _range_ends(dimension)[end]
                for param, dimension in getattr(tuning.search_space, name).items()
            },
        }
        for name in MODEL_NAMES
    }
    return training.model_copy(update={"models": type(training.models)(**models)})
