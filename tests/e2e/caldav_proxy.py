"""A fault-injecting HTTP proxy in front of a real CalDAV server (Radicale), for the fault-injection test.

It answers some writes with 503 or 429 + Retry-After without passing them on,
and passes some on but drops the answer (the write happened, the client never
hears of it).  Reads and deletes always pass: the writes are what matter.
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

import httpx

from infra.local.caldav import CALENDAR_NAME, RadicaleServer

# httpx hands over the body decoded: its content-encoding must not travel on.
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


@dataclass(frozen=True)
class ProxyFaults:
    """Shares of PUTs failed each way, drawn from ``random.Random(seed)``: the same seed, the same sequence."""

    seed: int = 0
    fail_503: float = 0.0
    fail_429: float = 0.0
    lost_answer: float = 0.0
    retry_after_seconds: int = 1


class _Relay(BaseHTTPRequestHandler):
    """Passes each request on to Radicale, or fails it the way the proxy's plan says."""

    server: FaultyCalDAVProxy
    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = self.server.draw(self.command)
        if fault in ("503", "429"):
            self.send_response(int(fault))
            if fault == "429":
                self.send_header("Retry-After", str(self.server.faults.retry_after_seconds))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_HEADERS}
        answer = self.server.upstream.request(self.command, self.path, headers=headers, content=body)
        if fault == "lost_answer":
            self.close_connection = True  # done upstream, never answered: the client's answer is lost
            return
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in _HOP_HEADERS:
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(answer.content)))
        self.end_headers()
        self.wfile.write(answer.content)

    do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = _relay

    def log_message(self, format: str, *args: Any) -> None:
        pass


class FaultyCalDAVProxy(ThreadingHTTPServer):
    """The proxy on loopback, serving from a daemon thread between ``__enter__`` and ``__exit__``."""

    daemon_threads = True

    def __init__(self, radicale: RadicaleServer, faults: ProxyFaults) -> None:
        super().__init__(("127.0.0.1", 0), _Relay)
        self.radicale = radicale
        self.faults = faults
        self.upstream = httpx.Client(base_url=radicale.base_url, timeout=10)
        self._random = random.Random(faults.seed)
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    @property
    def calendar_url(self) -> str:
        """Radicale's calendar, reached through the proxy."""
        return f"http://127.0.0.1:{self.server_address[1]}/{self.radicale.username}/{CALENDAR_NAME}/"

    def draw(self, method: str) -> str | None:
        if method != "PUT":
            return None
        plan = self.faults
        with self._lock:
            roll = self._random.random()
            for fault, chance in (("503", plan.fail_503), ("429", plan.fail_429), ("lost_answer", plan.lost_answer)):
                if roll < chance:
                    self.injected[fault] += 1
                    return fault
                roll -= chance
        return None

    def __enter__(self) -> Self:
        threading.Thread(target=self.serve_forever, daemon=True).start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.shutdown()
        self.server_close()
        self.upstream.close()


def calendar_objects(radicale: RadicaleServer) -> Counter[str]:
    """How many calendar objects hold each UID, read back through CalDAV (``RadicaleServer.events`` keys by UID)."""
    from caldav.collection import Calendar

    with radicale.client() as dav:
        found: Any = Calendar(client=dav, url=radicale.calendar_url).get_events()  # a list with a sync client
        return Counter(str(item.icalendar_component["UID"]) for item in found)
