"""HTTP client for TicketFairy's draft-events API.

Every non-2xx answer raises: the original project recorded HTTP errors as
successes because its client never did.  The API key travels only in the
``Authorization`` header and is redacted from anything that becomes an
exception message or a log line, including text the API echoes back.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import logging
import math
from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from integrations.base import BaseClient
from integrations.errors import PermanentSubmitError, RetryableSubmitError
from integrations.ticketfairy.config import DEFAULT_ORIGIN, ENV_PREFIX

__all__ = ["DRAFT_EVENTS_PATH", "TicketFairyClient", "parse_retry_after"]

logger = logging.getLogger(__name__)

DRAFT_EVENTS_PATH = "/api/draft-events"
#: How much of a response body may end up in an error message or a record.
BODY_EXCERPT_LIMIT = 300
_RETRYABLE_STATUSES = frozenset({408, 429})
# A refused key is the deployment's problem, not the event's: retry (with the key
# read afresh) instead of failing every event for good while it is being fixed.
_AUTH_STATUSES = frozenset({401, 403})

#: Gives the API key; called with ``True`` to skip any cache after the key was refused.
KeyProvider = Callable[[bool], SecretStr]
_REDACTED = "[redacted]"


class TicketFairyClient(BaseClient):
    """Creates draft events on TicketFairy.

    Pass ``http_client`` to share a connection pool (or a mocked transport);
    otherwise one is created on first use and closed by ``aclose``.  A client
    that was passed in is left open: its owner closes it.
    """

    def __init__(
        self,
        base_url: str,
        api_key: SecretStr | KeyProvider,
        timeout: float,
        http_client: httpx.AsyncClient | None = None,
        origin: str = DEFAULT_ORIGIN,
    ) -> None:
        self.url = base_url.rstrip("/") + DRAFT_EVENTS_PATH
        self.timeout = timeout
        self.origin = origin
        self._key_provider: KeyProvider = (lambda force: api_key) if isinstance(api_key, SecretStr) else api_key
        self._api_key = self._key_provider(False)
        self._key_refused = False
        self._http = http_client
        self._owns_http = http_client is None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _client(self) -> httpx.AsyncClient:
        loop = asyncio.get_running_loop()
        if self._owns_http and self._http is not None and self._loop is not loop:
            # Outside Lambda each invocation may run on a new event loop, and pooled
            # connections belong to the loop that opened them: start a fresh pool.
            self._http = None
        if self._http is None:
            self._http = httpx.AsyncClient(timeout=self.timeout)
            self._loop = loop
        return self._http

    async def submit(self, data: dict[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """POST ``data`` as a draft event; return the decoded response body (``{}`` if empty).

        Raises ``RetryableSubmitError`` on timeouts, connection errors, 408,
        429 and 5xx (with ``retry_after`` from ``Retry-After``), and
        ``PermanentSubmitError`` with the API's own message on any other
        non-2xx status.
        """
        return await self._send("POST", self.url, data, idempotency_key)

    async def update(
        self, remote_id: str, data: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """PATCH the draft ``remote_id`` with ``data``; errors as for ``submit``."""
        return await self._send("PATCH", f"{self.url}/{quote(remote_id, safe='')}", data, idempotency_key)

    async def delete(self, remote_id: str) -> dict[str, Any]:
        """DELETE the draft ``remote_id``; errors as for ``submit``, but a draft already gone is done."""
        try:
            return await self._send("DELETE", f"{self.url}/{quote(remote_id, safe='')}", None, None)
        except PermanentSubmitError as exc:
            if exc.status_code in (404, 410):  # someone withdrew it already: the goal is met
                return {"deleted": remote_id, "note": f"already gone (HTTP {exc.status_code})"}
            raise

    async def _send(
        self, method: str, url: str, data: dict[str, Any] | None, idempotency_key: str | None
    ) -> dict[str, Any]:
        headers = {
            "Authorization": f"Bearer {self._current_key().get_secret_value()}",
            "Accept": "application/json",
            # The original client sent it, and the API may check it: keep sending it.
            "Origin": self.origin,
        }
        if data is not None:
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        try:
            # The per-request timeout also applies to an injected client.
            response = await self._client().request(method, url, json=data, headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            message = f"TicketFairy did not answer within {self.timeout:g}s ({type(exc).__name__})"
            logger.warning(message)
            raise RetryableSubmitError(message) from exc
        except httpx.TransportError as exc:
            message = f"could not reach TicketFairy: {type(exc).__name__}: {self._redact(str(exc))}"
            logger.warning(message)
            raise RetryableSubmitError(message) from exc
        return self._outcome(response)

    def _current_key(self) -> SecretStr:
        self._api_key = self._key_provider(self._key_refused)
        self._key_refused = False
        return self._api_key

    def _outcome(self, response: httpx.Response) -> dict[str, Any]:
        status = response.status_code
        if 200 <= status < 300:
            return self._success_body(response)
        detail = self._error_detail(response)
        if status in _AUTH_STATUSES:
            self._key_refused = True
            message = f"TicketFairy refused the API key (HTTP {status}): {detail}; check {ENV_PREFIX}API_KEY*"
            logger.warning(message)
            raise RetryableSubmitError(message, status_code=status)
        if status in _RETRYABLE_STATUSES or status >= 500:
            retry_after = parse_retry_after(response.headers.get("Retry-After"))
            message = f"TicketFairy is unavailable (HTTP {status}): {detail}"
            logger.warning("%s; retry after %s s", message, retry_after)
            raise RetryableSubmitError(message, status_code=status, retry_after=retry_after)
        if 300 <= status < 400:
            # Redirects are not followed: a POST must not silently turn into a GET elsewhere.
            location = self._redact(response.headers.get("Location", "?"))
            message = f"TicketFairy answered HTTP {status}, a redirect to {location}: check {ENV_PREFIX}BASE_URL"
        else:
            message = f"TicketFairy rejected the event (HTTP {status}): {detail}"
        logger.warning(message)
        raise PermanentSubmitError(message, status_code=status)

    def _success_body(self, response: httpx.Response) -> dict[str, Any]:
        text = response.text
        if not text.strip():
            return {}
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict):
            return body
        # A 2xx is a success whatever its body; keep an excerpt for the record.
        return {"raw": self._redact(text)[:BODY_EXCERPT_LIMIT]}

    def _error_detail(self, response: httpx.Response) -> str:
        try:
            message = _message_from_json(response.json())
        except ValueError:
            message = None
        if not message:
            message = response.text.strip() or response.reason_phrase or "no response body"
        message = " ".join(self._redact(message).split())
        if len(message) > BODY_EXCERPT_LIMIT:
            message = message[: BODY_EXCERPT_LIMIT - 1] + "…"
        return message

    def _redact(self, text: str) -> str:
        key = self._api_key.get_secret_value()
        return text.replace(key, _REDACTED) if key else text

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None


def _message_from_json(body: object) -> str | None:
    """The human-readable error in a JSON body: JSON:API ``errors``, ``message``, ``error`` or ``detail``."""
    if not isinstance(body, Mapping):
        return None
    errors = body.get("errors")
    parts: list[str] = []
    if isinstance(errors, list):
        parts = [text for item in errors if (text := _error_item(item))]
    elif isinstance(errors, Mapping):
        # Rails-style {"field": ["message", ...]}.
        for field, messages in errors.items():
            items = messages if isinstance(messages, list) else [messages]
            parts.extend(f"{field}: {item}" for item in items if isinstance(item, str) and item)
    if parts:
        return "; ".join(parts)
    for key in ("message", "error", "detail", "title"):
        value = body.get(key)
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, Mapping) and isinstance(value.get("message"), str):
            return str(value["message"])
    return None


def _error_item(item: object) -> str | None:
    if isinstance(item, str):
        return item or None
    if not isinstance(item, Mapping):
        return None
    text = item.get("detail") or item.get("title") or item.get("message")
    if not isinstance(text, str) or not text:
        return None
    source = item.get("source")
    pointer = source.get("pointer") if isinstance(source, Mapping) else None
    return f"{pointer}: {text}" if isinstance(pointer, str) and pointer else text


def parse_retry_after(value: str | None, *, now: dt.datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP-date).

    ``None`` when the header is absent or unreadable; a date in the past gives 0.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        seconds = (when - (now or dt.datetime.now(dt.UTC))).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)
