"""send_alert against a real local HTTP server: delivery, retries, time budget, no URL leaks."""

from __future__ import annotations

import logging
import socket
import time
from collections.abc import Iterator

import pytest

from src.alerts.discord import AlertResult, send_alert, webhook_url_from_env
from src.config import AlertConfig
from tests.support.fake_discord import SECRET_PATH, FakeDiscord, Reply, running_fake_discord

THREAD_QUERY = "?wait=true&thread_id=987654321"  # Discord's options: post into a thread, wait
FAST = AlertConfig(timeout_s=0.3, max_retries=2, backoff_s=0.01)


@pytest.fixture
def discord() -> Iterator[FakeDiscord]:
    with running_fake_discord() as server:
        yield server


@pytest.fixture
def waits() -> list[float]:
    return []


def _send(url: str | None, waits: list[float], config: AlertConfig = FAST, **kw) -> AlertResult:
    return send_alert(
        kw.get("title", "Gate"),
        kw.get("lines", ["f1 0.55", "mcc 0.02"]),
        kw.get("level", "failure"),
        url,
        config,
        sleep=waits.append,
    )


def _refused_url() -> str:
    with socket.socket() as probe:  # bind then close: nothing listens on this port afterwards
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}{SECRET_PATH}"


@pytest.mark.parametrize(
    ("level", "colour"), [("success", 0x2ECC71), ("warning", 0xF1C40F), ("failure", 0xE74C3C)]
)
def test_success_posts_one_embed(discord: FakeDiscord, waits, level, colour) -> None:
    result = _send(discord.url, waits, level=level)

    assert result == AlertResult(True, 1, "delivered (HTTP 204)")
    [received] = discord.requests
    assert received["path"] == SECRET_PATH
    assert received["content_type"] == "application/json"
    assert received["json"] == {
        "embeds": [{"title": "Gate", "description": "f1 0.55\nmcc 0.02", "color": colour}],
        "allowed_mentions": {"parse": []},
    }
    assert waits == []


def test_long_title_and_lines_are_truncated_to_discord_limits(discord, waits) -> None:
    result = _send(discord.url, waits, title="T" * 300, lines=["x" * 100] * 100)

    assert result.delivered
    embed = discord.requests[0]["json"]["embeds"][0]
    assert len(embed["title"]) == 256 and embed["title"].endswith("…")
    assert len(embed["description"]) == 4096 and embed["description"].endswith("…")


@pytest.mark.parametrize(
    ("reply", "expected_wait"),
    [
        (Reply(429, headers={"Retry-After": "1.5"}), 1.5),
        (Reply(429, body={"message": "rate limited", "retry_after": 0.75}), 0.75),
        (Reply(429), 0.01),  # no hint: plain back-off
    ],
)
def test_429_waits_as_told_then_delivers(discord, waits, reply, expected_wait) -> None:
    discord.script = [reply]

    result = _send(discord.url, waits, AlertConfig(timeout_s=1.0, max_retries=2, backoff_s=0.01))

    assert (result.delivered, result.attempts) == (True, 2)
    assert waits == [expected_wait]
    assert len(discord.requests) == 2


def test_retry_after_beyond_the_time_budget_gives_up_without_waiting(discord, waits) -> None:
    discord.script = [Reply(429, headers={"Retry-After": "600"})]

    result = _send(discord.url, waits)

    assert (result.delivered, result.attempts, waits) == (False, 1, [])
    assert "HTTP 429" in result.detail and "budget" in result.detail


def test_server_error_is_retried_with_exponential_backoff(discord, waits) -> None:
    discord.script = [Reply(500), Reply(503)]

    result = _send(discord.url, waits)

    assert (result.delivered, result.attempts) == (True, 3)
    assert waits == [0.01, 0.02]


def test_persistent_server_error_stops_after_max_retries(discord, waits) -> None:
    discord.script = [Reply(502)] * 10

    result = _send(discord.url, waits)

    assert (result.delivered, result.attempts) == (False, 3)
    assert "HTTP 502" in result.detail
    assert len(discord.requests) == 3


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_error_is_not_retried(discord, waits, status) -> None:
    discord.script = [Reply(status, body={"message": "Invalid Webhook Token", "code": 50027})]

    result = _send(discord.url, waits)

    assert (result.delivered, result.attempts, waits) == (False, 1, [])
    assert f"HTTP {status}" in result.detail and "Invalid Webhook Token" in result.detail


def test_hanging_webhook_times_out_quickly_without_raising(discord, waits) -> None:
    discord.script = [Reply(delay_s=3.0), Reply(delay_s=3.0)]  # far past any timeout below
    config = AlertConfig(timeout_s=0.3, max_retries=1, backoff_s=0.01)

    started = time.monotonic()
    result = _send(discord.url, waits, config)
    elapsed_s = time.monotonic() - started

    assert (result.delivered, result.attempts) == (False, 2)
    assert "ReadTimeout" in result.detail
    # Two 0.3 s timeouts plus scheduling slack on a loaded CI machine; waiting for the hung
    # replies instead would take 6 s.
    assert elapsed_s < 0.3 * 2 + 1.0


def test_connection_refused_is_retried_then_reported(waits) -> None:
    result = _send(_refused_url(), waits)

    assert (result.delivered, result.attempts) == (False, 3)
    assert "ConnectionError" in result.detail
    assert waits == [0.01, 0.02]


def test_missing_url_sends_nothing(discord, waits) -> None:
    assert _send(None, waits) == AlertResult(False, 0, "DISCORD_WEBHOOK_URL not set")
    assert _send("", waits).detail == "DISCORD_WEBHOOK_URL not set"
    assert discord.requests == []


@pytest.mark.parametrize("url", ["not a url/api/webhooks/1/SECRET-TOKEN", "ftp://x/SECRET-TOKEN"])
def test_malformed_url_is_reported_without_raising_or_echoing_it(waits, url) -> None:
    result = _send(url, waits)

    assert (result.delivered, result.attempts) == (False, 1)
    assert "SECRET-TOKEN" not in result.detail


@pytest.mark.parametrize(
    "script",
    [
        [],
        [Reply(429, headers={"Retry-After": "0"}), Reply(500)],
        [Reply(404, body={"message": f"no webhook at {SECRET_PATH}"})],  # echoed path
        [Reply(delay_s=0.6)] * 3,
        "refused",
    ],
    ids=["success", "retried", "client-error", "timeout", "refused"],
)
@pytest.mark.parametrize("query", ["", THREAD_QUERY], ids=["no query", "query"])
def test_webhook_url_never_leaks(discord, waits, caplog, capsys, script, query) -> None:
    caplog.set_level(logging.DEBUG)
    url = (_refused_url() if script == "refused" else discord.url) + query
    discord.script = [] if script == "refused" else list(script)

    result = _send(url, waits, AlertConfig(timeout_s=0.2, max_retries=2, backoff_s=0.0))

    captured = capsys.readouterr()
    records = [record.getMessage() for record in caplog.records]
    assert any(record.name.startswith("urllib3") for record in caplog.records)  # it did log
    for text in [caplog.text, *records, captured.out, captured.err, repr(result)]:
        assert url not in text and "SECRET-TOKEN" not in text
        assert "thread_id" not in text and "wait=true" not in text
    assert logging.getLogger("urllib3.connectionpool").filters == []


def test_webhook_url_from_env(monkeypatch) -> None:
    monkeypatch.setenv("DISCORD_WEBHOOK_URL", "https://discord.com/api/webhooks/1/abc")
    assert webhook_url_from_env() == "https://discord.com/api/webhooks/1/abc"
    monkeypatch.setenv("DISCORD_WEBHOOK_URL", "   ")
    assert webhook_url_from_env() is None
    monkeypatch.delenv("DISCORD_WEBHOOK_URL")
    assert webhook_url_from_env() is None
