"""Discord webhook alerts: one post, retried with back-off, never raising, never revealing the URL.

The URL holds a secret token: it is read from the environment only at the CLI edge and is never
logged, returned or put in a message (requests' exception texts carry it, so they are not used).
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import requests

from src.config import AlertConfig

logger = logging.getLogger(__name__)

WEBHOOK_ENV_VAR = "DISCORD_WEBHOOK_URL"
_TITLE_LIMIT, _DESCRIPTION_LIMIT = 256, 4096  # Discord's embed limits (6000 in all)
_COLOURS = {"success": 0x2ECC71, "warning": 0xF1C40F, "failure": 0xE74C3C}
# urllib3 logs request paths at DEBUG, and a webhook's path is its secret.
_LIBRARY_LOGGERS = ("urllib3.connectionpool", "urllib3.poolmanager", "urllib3.util.retry")


@dataclass(frozen=True)
class AlertResult:
    delivered: bool
    attempts: int
    detail: str


@dataclass(frozen=True)
class _Attempt:
    delivered: bool
    retryable: bool
    detail: str
    retry_after_s: float = 0.0


def webhook_url_from_env() -> str | None:
    """The webhook URL from DISCORD_WEBHOOK_URL, or None when it is unset or blank."""
    return os.environ.get(WEBHOOK_ENV_VAR, "").strip() or None


def send_alert(
    title: str,
    lines: list[str],
    level: Literal["success", "warning", "failure"],
    webhook_url: str | None,
    config: AlertConfig,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> AlertResult:
    """Post one embed to the Discord webhook; never raises, so an alert cannot break a run."""
    if not webhook_url:
        return AlertResult(False, 0, f"{WEBHOOK_ENV_VAR} not set")
    if level not in _COLOURS:
        return AlertResult(False, 0, f"unknown alert level {level!r}; use one of {list(_COLOURS)}")
    try:
        embed = {
            "title": _truncate(str(title), _TITLE_LIMIT),
            "description": _truncate("\n".join(map(str, lines)), _DESCRIPTION_LIMIT),
            "color": _COLOURS[level],
        }
        # allowed_mentions: text in an alert must never ping @everyone.
        payload = {"embeds": [embed], "allowed_mentions": {"parse": []}}
        with _Redactor(webhook_url) as redactor:
            result = _deliver(payload, webhook_url, config, sleep, redactor)
    except Exception as exc:  # the alert must never fail the run it reports on
        result = AlertResult(False, 0, f"unexpected {type(exc).__name__} sending the alert")
    level_no = logging.INFO if result.delivered else logging.WARNING
    logger.log(level_no, "discord alert after %d attempt(s): %s", result.attempts, result.detail)
    return result


def _deliver(
    payload: dict, url: str, config: AlertConfig, sleep: Callable, redactor: _Redactor
) -> AlertResult:
    # Worst case: every attempt times out, plus a linear (not exponential) share of back-off.
    budget_s = config.timeout_s * (config.max_retries + 1) + config.backoff_s * config.max_retries
    spent_s, attempts = 0.0, 0
    while True:
        attempts += 1
        started = time.monotonic()
        outcome = _post_once(url, payload, min(config.timeout_s, budget_s - spent_s), redactor)
        spent_s += time.monotonic() - started
        if outcome.delivered or not outcome.retryable:
            return AlertResult(outcome.delivered, attempts, outcome.detail)
        delay_s = max(config.backoff_s * 2 ** (attempts - 1), outcome.retry_after_s)
        if attempts > config.max_retries or spent_s + delay_s >= budget_s:
            limits = f"{config.max_retries} retries, {budget_s:.1f} s budget"
            return AlertResult(False, attempts, f"gave up ({limits}); last: {outcome.detail}")
        logger.warning(
            "discord alert attempt %d: %s; retry in %.2f s", attempts, outcome.detail, delay_s
        )
        sleep(delay_s)
        spent_s += delay_s


def _post_once(url: str, payload: dict, timeout_s: float, redactor: _Redactor) -> _Attempt:
    try:
        response = requests.post(url, json=payload, timeout=timeout_s, allow_redirects=False)
    except (requests.Timeout, requests.ConnectionError) as exc:
        return _Attempt(False, True, f"{type(exc).__name__} reaching the discord webhook")
    except requests.RequestException as exc:
        return _Attempt(False, False, f"{type(exc).__name__}: discord webhook request not sent")
    status = response.status_code
    if 200 <= status < 300:
        return _Attempt(True, False, f"delivered (HTTP {status})")
    if status == 429:
        return _Attempt(False, True, "HTTP 429 rate limited", _retry_after_s(response))
    if status >= 500:
        return _Attempt(False, True, f"HTTP {status} from the discord webhook")
    message = redactor.redact(str(_json_field(response, "message") or "no error message"))
    return _Attempt(
        False, False, f"HTTP {status} from the discord webhook, not retried: {message[:200]}"
    )


def _retry_after_s(response: requests.Response) -> float:
    """Seconds to wait from the Retry-After header or Discord's JSON `retry_after`, else 0."""
    candidates = [response.headers.get("Retry-After"), _json_field(response, "retry_after")]
    for value in candidates:
        with contextlib.suppress(TypeError, ValueError):
            if 0.0 <= float(value) < float("inf"):
                return float(value)
    return 0.0


def _json_field(response: requests.Response, name: str) -> object:
    with contextlib.suppress(ValueError, AttributeError):
        return response.json().get(name)
    return None


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Redactor(logging.Filter):
    """While entered, rewrites urllib3's log records so the URL and its secret parts never show."""

    def __init__(self, url: str) -> None:
        super().__init__()
        # urllib3 logs the request target (path and query) without the host. Nothing after the
        # host may show: the path holds the token, the query the thread. Longest first, so a
        # part is never replaced inside a longer secret and left half visible.
        target = "/" + url.split("://", 1)[-1].partition("/")[2].split("#")[0]
        path, _, query = target.partition("?")
        parts = {url, target, path, f"?{query}" if query else ""}
        self._secrets = sorted((part for part in parts if len(part) > 1), key=len, reverse=True)
        self._loggers = [logging.getLogger(name) for name in _LIBRARY_LOGGERS]

    def redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "<discord webhook>")
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(secret in message for secret in self._secrets):
            record.msg, record.args = self.redact(message), ()
        return True

    def __enter__(self) -> _Redactor:
        for library_logger in self._loggers:
            library_logger.addFilter(self)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for library_logger in self._loggers:
            library_logger.removeFilter(self)
