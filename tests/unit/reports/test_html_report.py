"""The HTML report: every section, self-contained (data: URIs only), readable PNGs, honest text."""

from __future__ import annotations

import base64
import io
import math
import re
from html.parser import HTMLParser

import pytest
from matplotlib.image import imread

from src.data.sources import CandleSet
from src.data.synthetic import generate_sample_market_data
from src.registry.metadata import TrainingMetadata
from src.reports.html_report import render_report
from src.reports.plots import contrast_ratio
from src.reports.verdict import verdict_sentences
from tests.support.report_runs import DRIFT_PROBLEM, PSI, dry_run_health, trained_run

SECTION_IDS = (
    "summary metrics in-sample cv-folds confusion roc calibration importance weights tuning policy "
    "equity provenance drift"
)
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Document(HTMLParser):
    """Collects what the assertions need: h2 ids, every src/href, img sources, style and text."""

    def __init__(self, text: str):
        super().__init__(convert_charrefs=True)
        self.h2_ids, self.links, self.images, self.styles, self.text = [], [], [], [], []
        self.rows: list[list[str]] = []  # cell texts of every table row, headers included
        self.metas: list[dict] = []
        self.table_parents: list[tuple[str, dict]] = []  # the start tag just before each <table>
        self._last_start: tuple[str, dict] = ("", {})
        self._in_style = self._in_cell = False
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "h2":
            self.h2_ids.append(attributes.get("id"))
        self.links += [value for name, value in attrs if name in ("src", "href")]
        if tag == "img":
            self.images.append(attributes)
        if tag == "meta":
            self.metas.append(attributes)
        if tag == "table":
            self.table_parents.append(self._last_start)
        self._last_start = (tag, attributes)
        if tag == "tr":
            self.rows.append([])
        if tag in ("td", "th"):
            self.rows[-1].append("")
            self._in_cell = True
        self._in_style = self._in_style or tag == "style"

    def handle_endtag(self, tag):
        if tag in ("td", "th"):
            self._in_cell = False
        self._in_style = self._in_style and tag != "style"

    def handle_data(self, data):
        (self.styles if self._in_style else self.text).append(data)
        if self._in_cell:
            self.rows[-1][-1] += data

    def row(self, first_cell: str) -> list[str]:
        return next(row for row in self.rows if row and row[0] == first_cell)

    @property
    def plain_text(self) -> str:
        return " ".join(" ".join(self.text).split())


@pytest.fixture(scope="module")
def generated_run():
    candles = generate_sample_market_data(1_200, seed=3)
    return trained_run(CandleSet(candles, "generated", "BTC/JPY", "15m"))


@pytest.fixture(scope="module")
def reports(generated_run, sample_run) -> dict[str, tuple[str, dict]]:
    return {
        "generated": (render_report(*generated_run), generated_run[1].to_dict()),
        "sample": (render_report(*sample_run), sample_run[1].to_dict()),
    }


@pytest.fixture(scope="module")
def variant_report(generated_run) -> str:
    """The generated run with a dry-run's PSI, undefined metrics, markup in the notes and no
    weight choice (a record from before schema version 5)."""
    run, metadata = generated_run
    metadata = metadata.to_dict()
    metadata["ensemble_metrics"]["roc_auc"] = math.nan
    metadata["ensemble_metrics"]["weight_choice"] = None
    metadata["baseline_metrics"]["always_up"]["roc_auc"] = None
    metadata["notes"] = "<script>alert('x')</script>"
    metadata = TrainingMetadata.from_dict(metadata)
    return render_report(run, metadata, dry_run_health())


BOTH = pytest.mark.parametrize("name", ["generated", "sample"])


@BOTH
def test_every_section_has_its_heading_id(reports, name):
    assert _Document(reports[name][0]).h2_ids == SECTION_IDS.split()


@BOTH
def test_links_are_only_data_uris_or_anchors(reports, name):
    document = _Document(reports[name][0])
    assert document.links
    assert all(link.startswith(("data:", "#")) for link in document.links), document.links
    inline = " ".join(document.styles) + " ".join(str(image) for image in document.images)
    assert "http://" not in inline and "https://" not in inline


@BOTH
def test_every_image_is_a_readable_png(reports, name):
    images = _Document(reports[name][0]).images
    assert len(images) >= 6
    for image in images:
        prefix, encoded = image["src"].split(",", 1)
        assert prefix == "data:image/png;base64"
        png = base64.b64decode(encoded, validate=True)
        assert png.startswith(PNG_SIGNATURE)
        height, width = imread(io.BytesIO(png), format="png").shape[:2]
        assert height > 0 and width > 0


@BOTH
def test_every_image_has_twice_the_pixels_of_its_css_size(reports, name):
    """Sharp on phones and high-density screens; width and height reserve the space early."""
    for image in _Document(reports[name][0]).images:
        png = base64.b64decode(image["src"].split(",", 1)[1])
        height, width = imread(io.BytesIO(png), format="png").shape[:2]
        assert abs(width - 2 * int(image["width"])) <= 1, image["alt"]
        assert abs(height - 2 * int(image["height"])) <= 1, image["alt"]


def test_page_is_laid_out_for_phones(reports):
    """The browser test checks the rendering; this checks the markup it relies on."""
    document = _Document(reports["sample"][0])
    viewport = {"name": "viewport", "content": "width=device-width, initial-scale=1"}
    assert viewport in document.metas
    assert document.table_parents
    assert all(parent == ("div", {"class": "scroll"}) for parent in document.table_parents)
    styles = "".join(document.styles)
    assert ".scroll{max-width:100%;overflow-x:auto" in styles
    assert "img{display:block;max-width:100%;height:auto}" in styles


def test_gate_verdict_badges_meet_wcag_aa(reports):
    styles = "".join(_Document(reports["sample"][0]).styles)
    assert ".verdict{" in styles and "color:#fff}" in styles  # white text on each badge
    for verdict in ("passed", "rejected", "forced"):
        background = re.search(rf"\.{verdict}{{background:(#[0-9a-f]{{6}})}}", styles).group(1)
        assert contrast_ratio("#ffffff", background) >= 4.5, verdict


@BOTH
def test_document_stays_small(reports, name):
    # About 0.2 MB today at twice the resolution; half the 1 MB limit leaves room for new sections.
    assert len(reports[name][0].encode()) < 500_000


@BOTH
def test_gate_verdict_and_every_reason_are_shown(reports, name):
    html_text, metadata = reports[name]
    gate, text = metadata["gate"], _Document(html_text).plain_text
    verdict = "PASSED" if gate["passed"] else ("FORCED" if gate["forced"] else "REJECTED")
    assert f"Quality gate: {verdict}" in text
    for check in gate["checks"]:
        assert " ".join(check["reason"].split()) in text


@BOTH
def test_ensemble_weights_are_shown_with_the_log_loss_they_were_chosen_by(reports, name):
    html_text, metadata = reports[name]
    document = _Document(html_text)
    for model, weight in metadata["ensemble_metrics"]["weights"].items():
        assert [model, f"{weight:.3f}"] in document.rows
    choice = metadata["ensemble_metrics"]["weight_choice"]
    assert (
        f"On the {choice['rows']} out-of-fold rows of the purged CV of the training window, the "
        f"blend's log loss is {choice['log_loss']:.6f} at these weights and "
        f"{choice['equal_weights_log_loss']:.6f} at equal weights"
    ) in document.plain_text


def test_a_record_from_before_the_weight_choice_shows_the_weights_alone(
    variant_report, generated_run
):
    document = _Document(variant_report)
    for model, weight in generated_run[1].ensemble_metrics.weights.items():
        assert [model, f"{weight:.3f}"] in document.rows
    assert "the holdout played no part in choosing them." in document.plain_text
    assert "the blend's log loss is" not in document.plain_text


def test_summary_names_the_data_and_holdout(reports):
    html_text, metadata = reports["sample"]
    text = _Document(html_text).plain_text
    assert "sample ETH/BTC 5m" in text
    assert f"{metadata['evaluation']['holdout']['samples']} rows" in text
    assert "CV (purged folds of the training window)" in text


def test_drift_without_health_points_to_the_dry_run(reports):
    text = _Document(reports["generated"][0]).plain_text
    assert "dev_check.py ml-models --dry-run" in text


def test_drift_with_health_shows_psi_per_feature(reports, variant_report):
    document = _Document(variant_report)
    for (feature, value), status in zip(PSI.items(), ("ok", "watch", "alert"), strict=True):
        assert [feature, f"{value:.3f}", status] in document.rows
    assert DRIFT_PROBLEM in document.plain_text
    run_plots = len(_Document(reports["generated"][0]).images)
    assert len(document.images) == run_plots + 1  # the PSI bar chart joins the run's plots


def test_undefined_metrics_show_as_na(variant_report):
    document = _Document(variant_report)
    header = next(row for row in document.rows if "ROC-AUC" in row and "log loss" in row)
    assert document.row("ensemble")[header.index("ROC-AUC")] == "n/a"
    assert document.row("baseline: always_up")[header.index("ROC-AUC")] == "n/a"


def test_text_is_escaped(variant_report):
    assert "<script>" not in variant_report
    assert "<script>alert('x')</script>" in _Document(variant_report).plain_text  # shown as text


@BOTH
def test_the_report_opens_with_the_verdict_in_words(reports, generated_run, sample_run, name):
    metadata = {"generated": generated_run, "sample": sample_run}[name][1]
    text = _Document(reports[name][0]).plain_text
    skill, money = verdict_sentences(metadata)

    heading = text.index("Training report")
    assert text.index(skill) < text.index(money) < text.index("Summary and quality gate")
    assert heading < text.index(skill)
    assert "holdout rows the ensemble's MCC is" in skill and money.startswith("Money: ")


def test_the_trading_check_shows_the_policy_beside_buy_and_hold_and_flat(reports):
    html_text, metadata = reports["sample"]
    document = _Document(html_text)
    trading = metadata["trading_check"]

    assert ["", "saved policy", "buy and hold", "flat"] in document.rows
    net = document.row("net return (after costs)")
    assert net[2] == f"{trading['buy_and_hold']['net_return']:+.2%}" and net[3] == "+0.00%"
    assert document.row("decisions flat at a gap (next candle missing)")[1:] == ["0", "0", "0"]
    boot = trading["bootstrap"]
    assert f"blocks of {boot['block_length']} rows, seed {boot['seed']}" in document.plain_text
    for label in ("Sharpe (annualised)", "profit factor", "round-trip cost", "hit rate"):
        assert any(row and row[0].startswith(label) for row in document.rows), label


def test_the_costs_name_both_spread_estimates_the_autocorrelation_and_the_paired_excess(reports):
    html_text, metadata = reports["sample"]
    document = _Document(html_text)
    text = document.plain_text
    costs, boot = metadata["costs"], metadata["trading_check"]["bootstrap"]

    assert f"What a side costs: {costs['cost_per_side']:.3%} per side: fee 0.12% + half" in text
    assert f"Abdi–Ranaldo (2017) {costs['abdi_ranaldo']['spread']:.3%}, the estimate" in text
    assert f"Roll (1984) {costs['roll']['spread']:.3%} as a cross-check" in text
    assert f"returns is {costs['return_autocorrelation_lag1']:+.3f}" in text
    excess = boot["excess_over_buy_and_hold"]
    assert f"buy-and-hold's {excess['low']:+.2%} to {excess['high']:+.2%}" in text
    gain = boot["gain_over_best_baseline"]
    assert f"over {boot['best_baseline']} {gain['low']:+.3f} to {gain['high']:+.3f}" in text
    assert document.row("average gross return per trade (before costs)")


def test_the_threshold_sweeps_say_which_rows_chose_the_policy(reports):
    alts = [image["alt"] for image in _Document(reports["sample"][0]).images]

    assert "net return against the entry threshold: out-of-fold rows (chosen here)" in alts
    assert "net return against the entry threshold: holdout (NOT used for the choice)" in alts
    assert any("equity before and after costs" in alt for alt in alts)


def test_fitted_row_scores_stand_beside_the_holdout_and_say_they_are_in_sample(reports):
    document = _Document(reports["sample"][0])

    assert ["", "fitted rows (in-sample)", "holdout"] in document.rows
    assert len(document.row("ensemble")) >= 7
    assert "in-sample: no evidence of skill" in document.plain_text


def test_provenance_names_the_data_hash_the_libraries_and_the_hyperparameters(reports):
    html_text, metadata = reports["sample"]
    document = _Document(html_text)

    assert document.row("data sha256") == ["data sha256", metadata["data"]["sha256"]]
    assert "scikit-learn" in document.row("libraries")[1]
    learning_rate = metadata["hyperparameters"]["lightgbm"]["learning_rate"]  # the tuned value
    assert any(
        row[0] == "lightgbm" and f"learning_rate={learning_rate}" in row[1] for row in document.rows
    )


def test_a_forced_promotion_says_what_it_failed(generated_run):
    run, metadata = generated_run
    record = metadata.to_dict()
    record["gate"] = {**record["gate"], "passed": False, "forced": True}
    record["gate"]["checks"] = [{**record["gate"]["checks"][0], "passed": False}]

    text = _Document(render_report(run, TrainingMetadata.from_dict(record))).plain_text

    failed = record["gate"]["checks"][0]["name"]
    assert f"FORCED: promoted despite failing: {failed}" in text
    assert "Quality gate: FORCED" in text


def test_the_tuning_section_shows_what_the_search_tried_and_moved(reports):
    html_text, metadata = reports["sample"]
    document = _Document(html_text)
    alts = [image["alt"] for image in document.images]
    rows = {row[0]: row for row in document.rows if len(row) == 8 and "pruned" in row[1]}
    for name, model in metadata["tuning"]["models"].items():
        assert f"{name}: CV log loss of each tuning trial" in alts
        trials = f"{model['trials']} ({model['pruned']} pruned, {model['failed']} failed)"
        assert rows[name][1] == trials
        assert rows[name][2] == f"{model['default_cv_log_loss']:.4f}"
        assert rows[name][3] == f"{model['best_cv_log_loss']:.4f}"
    untuned = _Document(reports["generated"][0]).plain_text
    assert "Off: the models were trained with base.yaml" in untuned
