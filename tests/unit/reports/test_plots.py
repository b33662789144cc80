"""The report's plots: text on coloured cells stays readable (WCAG AA, contrast >= 4.5:1)."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex

from src.reports.plots import (
    CONFUSION_COLOURMAP,
    confusion,
    confusion_cell_colours,
    contrast_ratio,
    readable_text_colour,
)

WCAG_AA = 4.5


@pytest.mark.parametrize(
    ("foreground", "background", "expected"),
    [
        ("#000000", "#ffffff", 21.0),
        ("#ffffff", "#ffffff", 1.0),
        ("#767676", "#ffffff", 4.54),  # the lightest grey that passes AA on white
        ("#ffffff", "#767676", 4.54),  # symmetric
    ],
)
def test_contrast_ratio_follows_wcag(foreground, background, expected):
    assert contrast_ratio(foreground, background) == pytest.approx(expected, abs=0.01)


@pytest.mark.parametrize(
    "matrix",
    [
        [[389, 160], [335, 258]],  # the shipped sample's ensemble (mid-range blues)
        [[500, 0], [0, 500]],
        [[1, 1000], [480, 520]],  # ~half the maximum: where black and white are closest
        [[0, 0], [0, 0]],
    ],
)
def test_every_confusion_cell_text_meets_wcag_aa(matrix):
    for background, text in confusion_cell_colours(np.array(matrix)):
        assert contrast_ratio(text, background) >= WCAG_AA, (background, text)


def test_the_text_colour_meets_wcag_aa_on_every_colour_of_the_colourmap():
    for level in np.linspace(0, 1, CONFUSION_COLOURMAP.N):
        background = to_hex(CONFUSION_COLOURMAP(level))
        assert contrast_ratio(readable_text_colour(background), background) >= WCAG_AA


def test_dark_cells_get_white_text_and_light_cells_black():
    (empty_background, empty_text), *_, (full_background, full_text) = confusion_cell_colours(
        np.array([[0, 1], [1, 100]])
    )
    assert (empty_text, full_text) == ("#000000", "#ffffff")
    assert contrast_ratio(empty_background, "#ffffff") < 1.1  # the empty cell is near white


def test_the_confusion_plot_is_a_png():
    assert confusion(np.array([[3, 1], [2, 4]])).png.startswith(b"\x89PNG\r\n\x1a\n")
