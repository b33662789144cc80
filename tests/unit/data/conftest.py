"""The `fake_bitbank` fixture: a local bitbank server (tests/support/fake_bitbank.py), started
for one test and stopped after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.fake_bitbank import FakeBitbank


@pytest.fixture
def fake_bitbank() -> Iterator[FakeBitbank]:
    server = FakeBitbank()
    server.start()
    try:
        yield server
    finally:
        server.stop()
