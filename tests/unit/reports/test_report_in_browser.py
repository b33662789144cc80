"""The report in a real browser (Debian's headless Chromium, driven by Playwright): on a 390 px
phone and a 1400 px desktop nothing but a table's own scroll box is wider than the screen, text
is large enough, and the page loads nothing from anywhere.

Environment:
- CHROMIUM: the browser to drive (default: `chromium` on PATH; `make test` installs Debian's).
  Missing, the tests fail: a layout that was never rendered is not a pass.
- REPORT_HTML: check this report file instead of reports rendered here from tiny models
  (`make screenshots` passes the report of a `make train`-like run).
- REPORT_SCREENSHOTS: a folder (relative to the repo root) to save report-390.png and
  report-1400.png in, the top of the first report at each width: the README's screenshots.
  Unset, nothing is written outside pytest's temporary folders.
"""

from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import Browser, Page, sync_playwright

from src.config import REPO_ROOT
from src.data.sources import load_sample_candles
from src.registry.metadata import TrainingMetadata
from src.reports.html_report import render_report
from src.reports.sweep_report import render_sweep_report
from tests.support.report_runs import dry_run_health, trained_run
from tests.unit.replay.conftest import switching_candles
from tests.unit.sweep.conftest import sweep

# (width, height) of the viewport in CSS px: a common phone, a desktop; screenshots show the top
# `SCREENS` viewport heights of the page.
VIEWPORTS = {390: (390, 844), 1400: (1400, 900)}
SCREENS = {390: 2.5, 1400: 2.0}
# Without the networking flags Chromium calls Google's servers at start-up (and logs the errors).
CHROMIUM_FLAGS = [
    "--no-sandbox",  # the tests run as root in CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
MIN_FONT_PX = 12
LONG_NOTE = "A note without spaces: " + "x" * 200 + " and <b>markup</b> shown as text."

# Every element's right edge, except inside a .scroll box (its content may scroll sideways);
# the boxes themselves must fit.
LAYOUT_JS = """() => {
  const width = document.documentElement.clientWidth;
  const name = (e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
    + (typeof e.className === "string" && e.className ? "." + e.className : "");
  const tooWide = [];
  for (const element of document.body.querySelectorAll("*")) {
    if (element.parentElement.closest(".scroll")) continue;
    const right = element.getBoundingClientRect().right;
    if (right > width + 0.5) tooWide.push(`${name(element)} ends at ${right.toFixed(1)} px`);
  }
  const scrolling = [...document.querySelectorAll(".scroll")]
    .filter((box) => box.scrollWidth > box.clientWidth).length;
  const fontPx = [...document.querySelectorAll("p, li, td, th, nav a")]
    .map((e) => parseFloat(getComputedStyle(e).fontSize));
  return {width, scrollWidth: document.documentElement.scrollWidth, tooWide, scrolling,
          smallestFontPx: Math.min(...fontPx)};
}"""


def _chromium() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    assert path and Path(path).exists(), (
        "headless Chromium is needed to check the report's layout: install the Debian package "
        "`chromium` (`make test` does: SYSTEM_PACKAGES in the Makefile), or set CHROMIUM to a "
        "Chromium or Chrome executable"
    )
    return path


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=_chromium(), args=CHROMIUM_FLAGS, timeout=60_000
        )
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def report_files(tmp_path_factory) -> dict[str, Path]:
    """The report of the shipped sample run, a variant with every optional part filled in, and a
    small sweep's report (a long setup name, a purge gap raised)."""
    if os.environ.get("REPORT_HTML"):
        return {"given": Path(os.environ["REPORT_HTML"]).resolve(strict=True)}
    run, metadata = trained_run(load_sample_candles(), tuned=True)
    variant = TrainingMetadata.from_dict({**metadata.to_dict(), "notes": LONG_NOTE})
    folder = tmp_path_factory.mktemp("reports")
    files = {"sample": folder / "sample.html", "with-drift": folder / "with-drift.html"}
    files["sample"].write_text(render_report(run, metadata), encoding="utf-8")
    variant_html = render_report(run, variant, dry_run_health())
    files["with-drift"].write_text(variant_html, encoding="utf-8")
    grid = ["training.label.horizon=1,4", "training.label.threshold=0,round_trip"]
    small = sweep(switching_candles(), grid, folder / "sweep", weeks=3).summary
    files["sweep"] = folder / "sweep.html"
    files["sweep"].write_text(render_sweep_report(small, 10), encoding="utf-8")
    return files


def _open(browser: Browser, report: Path, width: int) -> tuple[Page, list[str]]:
    page = browser.new_page(viewport=dict(zip(("width", "height"), VIEWPORTS[width], strict=True)))
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(report.as_uri(), wait_until="load")
    return page, requested


def _screenshot(page: Page, width: int) -> None:
    folder = Path(os.environ["REPORT_SCREENSHOTS"])
    folder = folder if folder.is_absolute() else REPO_ROOT / folder
    folder.mkdir(parents=True, exist_ok=True)
    viewport_height = VIEWPORTS[width][1]
    page_height = page.evaluate("document.documentElement.scrollHeight")
    height = min(page_height, round(viewport_height * SCREENS[width]))
    clip = {"x": 0, "y": 0, "width": width, "height": height}
    shot = Image.open(io.BytesIO(page.screenshot(clip=clip, full_page=True))).convert("RGB")
    # A 256-colour palette is indistinguishable on a page of text and halves the committed file.
    palette = shot.quantize(256, method=Image.Quantize.MEDIANCUT)
    palette.save(folder / f"report-{width}.png", optimize=True)


@pytest.mark.parametrize("width", sorted(VIEWPORTS))
def test_nothing_but_scroll_boxes_is_wider_than_the_screen(browser, report_files, width):
    for name, report in report_files.items():
        page, requested = _open(browser, report, width)
        layout = page.evaluate(LAYOUT_JS)
        assert layout["tooWide"] == [], f"{name} at {width} px"
        assert layout["scrollWidth"] <= layout["width"] <= width, f"{name} at {width} px"
        assert layout["smallestFontPx"] >= MIN_FONT_PX, f"{name} at {width} px"
        if width < 600:  # the metrics table is wider than a phone: its box scrolls instead
            assert layout["scrolling"] >= 1, f"{name} at {width} px"
        assert all(url.startswith(("file:", "data:")) for url in requested), requested
        if os.environ.get("REPORT_SCREENSHOTS") and name == next(iter(report_files)):
            _screenshot(page, width)
        page.close()


def test_the_layout_check_finds_what_overflows(browser):
    """The check itself: an overflowing block is found, the same inside a .scroll box is not."""
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_content(
        '<body style="margin:0"><div id="wide" style="width:600px">x</div>'
        '<div class="scroll" style="overflow-x:auto"><table style="width:600px"><tr><td>y'
        "</td></tr></table></div></body>"
    )
    layout = page.evaluate(LAYOUT_JS)
    page.close()
    assert layout["tooWide"] == ["div#wide ends at 600.0 px"]
    assert layout["scrollWidth"] > 390 and layout["scrolling"] == 1
