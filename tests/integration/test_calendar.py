"""The calendar integration against a real CalDAV server (Radicale on loopback), read back through CalDAV.

Deliveries are checked by reading the calendar as any calendar application
would (``caldav``), never by looking at what was sent.  Failure classes come
from a small loopback server that answers each request with a chosen status.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
from pydantic import SecretStr

from infra.aws.secrets import resolve_secret
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.local.caldav import RadicaleServer
from infra.pipeline.importer import import_events
from integrations.calendar.client import CalendarClient
from integrations.calendar.config import CalendarConfig
from integrations.calendar.transformer import CalendarTransformer, calendar_uid
from integrations.env import LOCAL_RUNTIME_VARIABLE, load_env_model
from integrations.errors import ConfigurationError, PermanentSubmitError, RetryableSubmitError
from integrations.event_data import EventData, event_id_for
from integrations.records import CachedEvent, ChangeKind, SubmissionStatus
from integrations.registry import get_integration
from tests.conftest import CALDAV_PASSWORD, CALDAV_USER, REGION

SOURCE = "https://example.com/events/calendar-night"
UID = calendar_uid(event_id_for(SOURCE))


def payload(**fields: Any) -> dict[str, Any]:
    data = {"title": "Calendar Night", "date": "2026-09-12", "source_url": SOURCE, **fields}
    return CalendarTransformer().transform(EventData.model_validate(data).model_dump(mode="json"))


def client_for(url: str, password: Any = None, timeout: float = 5.0) -> CalendarClient:
    secret = SecretStr(CALDAV_PASSWORD) if password is None else password
    return CalendarClient(url, username=CALDAV_USER, password=secret, timeout=timeout)


async def run(client: CalendarClient, *calls: tuple[Any, ...]) -> list[dict[str, Any]]:
    """Each call on one client, in one event loop (as one Lambda invocation would), then closed."""
    try:
        return [await getattr(client, method)(*args) for method, *args in calls]
    finally:
        await client.aclose()


# ---------------------------------------------------------------- against Radicale


def test_a_create_an_update_and_a_removal_are_what_the_calendar_shows(radicale: RadicaleServer) -> None:
    client = client_for(radicale.calendar_url)

    (created,) = asyncio.run(run(client, ("submit", payload(time={"start": "21:00", "timezone": "Europe/Lisbon"}))))
    shown = radicale.events()
    assert created == {"id": UID, "status": "stored"}
    assert str(shown[UID]["SUMMARY"]) == "Calendar Night"
    assert shown[UID]["DTSTART"].params["TZID"] == "Europe/Lisbon"

    asyncio.run(run(client, ("update", UID, payload(title="Calendar Night (moved)", venue="Lux"))))
    shown = radicale.events()
    # The same calendar object, replaced: one event, with the new content.
    assert [uid for uid in shown if uid == UID] == [UID]
    assert (str(shown[UID]["SUMMARY"]), str(shown[UID]["LOCATION"])) == ("Calendar Night (moved)", "Lux")

    asyncio.run(run(client, ("delete", UID), ("delete", UID)))  # the second finds it gone: done all the same
    assert UID not in radicale.events()


def test_a_wrong_password_is_retried_with_the_password_read_afresh(radicale: RadicaleServer) -> None:
    reads: list[bool] = []

    def provider(force: bool) -> SecretStr:
        reads.append(force)
        # Rotated while the function was warm: the cached value is stale until read afresh.
        return SecretStr(CALDAV_PASSWORD if force else "stale-password-0000")

    client = client_for(radicale.calendar_url, password=provider)
    with pytest.raises(RetryableSubmitError, match="refused the credentials") as refused:
        asyncio.run(run(client, ("submit", payload())))
    assert "stale-password" not in str(refused.value)

    asyncio.run(run(client, ("submit", payload(title="After rotation"))))
    assert reads == [False, True]
    assert str(radicale.events()[UID]["SUMMARY"]) == "After rotation"
    asyncio.run(run(client_for(radicale.calendar_url), ("delete", UID)))


# ---------------------------------------------------------------- failure classes


class _Answers(BaseHTTPRequestHandler):
    """Answers every request with the server's ``status`` and ``headers``, echoing the credentials back."""

    server: _FaultyServer

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.server.delay:
            time.sleep(self.server.delay)
        body = f"refused: {self.headers.get('Authorization')} {CALDAV_PASSWORD}".encode()
        try:
            self.send_response(self.server.status)
            for name, value in self.server.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            # The timeout case: the client gave up before the delayed answer. Said nothing, as a server
            # would; a traceback on stderr would land in whatever test of this worker captures it then.
            return

    do_PUT = do_DELETE = do_GET = do_PROPFIND = _answer

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _FaultyServer(ThreadingHTTPServer):
    daemon_threads = True
    status = 500
    headers: dict[str, str] = {}  # noqa: RUF012 - set per test
    delay = 0.0


@pytest.fixture
def faulty() -> Iterator[_FaultyServer]:
    server = _FaultyServer(("127.0.0.1", 0), _Answers)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("status", "headers", "expected", "retry_after"),
    [
        (500, {}, RetryableSubmitError, None),
        (502, {}, RetryableSubmitError, None),
        (503, {"Retry-After": "12"}, RetryableSubmitError, 12.0),
        (429, {"Retry-After": "30"}, RetryableSubmitError, 30.0),
        (408, {}, RetryableSubmitError, None),
        (400, {}, PermanentSubmitError, None),
        (409, {}, PermanentSubmitError, None),
        (415, {}, PermanentSubmitError, None),
    ],
)
def test_each_answer_is_mapped_to_its_outcome_and_no_error_holds_the_password(
    faulty: _FaultyServer, status: int, headers: dict[str, str], expected: type[Exception], retry_after: float | None
) -> None:
    faulty.status, faulty.headers = status, headers
    client = client_for(f"http://127.0.0.1:{faulty.server_address[1]}/importer/events/")

    with pytest.raises(expected) as raised:
        asyncio.run(run(client, ("submit", payload())))

    assert type(raised.value) is expected
    assert getattr(raised.value, "retry_after", None) == retry_after
    assert CALDAV_PASSWORD not in str(raised.value)
    assert CALDAV_PASSWORD not in client.redact(f"x {CALDAV_PASSWORD} y")


def test_no_server_and_a_server_too_slow_are_both_retried(faulty: _FaultyServer) -> None:
    with socket_closed() as port:
        unreachable = client_for(f"http://127.0.0.1:{port}/importer/events/")
        with pytest.raises(RetryableSubmitError, match="could not reach the calendar"):
            asyncio.run(run(unreachable, ("submit", payload())))

    faulty.status, faulty.delay = 201, 3.0
    slow = client_for(f"http://127.0.0.1:{faulty.server_address[1]}/importer/events/", timeout=1.0)
    with pytest.raises(RetryableSubmitError, match="did not answer within 1s"):
        asyncio.run(run(slow, ("submit", payload())))


class socket_closed:
    """A loopback port nothing listens on."""

    def __enter__(self) -> int:
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            return int(probe.getsockname()[1])

    def __exit__(self, *exc: object) -> None:
        return None


# ---------------------------------------------------------------- configuration


def test_the_calendar_url_must_be_https_except_on_loopback_in_the_local_runtime() -> None:
    calendar = get_integration("calendar")
    loopback = {"CALENDAR_URL": "http://127.0.0.1:5232/importer/events"}

    with pytest.raises(ConfigurationError, match="CALENDAR_URL: must use https"):
        calendar.load_config(loopback)
    with pytest.raises(ConfigurationError, match="CALENDAR_URL: must use https"):
        calendar.load_config({"CALENDAR_URL": "http://cal.example.com/events/", LOCAL_RUNTIME_VARIABLE: "1"})
    config = calendar.load_config({**loopback, LOCAL_RUNTIME_VARIABLE: "1"})
    assert isinstance(config, CalendarConfig)
    assert config.url == "http://127.0.0.1:5232/importer/events/"
    with pytest.raises(
        ConfigurationError, match="at most one of CALENDAR_PASSWORD, CALENDAR_PASSWORD_PARAMETER"
    ) as many:
        calendar.load_config(
            {
                "CALENDAR_URL": "https://c.example/e/",
                "CALENDAR_PASSWORD": "p4ssw0rd-x",
                "CALENDAR_PASSWORD_PARAMETER": "/p",
            }
        )
    assert "p4ssw0rd-x" not in str(many.value)


# ---------------------------------------------------------------- the submitter, on moto


@pytest.fixture
def store(deployment: Stack) -> DynamoStore:
    return DynamoStore(load_env_model(TableSettings, deployment.env("FanoutFunction")))


def test_the_submitter_delivers_changes_and_the_removal_with_the_password_from_ssm(
    store: DynamoStore, radicale: RadicaleServer
) -> None:
    boto3.client("ssm", region_name=REGION).put_parameter(
        Name="/cal/password", Value=CALDAV_PASSWORD, Type="SecureString"
    )
    calendar = get_integration("calendar")
    environ = {
        "CALENDAR_URL": radicale.calendar_url,
        "CALENDAR_USERNAME": CALDAV_USER,
        "CALENDAR_PASSWORD_PARAMETER": "/cal/password",
        LOCAL_RUNTIME_VARIABLE: "1",
    }
    submitter = calendar.create_submitter(store, calendar.load_config(environ), resolve_secret)
    source = "https://example.com/events/submitter-night"
    event_id = event_id_for(source)
    import_events(store.events, [("1", {"title": "Submitter Night", "date": "2026-10-01", "source_url": source})])
    first = store.events.get(event_id)
    assert first is not None

    async def deliver() -> list[SubmissionStatus]:
        created = await submitter.submit_event(first)
        assert calendar_uid(event_id) in radicale.events()
        changed = CachedEvent(event_id, {**first.data, "title": "Submitter Night II"}, "hash-2", 2)
        updated = await submitter.submit_event(changed, change=ChangeKind.UPDATED)
        assert str(radicale.events()[calendar_uid(event_id)]["SUMMARY"]) == "Submitter Night II"
        removed = await submitter.submit_event(CachedEvent(event_id, {}, "removed:1", 3), change=ChangeKind.REMOVED)
        await submitter.aclose()
        return [created.status, updated.status, removed.status]

    assert asyncio.run(deliver()) == [SubmissionStatus.SUCCESS] * 3
    assert calendar_uid(event_id) not in radicale.events()
    record = store.submissions.get(event_id, "calendar")
    assert record is not None
    assert (record.status, record.change, record.remote_id) == (
        SubmissionStatus.SUCCESS,
        ChangeKind.REMOVED,
        calendar_uid(event_id),
    )
    assert CALDAV_PASSWORD not in repr(record)
