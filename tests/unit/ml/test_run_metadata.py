"""The run's metadata record: what it says about the libraries that trained."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as package_version

import xgboost

from src.ml.run_metadata import library_versions


def test_xgboost_is_recorded_by_its_import_name_whichever_distribution_installed_it(
    monkeypatch,
):
    def without_any_xgboost_distribution(name: str) -> str:
        if name.startswith("xgboost"):
            raise PackageNotFoundError(name)
        return package_version(name)

    monkeypatch.setattr("src.ml.run_metadata.package_version", without_any_xgboost_distribution)

    versions = library_versions()

    assert versions["xgboost"] == xgboost.__version__
    assert "xgboost-cpu" not in versions
    assert all(isinstance(value, str) and value for value in versions.values())
