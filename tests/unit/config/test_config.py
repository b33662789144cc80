"""The typed config: the shipped files load, and every bad file is an error naming the problem."""

from __future__ import annotations

import json
import shutil

import pytest

from src.config import (
    BASE_CONFIG_PATH,
    REPO_ROOT,
    THRESHOLDS_PATH,
    ComputeConfig,
    ConfigError,
    load_settings,
    with_overrides,
)


@pytest.fixture
def config_root(tmp_path):
    for relative in (BASE_CONFIG_PATH, THRESHOLDS_PATH):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(REPO_ROOT / relative, tmp_path / relative)
    return tmp_path


def test_the_shipped_config_loads_with_the_seeds_values():
    settings = load_settings()
    assert settings.data.symbol == "BTC/JPY"
    assert settings.quality_gate.min_f1 == 0.6
    assert settings.training.cv.gap >= settings.training.label.horizon
    assert (settings.schedule.weekday, settings.schedule.hour_utc) == (0, 9)
    assert settings.limits.max_rss_mib == 1024  # SPEC section 11: a 1 GiB box
    assert (settings.retention.keep_promoted, settings.retention.candidate_days) == (8, 28)


def _replace(root, relative, old, new):
    path = root / relative
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


BAD_EDITS = [
    (BASE_CONFIG_PATH, "days: 365", "days: 0", r"data\.days: Input should be greater than 0"),
    (BASE_CONFIG_PATH, "  seed: 42", "  seed: 42\n  seeed: 1", r"training\.seeed: Extra inputs"),
    (BASE_CONFIG_PATH, "gap: 1 ", "gap: 0 ", r"cv\.gap \(0\) must be >= .*horizon \(1\)"),
    (BASE_CONFIG_PATH, "data:", "data: [", r"base\.yaml is not valid YAML"),
    (BASE_CONFIG_PATH, "max_rss_mib: 1024", "max_rss_mb: 1024", r"limits\.max_rss_mb: Extra"),
    (BASE_CONFIG_PATH, "max_rss_mib: 1024", "max_rss_mib: 0", r"limits\.max_rss_mib: Input"),
    (BASE_CONFIG_PATH, "\nlimits:", "\nlimits_old:", r"limits: Field required"),
    (BASE_CONFIG_PATH, "keep_promoted: 8", "keep_promoted: 0",
     r"retention\.keep_promoted: Input should be greater than or equal to 1"),
    (BASE_CONFIG_PATH, "candidate_days: 28", "candidate_days: 0",
     r"retention\.candidate_days: Input should be greater than 0"),
    (BASE_CONFIG_PATH, "\nretention:", "\nretention_old:", r"retention: Field required"),
    (THRESHOLDS_PATH, "skill_metric: mcc", "skill_metric: f1", r"skill_metric: Input should be"),
    (THRESHOLDS_PATH, "quality_gate:", "data:\n  days: 3\nquality_gate:", r"appear in both"),
]  # fmt: skip


@pytest.mark.parametrize(("relative", "old", "new", "message"), BAD_EDITS)
def test_a_bad_config_names_the_problem(config_root, relative, old, new, message):
    _replace(config_root, relative, old, new)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_root)


def test_an_empty_config_file_is_an_error_not_defaults(config_root):
    (config_root / BASE_CONFIG_PATH).write_text("")
    with pytest.raises(ConfigError, match=r"data: Field required; training: Field required"):
        load_settings(config_root)


def test_a_missing_model_section_is_an_error(config_root):
    _replace(config_root, BASE_CONFIG_PATH, "    xgboost:", "    xgboost_old:")
    with pytest.raises(ConfigError, match=r"training\.models\.xgboost: Field required"):
        load_settings(config_root)


def test_a_boolean_hyperparameter_stays_a_boolean(config_root):
    edited = "max_features: sqrt\n      bootstrap: false"
    _replace(config_root, BASE_CONFIG_PATH, "max_features: sqrt", edited)
    assert load_settings(config_root).training.models.random_forest["bootstrap"] is False


def test_a_missing_config_file_says_to_restore_it(config_root):
    (config_root / THRESHOLDS_PATH).unlink()
    with pytest.raises(ConfigError, match=r"thresholds\.yaml not found; restore it from git"):
        load_settings(config_root)


def _make_directory(path):
    path.unlink()
    path.mkdir()


def _write_latin1(path):
    path.write_bytes(path.read_text(encoding="utf-8").replace("#", "# caf\u00e9").encode("latin-1"))


def _make_symlink_loop(path):
    path.unlink()
    path.symlink_to(path.name)


UNREADABLE_FILES = [
    pytest.param(
        _make_directory,
        r"base\.yaml is a directory, not a YAML file; restore the file from git",
        id="directory",
    ),
    pytest.param(
        _write_latin1,
        r"base\.yaml is not UTF-8 text \(byte 0xe9 at offset \d+\); save it as UTF-8",
        id="latin-1",
    ),
    pytest.param(
        _make_symlink_loop,
        r"base\.yaml cannot be read \(Too many levels of symbolic links\)",
        id="symlink loop",
    ),
]


@pytest.mark.parametrize(("spoil", "message"), UNREADABLE_FILES)
def test_an_unreadable_config_file_is_a_config_error(config_root, spoil, message):
    spoil(config_root / BASE_CONFIG_PATH)
    with pytest.raises(ConfigError, match=message):
        load_settings(config_root)


def test_overrides_are_validated_and_none_means_keep():
    settings = with_overrides(load_settings(), data={"days": 30, "symbol": None})
    assert (settings.data.days, settings.data.symbol) == (30, "BTC/JPY")
    with pytest.raises(ConfigError, match=r"invalid command-line option: training\.seed"):
        with_overrides(load_settings(), training={"seed": -1})
    with pytest.raises(ConfigError, match=r"data\.timeframe: String should match pattern"):
        with_overrides(load_settings(), data={"timeframe": "7x"})


def test_the_workers_memory_floor_is_the_one_bench_worker_memory_measured():
    measured = json.loads((REPO_ROOT / "bench" / "worker_memory_results.json").read_text())
    floor = next(
        rule.ge
        for rule in ComputeConfig.model_fields["memory_limit_mib"].metadata
        if hasattr(rule, "ge")
    )
    assert floor == measured["least_memory_limit_mib"]
