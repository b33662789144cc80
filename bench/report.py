"""The printed table and the target checks of a benchmark report."""

from __future__ import annotations

MIB = 1024 * 1024
MB = 1_000_000
ONE_YEAR_15M = 35_040


def _check(name: str, size: dict, value: float, limit: float, unit: str, kind="limit") -> dict:
    return {
        "name": name,
        "n_bars": size["n_bars"],
        "value": value,
        "limit": limit,
        "unit": unit,
        "kind": kind,  # "limit" counts in the exit code, "aim" is reported only
        "met": value <= limit,
    }


def targets(sizes: list[dict]) -> list[dict]:
    checks = []
    for size in sizes:
        for run, label in (("full_run_tuned", "tuned"), ("full_run", "untuned")):
            peak_mib, wall_min = size[run]["peak_rss_bytes"] / MIB, size[run]["wall_s"] / 60
            checks.append(_check(f"peak RSS, {label}", size, peak_mib, 1024, "MiB"))
            if size["n_bars"] == ONE_YEAR_15M:
                checks.append(_check(f"peak RSS, {label}", size, peak_mib, 512, "MiB", "aim"))
            checks.append(_check(f"full-run wall, {label}", size, wall_min, 45, "min"))
        forest = size["pickle_bytes"].get("training/random_forest_model.pkl", float("inf"))
        checks.append(_check("random_forest_model.pkl", size, forest / MB, 8, "MB"))
        check = _check("full-run / floor (wall)", size, size["full_over_floor_fit"], 1.5, "x")
        shares = size["full_run_cpu_share"], size["floor_cpu_share"]
        check["note"] = f"CPU-time ratio {size['full_over_floor_fit_cpu']:.2f}" + (
            f"; CONTENDED: the run had the CPU {shares[0]:.0%} of its wall time, "
            f"the floor {shares[1]:.0%}"
            if min(shares) < 0.9
            else ""
        )
        checks.append(check)
        checks.append(_check("FeatureManager / TA-Lib", size, size["features"]["ratio"], 3, "x"))
        latency = size["latency"]["median_ratio"]
        checks.append(_check("1-row ensemble / raw sum", size, latency, 1.5, "x"))
    return checks


def _get(size: dict, path: str):
    value = size
    for key in path.split("."):
        value = value[key]
    return value


def _us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f}"


def _mib(size_bytes: int) -> str:
    return f"{size_bytes / MIB:.0f}"


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f}"


def _per_model(values: dict, unit=lambda v: f"{v:.1f}") -> str:
    return " / ".join(unit(value) for value in values.values())


# (label, formatter of one size's results); a formatter of None is a section heading.
_ROWS = [
    ("bars x timeframe", lambda s: f"{s['n_bars']} x {s['timeframe']}"),
    ("-- 0. weekly run as configured, tuned (CLI)", None),
    ("wall s", lambda s: f"{_get(s, 'full_run_tuned.wall_s'):.1f}"),
    ("peak RSS MiB, reported (max)", lambda s: _mib(_get(s, "full_run_tuned.peak_rss_bytes"))),
    ("-- 1. full weekly run, untuned (CLI)", None),
    ("wall s", lambda s: f"{_get(s, 'full_run.wall_s'):.1f}"),
    ("CPU s (user+sys)", lambda s: f"{_get(s, 'full_run.cpu_s'):.1f}"),
    ("peak RSS MiB, polled 50 ms", lambda s: _mib(_get(s, "full_run.peak_rss_polled_bytes"))),
    ("peak RSS MiB, wait4 ru_maxrss", lambda s: _mib(_get(s, "full_run.peak_rss_wait4_bytes"))),
    ("peak RSS MiB, reported (max)", lambda s: _mib(_get(s, "full_run.peak_rss_bytes"))),
    ("-- 2. floor (raw libraries, numpy)", None),
    ("fits (CV windows + final) x models", lambda s: str(_get(s, "floor.n_fits"))),
    ("floor fit s", lambda s: f"{_get(s, 'floor.fit_s'):.1f}"),
    ("floor fit CPU s", lambda s: f"{_get(s, 'floor.fit_cpu_s'):.1f}"),
    ("  lightgbm / xgboost / forest s", lambda s: _per_model(_get(s, "floor.fit_s_by_model"))),
    ("floor predict s (CV tests + holdout)", lambda s: f"{_get(s, 'floor.predict_s'):.2f}"),
    ("RATIO full wall / floor fit", lambda s: f"{s['full_over_floor_fit']:.2f}"),
    ("ratio full wall / floor fit+predict", lambda s: f"{s['full_over_floor_fit_predict']:.2f}"),
    ("ratio full CPU / floor fit CPU", lambda s: f"{s['full_over_floor_fit_cpu']:.2f}"),
    ("CPU share of wall: full / floor",
     lambda s: f"{s['full_run_cpu_share']:.0%} / {s['floor_cpu_share']:.0%}"),
    ("-- 3. features (CPU ms, median of repeats)", None),
    ("FeatureManager ms", lambda s: _ms(_get(s, "features.feature_manager_s"))),
    ("  of which validate_candles ms", lambda s: _ms(_get(s, "features.validate_candles_s"))),
    ("TA-Lib (same 12 columns) ms", lambda s: _ms(_get(s, "features.talib_s"))),
    ("RATIO FeatureManager / TA-Lib (CPU)", lambda s: f"{_get(s, 'features.ratio'):.2f}"),
    ("ratio FeatureManager / TA-Lib (wall)", lambda s: f"{_get(s, 'features.wall_ratio'):.2f}"),
    ("max |diff| / column scale", lambda s: f"{_get(s, 'features.max_abs_rel_diff'):.1e}"),
    ("at 500 bars (inference): FM / TA-Lib ms",
     lambda s: f"{_ms(_get(s, 'features_inference.feature_manager_s'))} / "
     f"{_ms(_get(s, 'features_inference.talib_s'))}"),
    ("  ratio at 500 bars (CPU)", lambda s: f"{_get(s, 'features_inference.ratio'):.2f}"),
    ("-- 4. predict_proba latency", None),
    ("ensemble 1-row median / p99 us",
     lambda s: f"{_us(_get(s, 'latency.ensemble_median_s'))} / "
     f"{_us(_get(s, 'latency.ensemble_p99_s'))}"),
    ("raw sum 1-row median / p99 us",
     lambda s: f"{_us(_get(s, 'latency.raw_sum_median_s'))} / "
     f"{_us(_get(s, 'latency.raw_sum_p99_s'))}"),
    ("  lightgbm / xgboost / forest us",
     lambda s: _per_model(_get(s, "latency.raw_median_s"), _us)),
    ("  ensemble weights", lambda s: _per_model(_get(s, "latency.weights"), "{:.2f}".format)),
    ("RATIO 1-row ensemble / raw (median)", lambda s: f"{_get(s, 'latency.median_ratio'):.2f}"),
    ("ratio 1-row ensemble / raw (p99)", lambda s: f"{_get(s, 'latency.p99_ratio'):.2f}"),
    ("batch rows/s ensemble / raw",
     lambda s: f"{_get(s, 'latency.ensemble_rows_per_s'):.0f} / "
     f"{_get(s, 'latency.raw_rows_per_s'):.0f}"),
    ("-- 5. pickles of the tuned set (bytes)", None),
]  # fmt: skip


def _rows(sizes: list[dict]) -> list[tuple[str, list[str]]]:
    rows = [
        (label, [format_(size) if format_ else "" for size in sizes]) for label, format_ in _ROWS
    ]
    for name in sorted({name for size in sizes for name in size["pickle_bytes"]}):
        sized = [f"{size['pickle_bytes'].get(name, 0):,}" for size in sizes]
        rows.append((name.rsplit("/", 1)[-1], sized))
    rows.append(("bench seconds (this size)", [f"{s['bench_seconds']:.0f}" for s in sizes]))
    return rows


# The CLI's --verbose progress lines, the first line of its summary, and its verdict.
_PHASE_LINES = (
    "dataset:", "cross-validation:", "fitted ", "refit_on_full", "Data:", "promoted",
    "not promoted",
)  # fmt: skip


def _phase_lines(size: dict) -> list[str]:
    where = f"{size['n_bars']} x {size['timeframe']}"
    lines = [f"CLI progress of the untuned run, {where} (s since process start):"]
    for seconds, line in size["full_run"]["phases"]:
        if line.startswith(_PHASE_LINES):
            lines.append(f"  {seconds:7.1f}  {line[:110]}")
    lines.append(f"  {size['full_run']['wall_s']:7.1f}  (process exit)")
    return lines


def print_table(report: dict, stamp) -> None:
    sizes = report["sizes"]
    rows = _rows(sizes)
    label_width = max(len(label) for label, _ in rows) + 2
    widths = [max(len(values[i]) for _, values in rows) + 2 for i in range(len(sizes))]
    widths = [max(width, 18) for width in widths]
    environment = report["environment"]
    print(
        f"\nCommit {stamp.commit}; pinned to CPU {environment['pinned_cpu']} of {stamp.cpus}, "
        f"one thread per library; load average at start {stamp.load_average_at_start[0]:.2f}; "
        f"python {environment['python']}, "
        + ", ".join(f"{name} {v}" for name, v in environment["libraries"].items())
    )
    for label, values in rows:
        cells = "".join(f"{value:>{width}}" for value, width in zip(values, widths, strict=True))
        print(f"{label:<{label_width}}{cells}")
    for size in sizes:
        print()
        print("\n".join(_phase_lines(size)))
    print("\nTargets:")
    for check in report["targets"]:
        verdict = "MET " if check["met"] else ("MISS" if check["kind"] == "limit" else "over")
        print(
            f"  {verdict} {check['name']:<26} {check['n_bars']:>7} bars: "
            f"{check['value']:.2f} {check['unit']} (<= {check['limit']} {check['unit']}"
            f"{', aim' if check['kind'] == 'aim' else ''})"
            + (f" [{check['note']}]" if check.get("note") else "")
        )
    print(f"\nbench total: {report['bench_total_seconds']:.0f} s")
