"""The grid of a sweep: `KEY=V1,V2` options over config paths, and the setups their product
makes, each a full, validated `Settings`."""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass

import yaml
from pydantic import ValidationError

from src.config import Settings, validation_problems

# What a setup may not change, and why: the sweep judges setups on the same candles, weeks and
# machine, so only what shapes a setup's training and trading is swept.
FIXED = {
    "compute": "where tasks run never changes a result; use --workers or --scheduler",
    "alerts": "alerts do not change a result",
    "limits": "the memory limit is the machine's, not a setup's",
    "retention": "what the models directory keeps does not change a result",
    "schedule": "every setup is judged on the same Mondays",
    "data.source": "the candles come from --source",
    "data.days": "every setup trains on the same --days window",
    "data.cache_dir": "where candles are cached does not change a result",
    "data.request_timeout_s": "fetch timeouts do not change a result",
    "data.max_retries": "fetch retries do not change a result",
}


# More setups than this is a grid typed by mistake (5 keys of 10 values are 100,000 setups); it is
# refused before one of them is built.
MAX_SETUPS = 1000


class GridError(ValueError):
    """A --grid option that names no config key, a fixed one, or a value the key refuses."""


def parse_grid(options: list[str]) -> dict[str, list]:
    """`["training.label.horizon=1,4"]` -> `{"training.label.horizon": [1, 4]}`, values read as
    YAML scalars (1 is an int, 0.5 a float, true a bool, round_trip and BTC/JPY strings)."""
    grid: dict[str, list] = {}
    for option in options:
        key, sep, text = option.partition("=")
        key = key.strip()
        if not sep or not key or not text.strip():
            raise GridError(
                f"--grid {option!r} is not KEY=V1,V2,...; e.g. training.label.horizon=1,4"
            )
        if key in grid:
            raise GridError(f"--grid names {key} twice; give all its values in one option")
        values = [_scalar(key, part.strip()) for part in text.split(",")]
        if len({json.dumps(value) for value in values}) < len(values):
            raise GridError(f"--grid {key} repeats a value: {text}")
        grid[key] = values
    if not grid:
        raise GridError("give at least one --grid KEY=V1,V2,...")
    return grid


def _scalar(key: str, text: str):
    try:
        value = yaml.safe_load(text) if text else None
    except yaml.YAMLError:
        value = text
    if value is None or isinstance(value, list | dict):
        raise GridError(f"--grid {key}: {text!r} is not a single value")
    return value


@dataclass(frozen=True)
class Setup:
    values: dict  # KEY -> value, typed as in the config
    settings: Settings
    adjusted: dict  # other keys this setup had to change, e.g. the purge gap to its horizon

    @property
    def name(self) -> str:
        return shown(self.values)

    @property
    def key(self) -> str:
        """A name for its directory that survives a reordered grid: the hash of its values."""
        text = json.dumps(self.values, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:12]

    def config_diff(self, base: Settings) -> dict:
        """Each key this setup changes: {"from": the base config's value, "to": its own}."""
        changed = {**self.values, **self.adjusted}
        before = base.model_dump(mode="json")
        return {key: {"from": _get(before, key), "to": value} for key, value in changed.items()
                if _get(before, key) != value}  # fmt: skip


def shown(values: dict) -> str:
    return " ".join(f"{key}={value}" for key, value in values.items())


def _get(tree: dict, key: str):
    for part in key.split("."):
        tree = tree[part]
    return tree


def _check_key(tree: dict, key: str) -> None:
    for fixed, why in FIXED.items():
        if key == fixed or key.startswith(fixed + "."):
            raise GridError(f"--grid cannot sweep {key}: {why}")
    node, path = tree, []
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            known = ", ".join(sorted(node)) if isinstance(node, dict) else "none (a value)"
            where = ".".join(path) or "the config"
            raise GridError(f"--grid {key}: {where} has no {part!r}; its keys: {known}")
        node, path = node[part], [*path, part]
    if isinstance(node, dict):
        raise GridError(f"--grid {key} is a section, not a value; name one of its keys")


def setups(base: Settings, grid: dict[str, list]) -> list[Setup]:
    """Every combination of the grid's values, in the grid's order, each validated as a whole
    config. A horizon longer than the purge gap raises the gap to it (the config refuses the
    overlap), unless the grid sets the gap itself; the setup records the change."""
    tree = base.model_dump(mode="json")
    for key in grid:
        _check_key(tree, key)
    count = math.prod(len(values) for values in grid.values())
    if count > MAX_SETUPS:
        raise GridError(
            f"the grid makes {count:,} setups, more than {MAX_SETUPS:,}: each is a replay of "
            "--weeks trainings; sweep fewer values"
        )
    made: list[Setup] = []
    for combination in itertools.product(*grid.values()):
        setup = _setup(tree, dict(zip(grid, combination, strict=True)))
        if same := next((other for other in made if other.key == setup.key), None):
            raise GridError(f"--grid values {same.name} and {setup.name} are the same setup")
        made.append(setup)
    return made


def _setup(tree: dict, values: dict) -> Setup:
    """The config `tree` with `values` in, validated whole; its values typed as the config types
    them (a threshold given as 0 is 0.0)."""
    config = json.loads(json.dumps(tree))
    for key, value in values.items():
        *sections, leaf = key.split(".")
        _get(config, ".".join(sections))[leaf] = value
    adjusted = {}
    cv, horizon = config["training"]["cv"], config["training"]["label"]["horizon"]
    if "training.cv.gap" not in values and isinstance(horizon, int) and cv["gap"] < horizon:
        cv["gap"] = adjusted["training.cv.gap"] = horizon
    try:
        settings = Settings.model_validate(config)
    except ValidationError as exc:
        problems = validation_problems(exc)
        raise GridError(f"--grid setup {shown(values)} is not a valid config: {problems}") from exc
    validated = settings.model_dump(mode="json")
    return Setup({key: _get(validated, key) for key in values}, settings, adjusted)

