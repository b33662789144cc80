#!/usr/bin/env python3
"""The figures of README.md and docs/*.md, rendered from the JSONs the benches and runs wrote.

    .venv/bin/python bench/render_docs.py [--check]

Every quoted figure sits in a block
    <!-- generated: NAME -->
    ...
    <!-- /generated -->
whose body is the Jinja2 template bench/templates/NAME.md.j2 rendered with every JSON of
SOURCES (under its name there). This script rewrites the bodies; with --check it writes nothing
and exits 1 listing the stale blocks and any figure with a unit written outside a block (see
ALLOWED_SETTINGS and ALLOWED_LIMITS). `make docs` reruns the sample first, `make bench` every bench.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import jinja2

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from src.ml.memory import estimate_peak  # noqa: E402

TEMPLATES = REPO_ROOT / "bench" / "templates"
# Template variable -> the JSON it reads (bench/all.py writes each).
SOURCES = {
    "sample": "bench/sample_results.json",
    "replay_example": "bench/replay_example.json",
    "full_run": "bench/results.json",
    "memory_tuned": "bench/memory_results.json",
    "memory_untuned": "bench/memory_calibration.json",
    "tuning": "bench/tuning_results.json",
    "replay": "bench/replay_results.json",
    "inference": "bench/inference_results.json",
    "trading_cost": "bench/trading_results.json",
    "worker_memory": "bench/worker_memory_results.json",
    "sweep": "bench/sweep_results.json",
}
BLOCK = re.compile(r"(<!-- generated: ([\w-]+) -->\n)(.*?)(<!-- /generated -->)", re.DOTALL)
# A number followed by a unit of time, memory, share or speed-up.
FIGURE = re.compile(
    r"(?<![\w.])[-+−]?\d[\d,]*(?:\.\d+)?(?:e-?\d+)? ?"
    r"(?:%|×|x\b|µs\b|us\b|ms\b|s\b|seconds?\b|min\b|minutes?\b|h\b|hours?\b"
    r"|[KMG]iB\b|[kMG]B\b)"
)
# Figures prose may state outside a block: settings and limits, not measurements. A setting is
# quoted with its key in config/core/ (tests/unit/docs/ checks the two agree); a limit says why.
ALLOWED_SETTINGS = {
    "0.12%": "trading.fee_rate",
    "0.01%": "trading.slippage_rate",
    "20%": "training.holdout_fraction",
}
ALLOWED_LIMITS = {
    "90%": "the level of every bootstrap interval (src/ml/bootstrap.py), named with it",
    "98%": "the level of the live set's money interval (src/ml/live_health.py LOOK_LEVEL)",
    "1 GiB": "SPEC §11's memory limit (limits.max_rss_mib is its MiB)",
    "1GiB": "SPEC §11's memory limit, as `dask worker --memory-limit` spells it",
    "45 min": "SPEC §11's wall-time limit of a weekly run",
    "45 minutes": "SPEC §11's wall-time limit of a weekly run",
    "8 MB": "SPEC §11's limit on random_forest_model.pkl",
}
ALLOWED_FIGURES = ALLOWED_SETTINGS.keys() | ALLOWED_LIMITS.keys()


class DocsError(ValueError):
    """A block that cannot be rendered: its template, a JSON or a key it reads is missing."""


def load_sources(directory: Path | None = None) -> dict:
    """Every JSON of SOURCES; from `directory` by file name instead (a quick run's output)."""
    sources = {}
    for name, relative in SOURCES.items():
        path = REPO_ROOT / relative if directory is None else directory / Path(relative).name
        if not path.exists():
            raise DocsError(f"{path} is missing: `make bench` (or bench/all.py) writes it")
        sources[name] = json.loads(path.read_text())
    return sources


def _number(value, spec: str = ".3f") -> str:
    """`value` formatted, or "n/a" for a metric undefined on its rows (null in the JSON)."""
    return "n/a" if value is None else format(value, spec)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,  # a key the JSON lacks fails the render, loudly
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,  # Markdown, not HTML
        extensions=["jinja2.ext.do"],
    )
    env.filters["num"] = _number
    env.filters["mib"] = lambda size_bytes: f"{size_bytes / 2**20:.0f} MiB"
    env.filters["thousands"] = lambda count: f"{count:,}"
    # The estimate src/ml/memory.py makes today, beside the peaks a memory bench measured.
    env.globals["memory_estimate_mib"] = lambda rows, tuned: estimate_peak(rows, 0, tuned).peak_mib
    return env


def render_text(text: str, env: jinja2.Environment, sources: dict) -> str:
    """`text` with the body of every generated block rendered afresh."""

    def body(match: re.Match) -> str:
        name = f"{match[2]}.md.j2"
        try:
            rendered = env.get_template(name).render(sources).rstrip("\n") + "\n"
        except jinja2.TemplateError as exc:
            raise DocsError(f"bench/templates/{name}: {exc} (a JSON older than its template? "
                            "rerun `make bench` or `make docs`)") from exc  # fmt: skip
        return match[1] + rendered + match[4]

    return BLOCK.sub(body, text)


def block_names(text: str) -> list[str]:
    return [match[2] for match in BLOCK.finditer(text)]


def figures_outside_blocks(text: str) -> list[str]:
    """Figures with a unit outside every generated block that ALLOWED_FIGURES does not list."""
    prose = BLOCK.sub("", text)
    return [m[0] for m in FIGURE.finditer(prose) if m[0].replace("−", "-") not in ALLOWED_FIGURES]


def documents() -> list[Path]:
    return [REPO_ROOT / "README.md", *sorted((REPO_ROOT / "docs").glob("*.md"))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 if stale")
    args = parser.parse_args()
    try:
        env, sources = environment(), load_sources()
        rendered = {
            path: render_text(path.read_text("utf-8"), env, sources) for path in documents()
        }
    except DocsError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    problems = []
    for path in documents():
        text = path.read_text(encoding="utf-8")
        relative = path.relative_to(REPO_ROOT)
        problems += [f"{relative}: {f!r} outside a generated block" for f in
                     figures_outside_blocks(text)]  # fmt: skip
        if rendered[path] == text:
            continue
        if args.check:
            problems.append(f"{relative}: generated blocks are stale (run `make docs`)")
        else:
            path.write_text(rendered[path], encoding="utf-8")
            print(f"rendered {relative}")
    if problems:
        print("\n".join(problems))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
