"""tuning.storage is judged with the config: an Optuna storage the run could not open is a
ConfigError naming the setting (never the URL, which may hold a password)."""

from __future__ import annotations

import pytest

from src.config import ConfigError
from src.tuning import check_storage


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("foo://somewhere/studies", "'foo' is not a database SQLAlchemy knows"),
        ("not a url", " is not a database URL"),
        ("postgresql://bot:hunter2@db/studies", "needs the Python driver 'psycopg'"),
        ("mysql://bot:hunter2@db/studies", "needs the Python driver 'MySQLdb'"),
        ("sqlite:///{tmp}/missing/tuning.db", "the SQLite file's directory .*/missing does not"),
        ("sqlite:///{tmp}", r"the SQLite file .* is a directory; name a file"),
    ],
)  # fmt: skip
def test_a_storage_the_run_could_not_open_is_a_config_error(tmp_path, url, message):
    with pytest.raises(ConfigError, match=f"tuning.storage.*{message}") as raised:
        check_storage(url.format(tmp=tmp_path))
    assert "hunter2" not in str(raised.value)


@pytest.mark.parametrize("url", [None, "sqlite:///{tmp}/tuning.db", "sqlite:///:memory:"])
def test_memory_or_a_sqlite_file_in_a_writable_directory_passes(tmp_path, url):
    check_storage(url and url.format(tmp=tmp_path))
    assert not (tmp_path / "tuning.db").exists()  # judged, not created
