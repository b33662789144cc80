"""The docs' figures cannot go stale: every generated block equals its template rendered from the
committed JSONs, and no figure with a unit is written by hand outside one (bench/render_docs.py).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from bench.render_docs import (
    ALLOWED_SETTINGS,
    BLOCK,
    TEMPLATES,
    DocsError,
    block_names,
    documents,
    environment,
    figures_outside_blocks,
    load_sources,
    render_text,
)
from bench.sample_run import TRAIN_COMMAND
from src.config import REPO_ROOT, load_settings

DOCS = {path.relative_to(REPO_ROOT).as_posix(): path for path in documents()}


@pytest.fixture(scope="module")
def sources() -> dict:
    return load_sources()


@pytest.mark.parametrize("name", DOCS)
def test_every_generated_block_equals_its_json(name, sources):
    text = DOCS[name].read_text(encoding="utf-8")
    rendered = render_text(text, environment(), sources)
    stale = [
        block
        for block, fresh in zip(BLOCK.finditer(text), BLOCK.finditer(rendered), strict=True)
        if block[3] != fresh[3]
    ]
    assert not stale, f"{name}: stale blocks {[b[2] for b in stale]}; run `make docs`"


@pytest.mark.parametrize("name", DOCS)
def test_no_figure_with_a_unit_outside_a_generated_block(name):
    figures = figures_outside_blocks(DOCS[name].read_text(encoding="utf-8"))
    assert not figures, (
        f"{name} states {figures} by hand: put them in a generated block (bench/templates/), or "
        "if one is a setting or a SPEC limit, in ALLOWED_SETTINGS/ALLOWED_LIMITS with its reason"
    )


def test_every_template_is_quoted_and_every_block_has_a_template():
    quoted = {name for path in DOCS.values() for name in block_names(path.read_text("utf-8"))}
    templates = {path.name.removesuffix(".md.j2") for path in TEMPLATES.glob("[!_]*.md.j2")}
    assert quoted == templates


@pytest.mark.parametrize(("figure", "key"), ALLOWED_SETTINGS.items())
def test_a_setting_quoted_in_prose_is_the_configured_value(figure, key):
    value = load_settings()
    for part in key.split("."):
        value = getattr(value, part)
    number = float(figure.rstrip("%"))
    assert number == pytest.approx(value * 100 if figure.endswith("%") else value), (
        f"the docs say {figure} for {key}, config/core/ says {value}"
    )


def test_a_changed_figure_makes_its_block_stale(sources):
    text = "<!-- generated: sample-table -->\n| ensemble | 0.555 |\n<!-- /generated -->\n"
    rendered = render_text(text, environment(), sources)
    assert rendered != text
    assert render_text(rendered, environment(), sources) == rendered
    f1 = sources["sample"]["holdout_metrics"]["ensemble"]["f1_score"]
    assert f"| **ensemble** | {f1:.3f} |" in rendered


@pytest.mark.parametrize(
    ("prose", "flagged"),
    [
        ("a full run took 29.0 s and 314 MiB", ["29.0 s", "314 MiB"]),
        ("full run / raw fits 1.42x, 2 workers 1.45×, p50 64.6 µs", ["1.42x", "1.45×", "64.6 µs"]),
        ("buy-and-hold made +11.01% while the policy lost −26.6%", ["+11.01%", "−26.6%"]),
        ("a fee of 0.12% per side within 1 GiB and 45 min", []),
        ("10 sets of 5m bars, sha256 hashes, 1,142 rows", []),
    ],
)
def test_the_unit_check_flags_measured_figures_only(prose, flagged):
    assert figures_outside_blocks(prose) == flagged
    block = f"<!-- generated: sample-table -->\n{prose}\n<!-- /generated -->\n"
    assert figures_outside_blocks(block) == []


def test_a_key_missing_from_a_json_fails_the_render(sources):
    without = {**sources, "sample": {k: v for k, v in sources["sample"].items() if k != "gate"}}
    text = "<!-- generated: sample-verdict -->\n<!-- /generated -->\n"
    with pytest.raises(DocsError, match="sample-verdict.*gate"):
        render_text(text, environment(), without)


def test_a_stamp_says_where_the_figures_come_from(sources):
    stamp = {
        "commit": "abc1234", "started_utc": "2026-12-04T09:00:00+00:00", "cpus": 2,
        "load_average_at_start": [0.1, 0.2, 0.3], "load_average_at_end": [0.4, 0.5, 0.6],
        "wall_s": 30.0,
    }  # fmt: skip
    stamped = {**sources, "sample": {**sources["sample"], "stamp": stamp}}
    unstamped = {**sources, "sample": {k: v for k, v in sources["sample"].items() if k != "stamp"}}
    text = "<!-- generated: sample-table -->\n<!-- /generated -->\n"
    assert "commit `abc1234` on 2026-12-04 (2 CPUs, load average 0.1" in render_text(
        text, environment(), stamped
    )
    assert "not stamped" in render_text(text, environment(), unstamped)


def test_the_readme_is_short_and_links_a_page_per_topic():
    readme = DOCS["README.md"].read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\((docs/[\w-]+\.md)", readme))
    assert len(readme.splitlines()) <= 250
    assert len(linked) >= 6
    assert all((REPO_ROOT / page).is_file() for page in linked)
    assert {f"docs/{path.name}" for path in (REPO_ROOT / "docs").glob("*.md")} <= linked


def test_the_sample_record_runs_make_trains_command():
    recipe = (REPO_ROOT / "Makefile").read_text().split("\ntrain:", 1)[1].split("\n\n", 1)[0]
    assert " ".join(TRAIN_COMMAND) in recipe
    recorded = json.loads(Path(REPO_ROOT, "bench", "sample_results.json").read_text())
    assert recorded["command"] == " ".join(("python", *TRAIN_COMMAND))
