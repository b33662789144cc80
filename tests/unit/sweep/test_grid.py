"""--grid options into setups: typed values, every combination, refusals that name the key."""

from __future__ import annotations

import pytest

from src.config import load_settings
from src.sweep.grid import GridError, parse_grid, setups


def test_values_are_typed_as_yaml_scalars_and_the_product_keeps_the_grid_order():
    grid = parse_grid(["training.label.horizon=1,4", "trading.allow_short=false,true"])
    assert grid == {"training.label.horizon": [1, 4], "trading.allow_short": [False, True]}
    made = setups(load_settings(), grid)
    assert [setup.values for setup in made] == [
        {"training.label.horizon": 1, "trading.allow_short": False},
        {"training.label.horizon": 1, "trading.allow_short": True},
        {"training.label.horizon": 4, "trading.allow_short": False},
        {"training.label.horizon": 4, "trading.allow_short": True},
    ]
    assert made[3].settings.training.label.horizon == 4 and made[3].settings.trading.allow_short
    assert len({setup.key for setup in made}) == 4


def test_a_horizon_past_the_purge_gap_raises_the_gap_and_says_so():
    base = load_settings()
    made = setups(base, parse_grid(["training.label.horizon=1,16"]))
    assert made[0].adjusted == {} and made[0].settings.training.cv.gap == base.training.cv.gap
    assert made[1].adjusted == {"training.cv.gap": 16} and made[1].settings.training.cv.gap == 16
    assert made[1].config_diff(base) == {
        "training.label.horizon": {"from": 1, "to": 16},
        "training.cv.gap": {"from": base.training.cv.gap, "to": 16},
    }
    assert made[0].config_diff(base) == {}  # the config as it is


def test_round_trip_and_numbers_are_typed_as_the_config_types_them():
    made = setups(load_settings(), parse_grid(["training.label.threshold=0,round_trip"]))
    assert [setup.values["training.label.threshold"] for setup in made] == [0.0, "round_trip"]


def test_a_setups_key_depends_on_its_values_not_on_the_grids_order():
    base = load_settings()
    one = setups(base, parse_grid(["training.label.horizon=1,4", "trading.allow_short=true"]))
    other = setups(base, parse_grid(["trading.allow_short=true", "training.label.horizon=4,1"]))
    assert {setup.key for setup in one} == {setup.key for setup in other}


@pytest.mark.parametrize(("options", "message"), [
    (["training.label.horizon"], "is not KEY=V1,V2"),
    (["training.label.horizon="], "is not KEY=V1,V2"),
    ([], "at least one --grid"),
    (["training.label.horizon=1", "training.label.horizon=4"], "names training.label.horizon tw"),
    (["training.label.horizon=1,1"], "repeats a value"),
    (["training.label.horizon=1,[2]"], "is not a single value"),
])  # fmt: skip
def test_malformed_grid_options_are_refused(options, message):
    with pytest.raises(GridError, match=message):
        parse_grid(options)


@pytest.mark.parametrize(("option", "message"), [
    ("training.label.horizn=1", "training.label has no 'horizn'; its keys: horizon, threshold"),
    ("training.label=1", "is a section, not a value"),
    ("compute.workers=1,2", "where tasks run never changes a result"),
    ("data.days=30,60", "every setup trains on the same --days window"),
    ("schedule.weekday=0,1", "the same Mondays"),
    ("training.label.horizon=0,1", r"training.label.horizon=0 is not a valid config: "
                                   r"training.label.horizon: Input should be greater than"),
    ("training.label.threshold=roundtrip", "training.label.threshold=roundtrip is not a valid"),
    ("data.timeframe=1x", "data.timeframe"),
    ("training.label.threshold=0,0.0", "training.label.threshold=0.0 and "
                                       "training.label.threshold=0.0 are the same setup"),
])  # fmt: skip
def test_keys_and_values_the_config_would_refuse_are_refused_by_name(option, message):
    with pytest.raises(GridError, match=message):
        setups(load_settings(), parse_grid([option]))


def test_a_grid_of_absurdly_many_setups_is_refused_before_any_is_built():
    grid = parse_grid([f"training.models.lightgbm.n_estimators={','.join(map(str, range(1, 41)))}",
                       f"training.seed={','.join(map(str, range(30)))}"])  # fmt: skip
    with pytest.raises(GridError, match="the grid makes 1,200 setups, more than 1,000"):
        setups(load_settings(), grid)
