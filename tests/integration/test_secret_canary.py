"""The API key never leaves: a canary key driven through every path, then searched for everywhere.

The key is a SecureString in (moto's) SSM, read by the submit function as on
Lambda.  A TicketFairy stand-in on respx echoes it back in every way it can:
in success and error bodies, whole, URL-encoded and cut short, in headers, in
a redirect, in network errors, and in an unexpected exception.  Logging is
at DEBUG everywhere (the function's logger, the framework's and the root
logger, as ``AWS_LAMBDA_LOG_LEVEL=DEBUG`` would set it).  Afterwards every
log line, every submission record and every dry-run result is searched for
the key in each of its forms.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, quote_plus

import boto3
import httpx
import pytest
import respx

import functions.submit.app as submit_app
from infra.aws.secrets import resolve_secret
from infra.aws.selection import MARKER_EVENT_ID
from infra.aws.stack import Stack
from integrations.event_data import event_id_for
from integrations.registry import get_integration
from integrations.ticketfairy.config import TicketFairyConfig
from tests.conftest import REGION
from tests.integration.test_pipeline import BASE_URL, Pipeline

CANARY = "CANARY-7qX/9+z=Zk4LmN0pQrS"
ENCODED = quote(CANARY, safe="")
#: Every form the key must never appear in; any longer prefix contains the 8-character one.
FORMS = {CANARY, ENCODED, quote_plus(CANARY), CANARY[:8], ENCODED[:8], json.dumps(CANARY)[1:-1]}

ENDPOINT = f"{BASE_URL}/api/draft-events"


def created(draft_id: str, **extra: Any) -> httpx.Response:
    return httpx.Response(201, json={"data": {"id": draft_id, "attributes": {"echo": CANARY}}, **extra})


#: Event title -> how the stand-in answers its create: one of every kind of outcome.
ANSWERS: dict[str, Any] = {
    "echo in body": lambda: created("1", debug={"authorization": f"Bearer {CANARY}"}),
    "echo in headers": lambda: httpx.Response(201, json={"id": "2"}, headers={"X-Echo": CANARY, "Set-Cookie": CANARY}),
    "2xx text": lambda: httpx.Response(200, text=f"OK, stored with key {CANARY}"),
    "2xx json without id": lambda: httpx.Response(200, json={"ok": True, "key": ENCODED}),
    "rejected url-encoded": lambda: httpx.Response(422, json={"errors": [{"detail": f"bad token {ENCODED}"}]}),
    "rejected prefix": lambda: httpx.Response(400, text=f"token {CANARY[:12]}… is invalid"),
    "unavailable": lambda: httpx.Response(503, text=f"upstream {quote_plus(CANARY)}", headers={"Retry-After": CANARY}),
    "unauthorised": lambda: httpx.Response(401, json={"message": f"key {CANARY} refused"}),
    "redirect": lambda: httpx.Response(302, headers={"Location": f"https://login.example/?k={ENCODED}"}),
    "timeout": lambda: httpx.ReadTimeout(f"read timed out with {CANARY}"),
    "connection": lambda: httpx.ConnectError(f"proxy refused Bearer {CANARY}"),
    "bug": lambda: RuntimeError(f"unexpected failure holding {CANARY}"),
}


def answer(request: httpx.Request) -> httpx.Response:
    title = json.loads(request.content)["data"]["attributes"]["title"]
    outcome = ANSWERS[title]()
    if isinstance(outcome, Exception):
        raise outcome
    return outcome  # type: ignore[no-any-return]


@pytest.fixture
def destination() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        router.post(ENDPOINT).mock(side_effect=answer)
        router.patch(url__regex=rf"^{ENDPOINT}/\w+$").mock(return_value=created("1", note=CANARY))
        router.delete(url__regex=rf"^{ENDPOINT}/\w+$").mock(
            return_value=httpx.Response(500, json={"error": f"cannot delete for {CANARY}"})
        )
        yield router


@contextlib.contextmanager
def debug_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[io.StringIO]:
    """Everything the function writes, at DEBUG, through the handlers a Lambda function has.

    The Powertools handler (the function's and the framework's loggers) and a
    root handler (Lambda's own, where botocore and urllib3 propagate) both
    write into the buffer.
    """
    buffer = io.StringIO()
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    powertools = submit_app.logger.registered_handler
    previous_stream = powertools.setStream(buffer)  # type: ignore[attr-defined]
    root_handler = logging.StreamHandler(buffer)
    root = logging.getLogger()
    root.addHandler(root_handler)
    levels = {name: logging.getLogger(name).level for name in ("", "submit", "infra", "integrations", "botocore")}
    for name in ("", "submit", "infra", "integrations"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.NOTSET)  # inherits the root's DEBUG, as on Lambda
    try:
        yield buffer
    finally:
        root.removeHandler(root_handler)
        powertools.setStream(previous_stream)  # type: ignore[attr-defined]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)


def event(title: str) -> dict[str, Any]:
    return {"title": title, "date": "2026-05-01", "source_url": f"https://canary.example.com/{quote(title)}"}


def test_the_key_appears_in_no_log_line_record_or_dry_run(
    deployment: Stack, destination: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given the canary key in SSM, where the submit function reads it
    submit_env = deployment.env("TicketfairySubmitFunction")
    parameter = submit_env["TICKETFAIRY_API_KEY_PARAMETER"]
    boto3.client("ssm", region_name=REGION).put_parameter(Name=parameter, Value=CANARY, Type="SecureString")
    pipeline = Pipeline(deployment, monkeypatch)
    pipeline.store.build_index("ticketfairy")
    pipeline.import_([event(title) for title in ANSWERS])

    with debug_logging(monkeypatch) as debug_logs:
        # When every kind of answer comes back, and a submitted event is then removed (its DELETE echoing too)
        pipeline.run_fanout()
        messages = pipeline.queued()
        assert len(messages) == len(ANSWERS)
        for start in range(0, len(messages), 10):
            pipeline.run_submit(messages[start : start + 10])
        pipeline.store.events.delete(event_id_for(event("echo in body")["source_url"]))
        pipeline.run_fanout()
        pipeline.run_submit(pipeline.queued())

        # And an operator dry-runs and replays them
        integration = get_integration("ticketfairy")
        submitter = integration.create_submitter(
            pipeline.store, TicketFairyConfig(base_url=BASE_URL, api_key_parameter=parameter), resolve_secret
        )
        dry_runs = asyncio.run(submitter.submit_events("all", dry_run=True))
        replays = asyncio.run(submitter.submit_events("failed"))
        asyncio.run(submitter.aclose())
        items = boto3.client("dynamodb", region_name=REGION).scan(TableName=submit_env["SUBMISSIONS_TABLE"])["Items"]
        logs = debug_logs.getvalue()

    # Then the paths really ran and were logged, at DEBUG
    assert "TicketFairy rejected the event" in logs
    assert "[redacted]" in logs
    assert "Calling PutItem" in logs  # pynamodb's DEBUG line: debug logging was on
    assert len(destination.calls) >= len(ANSWERS) + 1
    assert {r.status.value for r in dry_runs} == {"dry_run"}
    records = [
        item for item in items if item["event_id"]["S"] != MARKER_EVENT_ID and item["service"]["S"] == "ticketfairy"
    ]
    assert len(records) == len(ANSWERS)
    # And no form of the key is in any log line, record or result
    written = {"logs": logs, "records": json.dumps(items), "results": repr([*dry_runs, *replays])}
    for where, text in written.items():
        for form in FORMS:
            at = text.find(form)
            assert at == -1, f"{form!r} found in {where}: {text[max(0, at - 300) : at + 50]}"
    # And the function's botocore logged nothing at DEBUG: its SSM answer carries the decrypted key.
    # (The test's own AWS calls, made outside any function, still do: that shows DEBUG was on.)
    assert "Response body" in logs
    assert "ssm.GetParameter" not in logs
