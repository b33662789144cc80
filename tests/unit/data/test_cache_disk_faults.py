"""A full disk at a candle-cache update: a one-line StorageError naming the cache, the space
needed and the setting to change; the old cache file kept, no temp file left.

On a small tmpfs the test mounts (skipped, saying why, where it cannot mount).
"""

from __future__ import annotations

import io

import pandas as pd
import pytest

from src.atomic import StorageError
from src.data.bitbank import fetch_bitbank_candles
from tests.support import filesystems

CACHE_FILE = "bitbank_BTC_JPY_15m.parquet"


@pytest.fixture
def small_disk(tmp_path):
    with filesystems.mounted_or_skip(
        filesystems.small_tmpfs(tmp_path / "disk", 4 * 2**20, 64)
    ) as root:
        yield root


def _fetch(fake, cache_dir, days):
    return fetch_bitbank_candles(
        "BTC/JPY", "15m", days, cache_dir, now=fake.now, api_url=fake.url, timeout_s=0.5,
        max_retries=0,
    )  # fmt: skip


@pytest.mark.parametrize("resource", ["space", "inodes"])
def test_a_cache_update_on_a_full_disk_fails_in_one_line_and_keeps_the_old_cache(
    fake_bitbank, small_disk, resource
):
    cache_dir = small_disk / "cache"
    _fetch(fake_bitbank, cache_dir, days=2)
    before = (cache_dir / CACHE_FILE).read_bytes()
    filler = filesystems.Filler(small_disk)
    # No space: refused by the room check before writing. No inode: the check passes (there is
    # space) and creating the temporary file fails.
    {"space": filler.fill_space, "inodes": filler.exhaust_inodes}[resource]()

    with pytest.raises(StorageError) as caught:
        _fetch(fake_bitbank, cache_dir, days=3)
    message = str(caught.value)
    assert "\n" not in message and str(cache_dir) in message, message
    assert "needed" in message and "data.cache_dir" in message, message
    assert sorted(path.name for path in cache_dir.iterdir()) == [CACHE_FILE]
    assert (cache_dir / CACHE_FILE).read_bytes() == before

    filler.release()  # room again: the update goes through
    _fetch(fake_bitbank, cache_dir, days=3)
    updated = pd.read_parquet(cache_dir / CACHE_FILE)
    assert len(updated) > len(pd.read_parquet(io.BytesIO(before)))
