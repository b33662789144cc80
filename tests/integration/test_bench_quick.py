"""Every benchmark still runs: `bench/all.py --quick` runs each at a tiny size into a tmp dir, one
bench per test (so both xdist workers share them); its JSON must carry the stamp and its key
figures, and every docs template must render from it (a renamed key fails here, not in the
lead's `make bench`). Left out: the sample run (test_sample_run.py runs it in full) and the
untuned memory line (the same script and JSON layout as the tuned one, --no-tune passed to the
CLI; ~50 s of the suite saved)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.all import BENCHES
from bench.render_docs import SOURCES, TEMPLATES, environment, load_sources
from src.config import REPO_ROOT

# bench -> (figures that must be there and positive, templates that quote its JSON)
KEY_FIGURES = {
    "replay_example": (["summary.weeks"], ["replay-example"]),
    "trading_cost": (["cases.0.choose_policy_s", "cases.0.bootstrap_s"], ["perf-trading-cost"]),
    "full_run": (
        [
            "sizes.0.full_run_tuned.wall_s", "sizes.0.full_run_tuned.peak_rss_bytes",
            "sizes.0.full_run.wall_s", "sizes.0.full_over_floor_fit", "sizes.0.features.ratio",
            "sizes.0.latency.median_ratio",
        ],
        ["perf-full-run"],
    ),
    "memory_tuned": (
        ["runs.0.peak_rss_mib", "runs.0.estimate_mib", "runs.1.wall_s"], ["perf-memory"]
    ),
    "tuning": (
        [
            "weekly_run_with_tuning_one_cpu.wall_s", "weekly_run_with_tuning_one_cpu.peak_rss_mib",
            "overhead_and_speedup.study_in_process_s", "overhead_and_speedup.two_workers_s",
        ],
        ["perf-tuning"],
    ),
    "replay": (["plain_loop.wall_s", "dask_2_workers.wall_s"], ["perf-replay"]),
    "sweep": (
        ["in_process.wall_s", "dask_2_workers.wall_s", "in_process.mean_task_s",
         "projection.workers"],
        ["perf-sweep"],
    ),
    "worker_memory": (
        ["peaks.all six in one worker.peak_rss_mib", "least_memory_limit_mib"],
        ["perf-worker-memory"],
    ),
    "inference": (
        ["cold_start.onnx.median_s", "one_bar.onnx_path.p50_us", "equality.bars"],
        ["perf-inference"],
    ),
}  # fmt: skip
NOT_MEASURED = "not measured yet"  # what a template says of a figure an older JSON lacks

pytestmark = pytest.mark.slow


def _replay_weeks_agree(results: dict) -> None:
    """The quick replay promotes a week, and every way wrote the plain loop's week records."""
    weeks = results["week_records"]
    assert weeks["weeks"] == results["weeks"] == 2
    promoted = weeks["promoted_weeks"]
    assert promoted["plain_loop"], "no week promoted: the comparison would cover only rejections"
    assert all(found == promoted["plain_loop"] for found in promoted.values())
    assert weeks["identical"] == {"in_process": True, "dask_1_worker": True, "dask_2_workers": True}
    assert results["identical_week_records_every_way"] is True
    assert weeks["fields_left_out"] == ["set_sha256", "train_seconds"]
    assert results["candles"]["on_from"] < results["candles"]["on_until"]


def _sweep_summaries_agree(results: dict) -> None:
    """The quick sweep wrote the same summary on 1 and on 2 workers, over all its tasks."""
    assert results["identical_summaries"] is True
    assert results["in_process"]["tasks"] == results["dask_2_workers"]["tasks"] == 2 * 3
    assert len(results["dask_2_workers"]["peak_rss_mib_per_worker_process"]) == 2


# bench -> what its quick run must show beyond its stamp and figures
EXTRA_CHECKS = {"replay": _replay_weeks_agree, "sweep": _sweep_summaries_agree}


def _figure(document: dict, path: str):
    value = document
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def test_every_bench_has_a_quick_test_but_those_said_above():
    assert {bench.name for bench in BENCHES} - set(KEY_FIGURES) == {"sample", "memory_untuned"}


@pytest.mark.parametrize("name", KEY_FIGURES)
def test_a_bench_runs_quick_and_writes_its_stamped_figures(name, tmp_path):
    ran = subprocess.run(
        [sys.executable, "bench/all.py", "--quick", "--only", name, "--out", str(tmp_path)],
        cwd=REPO_ROOT, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stdout[-3000:] + ran.stderr[-3000:]
    run = json.loads((tmp_path / "bench_run.json").read_text())
    assert [(b["name"], b["wrote_json"]) for b in run["benches"]] == [(name, True)]
    assert run["stamp"]["wall_s"] > 0 and "bench total:" in ran.stdout

    bench = next(bench for bench in BENCHES if bench.name == name)
    written = json.loads((tmp_path / bench.output).read_text())
    stamp = written["stamp"]
    assert stamp["commit"] == run["stamp"]["commit"] != ""
    assert stamp["cpus"] >= 1 and stamp["wall_s"] > 0
    assert len(stamp["load_average_at_start"]) == len(stamp["load_average_at_end"]) == 3
    figures, templates = KEY_FIGURES[name]
    for path in figures:
        assert _figure(written, path) > 0, path
    EXTRA_CHECKS.get(name, lambda results: None)(written)

    # Every template renders with this fresh JSON in place of the committed one.
    key = next(key for key, relative in SOURCES.items() if Path(relative).name == bench.output)
    sources = {**load_sources(), key: written}
    env = environment()
    rendered = {
        path.name: env.get_template(path.name).render(sources)
        for path in TEMPLATES.glob("[!_]*.md.j2")
    }
    for template in templates:
        text = rendered[f"{template}.md.j2"]
        assert f"commit `{stamp['commit']}`" in text and NOT_MEASURED not in text, text
