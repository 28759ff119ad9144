"""A Standard Webhooks receiver on loopback, for the demo and end-to-end tests.

``WebhookReceiver`` is a real HTTP server (stdlib only) on ``127.0.0.1`` that
verifies every message's signature with the ``standardwebhooks`` package, as
a receiver should, and records what it accepted:

* a message whose signature does not verify (or is too old) gets ``401`` and is
  counted ``invalid``; none ever should be (a request cut short by its sender
  is counted ``incomplete`` instead: there is nothing to verify);
* a ``webhook-id`` seen before on an accepted message is acknowledged (``200``)
  and counted ``duplicate``, never applied twice: receivers dedupe on the id;
* ``event.created`` / ``event.updated`` upsert the event under its ``event_id``,
  ``event.removed`` drops it;
* ``gone`` set: every message gets ``410 Gone`` (an endpoint that was retired).

``ReceiverFaults`` injects 503s and 429s with ``Retry-After`` for fault-injection
tests, drawn from a seeded random sequence.
"""

from __future__ import annotations

import functools
import json
import random
import threading
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

__all__ = ["ReceivedMessage", "ReceiverFaults", "WebhookReceiver"]

MAX_BODY_BYTES = 1024 * 1024


@dataclass(frozen=True)
class ReceiverFaults:
    """Shares of messages answered ``503`` and ``429`` (with ``Retry-After``), from a seeded sequence."""

    seed: int = 0
    fail_503: float = 0.0
    fail_429: float = 0.0
    retry_after_seconds: int = 1


@dataclass(frozen=True)
class ReceivedMessage:
    """One accepted message: its id, type and body."""

    msg_id: str
    type: str
    body: dict[str, Any]


class WebhookReceiver:
    """A loopback webhook endpoint that verifies every signature with any of ``secrets``."""

    def __init__(self, secrets: list[str], faults: ReceiverFaults | None = None) -> None:
        if not secrets:
            raise ValueError("a receiver needs at least one signing secret")
        self._verifiers = [Webhook(secret) for secret in secrets]
        self._lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._url: str | None = None
        self._messages: list[ReceivedMessage] = []
        self._seen: set[str] = set()
        self._events: dict[str, dict[str, Any]] = {}
        self._counts: Counter[str] = Counter()
        self.gone = False
        self.set_faults(faults)

    # -- lifecycle ---------------------------------------------------------------------

    def start(self) -> str:
        """Serve in a background thread; return the endpoint URL."""
        if self._url is not None:
            return self._url
        server = _Server(("127.0.0.1", 0), functools.partial(_Handler, receiver=self))
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._server, self._thread = server, thread
        self._url = f"http://127.0.0.1:{server.server_address[1]}/hooks/events"
        return self._url

    def stop(self) -> None:
        """Stop serving and free the port. Idempotent."""
        server, thread = self._server, self._thread
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if thread is not None:
            thread.join()
        self._server = self._thread = self._url = None

    @property
    def url(self) -> str:
        if self._url is None:
            raise RuntimeError("the receiver is not running: call start() first")
        return self._url

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    # -- state -------------------------------------------------------------------------

    def set_faults(self, faults: ReceiverFaults | None) -> None:
        plan = faults or ReceiverFaults()
        with self._lock:
            self._faults = plan
            self._random = random.Random(plan.seed)  # noqa: S311 - fault injection, not cryptography

    def messages(self) -> list[ReceivedMessage]:
        """Accepted messages, first delivery of each id only, in arrival order."""
        with self._lock:
            return list(self._messages)

    def events(self) -> dict[str, dict[str, Any]]:
        """The receiver's view: event id -> the last ``data`` applied for it."""
        with self._lock:
            return dict(self._events)

    def counts(self) -> dict[str, int]:
        """How many messages were ``accepted``, ``duplicate``, ``invalid``, ``gone``, ``fail_503``, ``fail_429``."""
        with self._lock:
            return dict(self._counts)

    # -- handling ----------------------------------------------------------------------

    def _count(self, what: str) -> None:
        with self._lock:
            self._counts[what] += 1

    def _handle(self, headers: Mapping[str, str], raw: bytes) -> tuple[int, dict[str, str], dict[str, Any]]:
        with self._lock:
            if self.gone:
                self._counts["gone"] += 1
                return 410, {}, {"error": "this endpoint is retired"}
            draw = self._random.random()
            if draw < self._faults.fail_503:
                self._counts["fail_503"] += 1
                return 503, {}, {"error": "busy"}
            if draw < self._faults.fail_503 + self._faults.fail_429:
                self._counts["fail_429"] += 1
                return 429, {"Retry-After": str(self._faults.retry_after_seconds)}, {"error": "slow down"}
        body = self._verified(raw, headers)
        if body is None:
            with self._lock:
                self._counts["invalid"] += 1
            return 401, {}, {"error": "signature does not verify"}
        msg_id = {k.lower(): v for k, v in headers.items()}["webhook-id"]
        with self._lock:
            if msg_id in self._seen:
                self._counts["duplicate"] += 1
                return 200, {}, {"status": "duplicate"}
            self._seen.add(msg_id)
            self._counts["accepted"] += 1
            self._messages.append(ReceivedMessage(msg_id, str(body.get("type")), body))
            data = body.get("data") or {}
            event_id = str(data.get("event_id"))
            if body.get("type") == "event.removed":
                self._events.pop(event_id, None)
            else:
                self._events[event_id] = data
        return 200, {}, {"status": "accepted"}

    def _verified(self, raw: bytes, headers: Mapping[str, str]) -> dict[str, Any] | None:
        for verifier in self._verifiers:
            try:
                body = verifier.verify(raw, dict(headers))
            except WebhookVerificationError:
                continue
            return body if isinstance(body, dict) else None
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True
    request_queue_size = 128


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"
    timeout = 10

    def __init__(self, *args: Any, receiver: WebhookReceiver) -> None:
        self.receiver = receiver
        super().__init__(*args)

    def log_message(self, format: str, *args: Any) -> None:
        """Silent: the receiver counts what it gets."""

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if not 0 <= length <= MAX_BODY_BYTES:
            self._send(413, {}, {"error": "too large"})
            return
        raw = self.rfile.read(length) if length else b""
        if len(raw) < length:
            # The sender went away mid-request (a timeout, a killed sandbox): nothing to verify, nobody to answer.
            self.receiver._count("incomplete")
            return
        self._send(*self.receiver._handle(dict(self.headers.items()), raw))

    def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
        payload = json.dumps(body).encode()
        try:
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass
