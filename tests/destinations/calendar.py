"""The calendar's contract destination: a scripted CalDAV collection on loopback.

The calendar speaks CalDAV through ``caldav`` (on niquests, which respx does
not see), so its destination is a real HTTP server on 127.0.0.1 answering
each PUT and DELETE as the test scripts it.  A PUT of an object the server
holds is an update, any other PUT a create: what a CalDAV server sees.
"""

from __future__ import annotations

import base64
import socket
import struct
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from infra.aws.secrets import resolve_secret
from integrations.base import BaseSubmitter
from integrations.calendar.config import CalendarConfig
from integrations.ports import Store
from integrations.registry import get_integration
from tests.scripted_destination import RETRY_AFTER_SECONDS, Answer, Call, CallKind

USERNAME = "contract-user"
PASSWORD = "caldav_contract_password_never_shown_5678"
COLLECTION = "/contract/events/"
#: The client's deadline: a TIMEOUT answer is held until it has passed (and the destination stops).
TIMEOUT_SECONDS = 1.0


class _Handler(BaseHTTPRequestHandler):
    server: _CalendarServer
    protocol_version = "HTTP/1.1"

    def do_PUT(self) -> None:
        self._answer("update" if self.path in self.server.stored else "create")

    def do_DELETE(self) -> None:
        self._answer("delete")

    def _answer(self, kind: CallKind) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        destination = self.server.destination
        answer = destination.record(Call(kind, body.decode("utf-8", "replace")))
        if answer is Answer.TIMEOUT:
            destination.stopped.wait(TIMEOUT_SECONDS * 5)  # past the client's deadline
            self.close_connection = True
            return
        if answer is Answer.OK or answer is Answer.OK_WITHOUT_ID:
            # CalDAV answers a PUT with no body at all: nothing ever carries an id.
            if kind == "delete":
                self.server.stored.discard(self.path)
            else:
                self.server.stored.add(self.path)
            self._send(204 if kind == "delete" or answer is Answer.OK_WITHOUT_ID else 201)
        elif answer is Answer.SERVER_ERROR:
            self._send(503, b"busy")
        elif answer is Answer.THROTTLED:
            self._send(429, b"slow down", {"Retry-After": str(RETRY_AFTER_SECONDS)})
        else:  # REJECTED: the body echoes what the client sent, the password included
            echoed = f"invalid object; you sent {self.headers.get('Authorization')} {PASSWORD}"
            self._send(422, echoed.encode())

    def _send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _CalendarServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, destination: CalendarScriptedDestination) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.destination = destination
        self.stored: set[str] = set()

    def process_request(self, request: Any, client_address: Any) -> None:
        if self.destination.next_answer() is Answer.CONNECT_ERROR:
            self.destination.record(Call("create", None))
            # Reset before reading a byte: to the client, the connection failed.
            request.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.shutdown_request(request)
            return
        super().process_request(request, client_address)


class CalendarScriptedDestination:
    """A CalDAV collection on loopback that answers each request as scripted (``Answer``)."""

    def __init__(self) -> None:
        self.secrets = [PASSWORD, base64.b64encode(f"{USERNAME}:{PASSWORD}".encode()).decode()]
        self._script: list[Answer] = []
        self._calls: list[Call] = []
        self._lock = threading.Lock()
        self._server: _CalendarServer | None = None
        self.stopped = threading.Event()

    def submitter(self, store: Store) -> BaseSubmitter:
        if self._server is None:
            raise RuntimeError("the calendar destination is not active")
        url = f"http://127.0.0.1:{self._server.server_address[1]}{COLLECTION}"
        # Plain http on loopback is what the local runtime accepts.
        config = CalendarConfig.model_validate(
            {"url": url, "username": USERNAME, "password": PASSWORD, "timeout_seconds": TIMEOUT_SECONDS},
            context={"local_runtime": True},
        )
        return get_integration("calendar").create_submitter(store, config, resolve_secret)

    def script(self, *answers: Answer) -> None:
        with self._lock:
            self._script = list(answers)

    @property
    def calls(self) -> list[Call]:
        with self._lock:
            return list(self._calls)

    def next_answer(self) -> Answer:
        """The answer the next request will get, without using it up."""
        with self._lock:
            return self._script[0] if self._script else Answer.OK

    def record(self, call: Call) -> Answer:
        """Record ``call`` and use up its answer."""
        with self._lock:
            self._calls.append(call)
            return self._script.pop(0) if self._script else Answer.OK

    @contextmanager
    def active(self) -> Iterator[CalendarScriptedDestination]:
        server = _CalendarServer(self)
        # A short poll: stopping the server waits for one.
        thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        thread.start()
        self._server, self.stopped = server, threading.Event()
        try:
            yield self
        finally:
            self.stopped.set()
            server.shutdown()
            server.server_close()
            self._server = None


def contract_destination() -> CalendarScriptedDestination:
    return CalendarScriptedDestination()
