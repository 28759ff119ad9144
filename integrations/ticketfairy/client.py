"""HTTP client for TicketFairy's draft-events API.

Every non-2xx answer raises: the original project recorded HTTP errors as
successes because its client never did.  The API key travels only in the
``Authorization`` header and is redacted (whole, URL-encoded or cut short)
from anything that becomes an exception message or a log line, including
text the API echoes back.

A destination cannot hold a batch hostage: each request has one total
deadline (connect, send and the whole answer), and at most
``MAX_BODY_BYTES`` of an answer is read.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import SecretStr

from integrations.base import BODY_PROBLEM_KEY, BaseClient
from integrations.errors import PermanentSubmitError, RetryableSubmitError
from integrations.http import LoopBoundHttp, parse_retry_after
from integrations.redaction import Redactor
from integrations.ticketfairy.config import DEFAULT_ORIGIN, ENV_PREFIX

__all__ = ["DRAFT_EVENTS_PATH", "TicketFairyClient", "parse_retry_after"]

logger = logging.getLogger(__name__)

DRAFT_EVENTS_PATH = "/api/draft-events"
#: How much of a response body may end up in an error message.
BODY_EXCERPT_LIMIT = 300
#: How much of a response body is read at all; the rest is discarded unread.
MAX_BODY_BYTES = 64 * 1024
_RETRYABLE_STATUSES = frozenset({408, 429})
# A refused key is the deployment's problem, not the event's: retry (with the key
# read afresh) instead of failing every event for good while it is being fixed.
_AUTH_STATUSES = frozenset({401, 403})

#: Gives the API key; called with ``True`` to skip any cache after the key was refused.
KeyProvider = Callable[[bool], SecretStr]


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
        self._redactor = Redactor()
        self._api_key = self._key_provider(False)
        self._redactor.add(self._api_key.get_secret_value())
        self._key_refused = False
        self._http = LoopBoundHttp(http_client, timeout=timeout)

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

    async def delete(self, remote_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """DELETE the draft ``remote_id``; errors as for ``submit``, but a draft already gone is done.

        Sent without a key: deleting a draft that is already gone counts as done.
        """
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
            # One deadline for the whole exchange: httpx's timeouts are per phase and per read,
            # so a server dripping a byte at a time could otherwise hold the batch for ever.
            async with asyncio.timeout(self.timeout):
                answer = await self._exchange(method, url, data, headers)
        except (TimeoutError, httpx.TimeoutException) as exc:
            message = f"TicketFairy did not answer within {self.timeout:g}s ({type(exc).__name__})"
            logger.warning(message)
            raise RetryableSubmitError(message) from exc
        except httpx.TransportError as exc:
            # Only a failed connect proves nothing was sent; after that the request may have been acted on.
            what = "could not reach TicketFairy" if isinstance(exc, httpx.ConnectError) else "lost TicketFairy's answer"
            message = f"{what}: {type(exc).__name__}: {self._redact(str(exc)) or 'connection closed'}"
            logger.warning(message)
            raise RetryableSubmitError(message) from exc
        return self._outcome(answer)

    async def _exchange(self, method: str, url: str, data: dict[str, Any] | None, headers: dict[str, str]) -> _Answer:
        """Send the request and read at most ``MAX_BODY_BYTES`` of the answer; the rest is never read."""
        # The per-phase timeout also applies to an injected client.
        async with self._http.get().stream(method, url, json=data, headers=headers, timeout=self.timeout) as response:
            body = bytearray()
            cut = False
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY_BYTES:
                    del body[MAX_BODY_BYTES:]
                    cut = True
                    break  # leaving the block closes the connection: the remainder is discarded
            text = bytes(body).decode(response.encoding or "utf-8", errors="replace")
            return _Answer(response.status_code, response.headers, response.reason_phrase, text, cut)

    def _current_key(self) -> SecretStr:
        self._api_key = self._key_provider(self._key_refused)
        self._redactor.add(self._api_key.get_secret_value())
        self._key_refused = False
        return self._api_key

    def _outcome(self, answer: _Answer) -> dict[str, Any]:
        status = answer.status
        if 200 <= status < 300:
            return self._success_body(answer)
        detail = self._error_detail(answer)
        if status in _AUTH_STATUSES:
            self._key_refused = True
            message = f"TicketFairy refused the API key (HTTP {status}): {detail}; check {ENV_PREFIX}API_KEY*"
            logger.warning(message)
            raise RetryableSubmitError(message, status_code=status)
        if status in _RETRYABLE_STATUSES or status >= 500:
            retry_after = parse_retry_after(answer.headers.get("Retry-After"))
            message = f"TicketFairy is unavailable (HTTP {status}): {detail}"
            logger.warning("%s; retry after %s s", message, retry_after)
            raise RetryableSubmitError(message, status_code=status, retry_after=retry_after)
        if 300 <= status < 400:
            # Redirects are not followed: a POST must not silently turn into a GET elsewhere.
            location = _excerpt(self._redact(answer.headers.get("Location", "?")))
            message = f"TicketFairy answered HTTP {status}, a redirect to {location}: check {ENV_PREFIX}BASE_URL"
        else:
            message = f"TicketFairy rejected the event (HTTP {status}): {detail}"
        logger.warning(message)
        raise PermanentSubmitError(message, status_code=status)

    @staticmethod
    def _success_body(answer: _Answer) -> dict[str, Any]:
        """The decoded JSON object of a 2xx, or a ``BODY_PROBLEM_KEY`` saying why there is none.

        Never an excerpt of the text: a record keeps whitelisted fields only.
        """
        if answer.cut:
            return {BODY_PROBLEM_KEY: f"the body is larger than {MAX_BODY_BYTES // 1024} KiB and was not read"}
        if not answer.text.strip():
            return {}
        try:
            body = json.loads(answer.text)
        except (ValueError, RecursionError):
            return {BODY_PROBLEM_KEY: "the body is not JSON"}
        if not isinstance(body, dict):
            return {BODY_PROBLEM_KEY: f"the body is a JSON {type(body).__name__}, not an object"}
        return body

    def _error_detail(self, answer: _Answer) -> str:
        try:
            message = None if answer.cut else _message_from_json(json.loads(answer.text))
        except (ValueError, RecursionError):
            message = None
        if not message:
            message = answer.text.strip() or answer.reason_phrase or "no response body"
        return _excerpt(self._redact(message))

    def _redact(self, text: str) -> str:
        return self._redactor(text)

    def redact(self, text: str) -> str:
        """``text`` with every form of any API key this client has used replaced."""
        return self._redactor(text)

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        await self._http.aclose()


@dataclass(frozen=True)
class _Answer:
    """The part of a response the client looks at: at most ``MAX_BODY_BYTES`` of its body."""

    status: int
    headers: httpx.Headers
    reason_phrase: str
    text: str
    cut: bool


def _excerpt(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= BODY_EXCERPT_LIMIT else text[: BODY_EXCERPT_LIMIT - 1] + "…"


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
