"""The calendar under faults, end to end: a real CalDAV server behind a fault-injecting proxy.

Radicale holds the calendar; a loopback proxy in front of it answers some
requests with 503 or 429 + Retry-After without passing them on, and passes
some on but drops the answer (the write happened, the client never hears of
it).  The runtime delivers some messages twice and kills the function's
sandbox between the answer and the record write.  Every event must end with
one success record and exactly one calendar object, read back through CalDAV.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from infra.local.caldav import PASSWORD_PARAMETER, RadicaleServer
from infra.local.chaos import CHAOS_VARIABLE
from infra.pipeline.importer import import_events
from integrations.calendar.transformer import calendar_uid
from integrations.event_data import event_id_for
from integrations.records import SubmissionStatus
from tests.conftest import CALDAV_PASSWORD
from tests.e2e.conftest import fast_template, runtime_store, start_runtime

pytestmark = pytest.mark.e2e

EVENTS = 40
DEADLINE_SECONDS = 150
# httpx hands over the body decoded: its content-encoding must not travel on.
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding", "host"}


class _Proxy(BaseHTTPRequestHandler):
    """Passes each request on to Radicale, or fails it the way the server's plan says."""

    server: FaultyProxy
    protocol_version = "HTTP/1.1"

    def _relay(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        fault = self.server.draw(self.command)
        if fault in ("503", "429"):
            self.send_response(int(fault))
            if fault == "429":
                self.send_header("Retry-After", "1")
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


class FaultyProxy(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, seed: int) -> None:
        super().__init__(("127.0.0.1", 0), _Proxy)
        self.upstream = httpx.Client(base_url=upstream, timeout=10)
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        self.faults: Counter[str] = Counter()

    def draw(self, method: str) -> str | None:
        if method != "PUT":  # the writes are what matter; reads and deletes pass
            return None
        with self.lock:
            roll = self.random.random()
        fault = "503" if roll < 0.15 else "429" if roll < 0.20 else "lost_answer" if roll < 0.28 else None
        if fault:
            with self.lock:
                self.faults[fault] += 1
        return fault


@pytest.fixture
def proxy(radicale: RadicaleServer) -> Iterator[FaultyProxy]:
    server = FaultyProxy(radicale.base_url, seed=7)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()
    server.upstream.close()


def events() -> list[dict[str, Any]]:
    return [
        {
            "title": f"Calendar fault {n}",
            "date": f"2026-{1 + n % 12:02d}-{1 + n % 28:02d}",
            "time": {"start": "21:00", "end": "02:00", "timezone": "Europe/Madrid"} if n % 2 else None,
            "source_url": f"https://calendar-faults.example.com/events/{n}",
        }
        for n in range(EVENTS)
    ]


def test_every_event_is_in_the_calendar_exactly_once_under_faults(
    radicale: RadicaleServer, proxy: FaultyProxy, shared_destination: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    calendar_url = f"http://127.0.0.1:{proxy.server_address[1]}/{radicale.username}/events/"
    chaos = {CHAOS_VARIABLE: json.dumps({"crash_after_submit": 0.08, "seed": 5})}
    runtime = start_runtime(
        fast_template(visibility_timeout=2, function_timeout=6),
        shared_destination,
        parameters={"CalendarUrl": calendar_url, "CalendarUsername": radicale.username},
        submit_env={"CALENDAR_TIMEOUT_SECONDS": "2", **chaos},
        duplicate_delivery_rate=0.05,
    )
    try:
        runtime.put_secure_parameter(PASSWORD_PARAMETER, CALDAV_PASSWORD)
        store = runtime_store(runtime)
        started = time.monotonic()
        report = import_events(store.events, [(str(n), event) for n, event in enumerate(events())])
        assert len(report.outcomes) == EVENTS
        while (done := sum(1 for _ in store.submissions.event_ids("calendar", SubmissionStatus.SUCCESS))) < EVENTS:
            if time.monotonic() - started > DEADLINE_SECONDS:
                pytest.fail(f"calendar fault injection: {done} of {EVENTS} delivered after {DEADLINE_SECONDS} s")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        crashes = sum(source.stats.function_errors for source in runtime.queue_sources)
        duplicates = sum(source.stats.duplicates_injected for source in runtime.queue_sources)
    finally:
        runtime.stop()

    shown = radicale.events()
    expected = {calendar_uid(event_id_for(event["source_url"])) for event in events()}
    lost = len(expected - set(shown))
    assert lost == 0
    # One calendar object per event: a retried or repeated PUT replaced it, never added one.
    titles = Counter(str(shown[uid]["SUMMARY"]) for uid in expected)
    assert set(titles.values()) == {1}
    assert proxy.faults["503"] > 0
    assert proxy.faults["lost_answer"] > 0
    figures = (
        f"fault injection [calendar]: events={EVENTS} faults(503={proxy.faults['503']} 429={proxy.faults['429']} "
        f"lost_answers={proxy.faults['lost_answer']} crashes={crashes} duplicate_deliveries={duplicates}) "
        f"lost={lost} seconds={elapsed:.1f}"
    )
    with capsys.disabled():
        print(f"\n{figures}")
