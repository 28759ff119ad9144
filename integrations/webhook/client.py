"""HTTP client posting Standard Webhooks messages, signed with the ``standardwebhooks`` package.

Headers per the specification: ``webhook-id`` (``msg_`` + a hash of the event
version's idempotency key, so every retry of one version carries the same id
and receivers drop repeats), ``webhook-timestamp`` and ``webhook-signature``
(one ``v1,…`` signature per configured secret, space-separated: during a
rotation receivers holding either secret verify the message).

Answers, as the specification maps them: 2xx is delivered; 410 Gone is
``EndpointGoneError`` (the endpoint asks to receive nothing more); 408, 429
and 5xx are retried, honouring ``Retry-After``; any other status is a
permanent failure.  Redirects are not followed.  No secret is ever part of a
message this client raises: the secrets only ever reach the signing library.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from typing import Any

import httpx
from standardwebhooks import Webhook

from integrations.base import BaseClient
from integrations.errors import EndpointGoneError, PermanentSubmitError, RetryableSubmitError
from integrations.http import LoopBoundHttp, parse_retry_after
from integrations.redaction import Redactor

__all__ = ["EVENT_TYPES", "WebhookClient", "message_id"]

logger = logging.getLogger(__name__)

EVENT_TYPES = {"submit": "event.created", "update": "event.updated", "delete": "event.removed"}
#: How much of an answer is read (for an error message); the rest is discarded unread.
MAX_BODY_BYTES = 16 * 1024
BODY_EXCERPT_LIMIT = 200
_RETRYABLE_STATUSES = frozenset({408, 429})

SecretsProvider = Callable[[], Sequence[str]]


def message_id(idempotency_key: str) -> str:
    """The ``webhook-id`` of a message: stable for one event version, unique across versions."""
    return "msg_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:32]


class WebhookClient(BaseClient):
    """Posts signed messages to one endpoint.

    ``secrets`` gives the current signing secrets (read per request, so a
    rotation reaches a warm function through the parameter cache).
    """

    def __init__(
        self,
        url: str,
        secrets: SecretsProvider | Sequence[str],
        timeout: float,
        http_client: httpx.AsyncClient | None = None,
        clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
    ) -> None:
        self.url = url
        self.timeout = timeout
        self._secrets: SecretsProvider = secrets if callable(secrets) else (lambda: list(secrets))
        self._redactor = Redactor()
        self._clock = clock
        self._http = LoopBoundHttp(http_client, timeout=timeout, follow_redirects=False)

    async def submit(self, data: dict[str, Any], *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Post ``event.created``; the event's id is its id at the receiver."""
        return await self._post("submit", data, idempotency_key)

    async def update(
        self, remote_id: str, data: dict[str, Any], *, idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Post ``event.updated`` for the event ``remote_id``."""
        return await self._post("update", data, idempotency_key)

    async def delete(self, remote_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Post ``event.removed`` for the event ``remote_id``."""
        return await self._post("delete", {"event_id": remote_id}, idempotency_key)

    def remote_id(self, response: Any) -> str | None:
        value = response.get("id") if isinstance(response, dict) else None
        return value if isinstance(value, str) and value else None

    def redact(self, text: str) -> str:
        """``text`` without any signing secret this client has used."""
        return self._redactor(text)

    def sign(self, msg_id: str, timestamp: dt.datetime, body: str) -> str:
        """The ``webhook-signature`` header: one signature per current secret."""
        secrets = list(self._secrets())
        for secret in secrets:
            self._redactor.add(secret)
        return " ".join(Webhook(secret).sign(msg_id, timestamp, body) for secret in secrets)

    async def _post(self, kind: str, data: dict[str, Any], idempotency_key: str | None) -> dict[str, Any]:
        timestamp = self._clock()
        body = json.dumps(
            {"type": EVENT_TYPES[kind], "timestamp": timestamp.isoformat(), "data": data},
            separators=(",", ":"),
            ensure_ascii=False,
        )
        msg_id = message_id(idempotency_key or body)
        headers = {
            "content-type": "application/json",
            "webhook-id": msg_id,
            "webhook-timestamp": str(int(timestamp.timestamp())),
            "webhook-signature": self.sign(msg_id, timestamp, body),
        }
        try:
            async with asyncio.timeout(self.timeout):
                status, answer_headers, text = await self._exchange(body, headers)
        except (TimeoutError, httpx.TimeoutException) as exc:
            raise RetryableSubmitError(
                f"the webhook endpoint did not answer within {self.timeout:g}s ({type(exc).__name__})"
            ) from exc
        except httpx.TransportError as exc:
            what = "could not reach" if isinstance(exc, httpx.ConnectError) else "lost the answer of"
            detail = self.redact(str(exc)) or "connection closed"
            raise RetryableSubmitError(f"{what} the webhook endpoint: {type(exc).__name__}: {detail}") from exc
        return self._outcome(status, answer_headers, text, data)

    async def _exchange(self, body: str, headers: dict[str, str]) -> tuple[int, httpx.Headers, str]:
        async with self._http.get().stream(
            "POST", self.url, content=body.encode(), headers=headers, timeout=self.timeout
        ) as response:
            raw = bytearray()
            async for chunk in response.aiter_bytes():
                raw += chunk
                if len(raw) > MAX_BODY_BYTES:
                    break  # leaving the block closes the connection: the remainder is discarded
            return response.status_code, response.headers, bytes(raw[:MAX_BODY_BYTES]).decode(errors="replace")

    def _outcome(self, status: int, headers: httpx.Headers, text: str, data: dict[str, Any]) -> dict[str, Any]:
        if 200 <= status < 300:
            event_id = data.get("event_id")
            return {"id": event_id, "status": status} if isinstance(event_id, str) else {"status": status}
        detail = " ".join(self.redact(text).split())[:BODY_EXCERPT_LIMIT] or "no response body"
        if status == 410:
            raise EndpointGoneError(
                f"the webhook endpoint is gone (HTTP 410): {detail}; it is disabled until an operator re-enables it",
                status_code=status,
            )
        if status in _RETRYABLE_STATUSES or status >= 500:
            retry_after = parse_retry_after(headers.get("Retry-After"))
            message = f"the webhook endpoint is unavailable (HTTP {status}): {detail}"
            logger.warning("%s; retry after %s s", message, retry_after)
            raise RetryableSubmitError(message, status_code=status, retry_after=retry_after)
        if 300 <= status < 400:
            message = f"the webhook endpoint answered HTTP {status} (a redirect, not followed): check WEBHOOK_URL"
        else:
            message = f"the webhook endpoint rejected the message (HTTP {status}): {detail}"
        raise PermanentSubmitError(message, status_code=status)

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        await self._http.aclose()
