"""The sweep's summary: each setup's replay against buy-and-hold, the best setup, and whether it
survives the search (src/sweep/selection.py), in words and as a config diff for a person."""

from __future__ import annotations

import numpy as np
import yaml

from src.config import BASE_CONFIG_PATH, THRESHOLDS_PATH, Settings
from src.data.sources import CandleSet
from src.sweep.grid import Setup
from src.sweep.selection import SIGNIFICANCE, judge_search

_THRESHOLD_SECTIONS = ("quality_gate", "degradation", "alerts")  # the rest is in base.yaml


def config_file(key: str) -> str:
    section = key.split(".")[0]
    return str(THRESHOLDS_PATH if section in _THRESHOLD_SECTIONS else BASE_CONFIG_PATH)


def _setup_record(setup: Setup, candle_set: CandleSet, replay: dict) -> dict:
    against = replay["comparisons"]["buy_and_hold"]
    return {
        "key": setup.key,
        "name": setup.name,
        "values": setup.values,
        "adjusted": setup.adjusted,
        "market": {"symbol": candle_set.symbol, "timeframe": candle_set.timeframe},
        "net_return": replay["totals"]["weekly_job"],
        "buy_and_hold": replay["totals"]["buy_and_hold"],
        "excess": against["excess"],
        "interval": against["interval"],
        "against_buy_and_hold": against["verdict"],
        "promotions": replay["promotions"],
        "weeks_without_live_set": replay["weeks_without_live_set"],
        "mean_live_mcc": replay["mean_live_mcc"],
    }


def _sentence(best: dict, search: dict, weeks: int, changes: bool) -> str:
    setups = search["setups"]
    head = (
        f"The best of {setups} setups over {weeks} weeks, {best['name']}, made "
        f"{best['net_return']:+.2%} after costs against buy-and-hold's {best['buy_and_hold']:+.2%}"
    )
    tests = (
        f"Hansen's SPA p = {search['spa_p_value']:.3f}, White's Reality Check p = "
        f"{search['reality_check_p_value']:.3f}, over all {setups} setups tried"
    )
    dsr = search["deflated_sharpe"]
    deflated = "undefined" if dsr is None else f"{dsr:.2f}"
    if not search["survives"]:
        why = (
            f"a lead this large is what the best of {setups} setups reaches by luck"
            if best["excess"] > 0
            else "not one setup beat buy-and-hold"
        )
        return (
            f"{head}; no setup survives the search ({tests}; not below {SIGNIFICANCE}): {why}. "
            f"Deflated Sharpe Ratio {deflated}. Keep the config as it is."
        )
    caution = "" if dsr is not None and dsr >= 1 - SIGNIFICANCE else (
        f", but its Deflated Sharpe Ratio is {deflated}, below {1 - SIGNIFICANCE:.2f}: "
        "too few weeks to trust its Sharpe ratio; replay more weeks before applying it"
    )  # fmt: skip
    diff = "Its config diff is below; nothing was applied." if changes else (
        "It is the config as it is."
    )  # fmt: skip
    return (
        f"{head}; it survives the search ({tests}; Deflated Sharpe Ratio {deflated}){caution}. "
        f"{diff}"
    )


def sweep_summary(
    base: Settings,
    setups: list[Setup],
    candle_sets: list[CandleSet],
    replays: list[dict],
    weeks: list[str],
    excess: np.ndarray,
) -> dict:
    """`replays`: each setup's replay summary; `excess`: weeks x setups, each week's net return
    of the setup's weekly job relative to buy-and-hold."""
    search = judge_search(excess, base.trading.bootstrap_samples, base.training.seed).to_dict()
    records = [
        _setup_record(setup, candle_set, replay)
        for setup, candle_set, replay in zip(setups, candle_sets, replays, strict=True)
    ]
    order = sorted(range(len(records)), key=lambda i: (-records[i]["excess"], i))
    for rank, index in enumerate(order, start=1):
        records[index]["rank"] = rank
    best_setup, best = setups[search["best"]], records[search["best"]]
    diff = {
        key: {"file": config_file(key), **change}
        for key, change in best_setup.config_diff(base).items()
    }
    return {
        "weeks": len(weeks),
        "first_week": weeks[0],
        "last_week": weeks[-1],
        "setups": records,
        "best": best_setup.values,
        "best_setup": best_setup.key,
        "p_value": search["spa_p_value"],
        "search": search,
        "config_diff": diff,
        "bootstrap": {"samples": base.trading.bootstrap_samples, "seed": base.training.seed,
                      "method": "stationary", "over": "weeks"},  # fmt: skip
        "sentence": _sentence(best, search, len(weeks), bool(diff)),
    }


def config_diff_yaml(summary: dict) -> str:
    """The best setup's changes as YAML fragments of the files that hold them, each value with
    what it replaces; for a person to apply by hand."""
    by_file: dict[str, dict] = {}
    for key, change in summary["config_diff"].items():
        node = by_file.setdefault(change["file"], {})
        *sections, leaf = key.split(".")
        for section in sections:
            node = node.setdefault(section, {})
        node[leaf] = change["to"]
    lines = [
        f"# The best setup of the sweep ({summary['best_setup']}): its changes to the config.",
        "# Nothing was applied; copy these into the files named if the verdict holds up:",
        f"# {summary['sentence']}",
    ]
    if not by_file:
        lines.append("# (none: the best setup is the config as it is)")
    for path, tree in by_file.items():
        lines += [f"# --- {path}", yaml.safe_dump(tree, sort_keys=False).rstrip()]
    was = [f"#   {key}: was {change['from']!r}" for key, change in summary["config_diff"].items()]
    return "\n".join([*lines, *(["# Values replaced:"] + was if was else [])]) + "\n"
