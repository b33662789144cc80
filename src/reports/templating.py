"""The reports' Jinja2 environment: templates/ beside this module, and the filters they share."""

from __future__ import annotations

import jinja2
import markupsafe
import pandas as pd

from src.reports.figures import format_metric


def when(iso: str) -> str:
    return pd.Timestamp(iso).strftime("%Y-%m-%d %H:%M")


def _breakable(name: str) -> markupsafe.Markup:
    """A snake_case name that may wrap after an underscore, so it cannot widen a phone's table."""
    return markupsafe.escape(name).replace("_", markupsafe.Markup("_<wbr>"))


TEMPLATES = jinja2.Environment(
    # PackageLoader finds templates/ beside this module in an editable and a regular install.
    loader=jinja2.PackageLoader("src.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt name fails the render, not leaves a blank
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)
TEMPLATES.filters |= {"metric": format_metric, "when": when, "breakable": _breakable}
