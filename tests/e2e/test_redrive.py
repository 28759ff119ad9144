"""DLQ redrive: dead-lettered messages go back, and processing them causes no duplicate at the destination."""

from __future__ import annotations

import datetime as dt
import json
import time

import pytest
from typer.testing import CliRunner

from infra.cli import app
from infra.local.chaos import CHAOS_VARIABLE
from infra.local.destination import DraftEventsDestination
from infra.local.runtime import LocalRuntime
from infra.pipeline.importer import import_events
from integrations.event_data import event_id_for
from integrations.records import SubmissionStatus
from tests.e2e.conftest import API_KEY, FAST_RETRIES, fast_template, runtime_store, start_runtime

pytestmark = pytest.mark.e2e

URL = "https://example.com/crashing"
SUBMIT = "TicketfairySubmitFunction"


def test_redrive_after_crashes_between_answer_and_record_creates_no_duplicate() -> None:
    with DraftEventsDestination(api_key=API_KEY) as destination:
        # Given a submit function that dies after every answer, before it can record it
        crash = {CHAOS_VARIABLE: json.dumps({"crash_after_submit": 1.0})}
        runtime = start_runtime(
            fast_template(visibility_timeout=1, function_timeout=4),
            destination,
            parameters={"MaxReceiveCount": "2"},
            submit_env=crash,
        )
        try:
            store = runtime_store(runtime)
            import_events(store.events, [("1", {"title": "Crashy", "date": "2026-05-01", "source_url": URL})])
            dlq = runtime.queue_url("TicketfairyDeadLetterQueue")
            deadline = time.monotonic() + 90
            while runtime.queue_depth(dlq) == 0 and time.monotonic() < deadline:
                time.sleep(0.2)

            # When the message has been dead-lettered, the destination holds one draft and no record says so
            assert runtime.queue_depth(dlq) == 1
            assert len(destination.accepted_creates()) == 1
            record = store.submissions.get(event_id_for(URL), "ticketfairy")
            assert record is not None
            assert record.status is SubmissionStatus.IN_PROGRESS
            crashes = sum(source.stats.function_errors for source in runtime.queue_sources)
            assert crashes >= 1  # the sandbox died mid-invocation, as a Lambda crash would

            # And the function is fixed, then an operator redrives the DLQ, after the crashed attempt's claim
            # has lapsed (its lease is the function's timeout): a redrive inside the lease meets a live claim,
            # waits behind it and, with MaxReceiveCount 2, can go back to the DLQ; that is not this test's subject.
            runtime.update_environment(SUBMIT, FAST_RETRIES)
            assert record.lease_until is not None
            time.sleep(max(0.0, (record.lease_until - dt.datetime.now(dt.UTC)).total_seconds()) + 0.5)
            result = CliRunner().invoke(
                app, ["dlq", "redrive", "ticketfairy", "--endpoint-url", runtime.endpoint_url, "--json"]
            )
            assert result.exit_code == 0, result.output
            assert json.loads(result.stdout)["moved"] == 1
            assert runtime.wait_until_drained(timeout=60)

            # Then the stale claim is taken over and the retry reuses its Idempotency-Key: no duplicate draft
            record = store.submissions.get(event_id_for(URL), "ticketfairy")
            assert record is not None
            assert record.status is SubmissionStatus.SUCCESS
            assert len(destination.accepted_creates()) == 1
            assert record.remote_id == destination.accepted_creates()[0].draft_id
            assert runtime.queue_depth(dlq) == 0
        finally:
            runtime.stop()


def test_dlq_show_and_an_empty_redrive(runtime: LocalRuntime) -> None:
    show = CliRunner().invoke(app, ["dlq", "show", "ticketfairy", "--endpoint-url", runtime.endpoint_url, "--json"])
    assert show.exit_code == 0, show.output
    assert json.loads(show.stdout)["depth"] == 0
    empty = CliRunner().invoke(app, ["dlq", "redrive", "ticketfairy", "--endpoint-url", runtime.endpoint_url, "--json"])
    assert json.loads(empty.stdout)["moved"] == 0
    unknown = CliRunner().invoke(app, ["dlq", "redrive", "nope", "--endpoint-url", runtime.endpoint_url])
    assert unknown.exit_code != 0
