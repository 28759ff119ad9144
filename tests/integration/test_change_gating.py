"""Change gating: a change that touches nothing an integration sends is recorded ``skipped``, not sent.

An integration declares the ``EventData`` fields it shows (``sent_fields``);
without them, what it sends is its payload, compared by fingerprint.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest

from infra.aws.store import DynamoStore
from infra.pipeline.importer import import_events
from integrations.records import CachedEvent, ChangeKind, SubmissionStatus
from integrations.webhook.base import WebhookIntegration
from tests.scripted_destination import ScriptedDestination, destination_for, module_store

_numbers = itertools.count(1)
#: What a calendar shows: no descriptions, no lineup.
CALENDAR_FIELDS = frozenset({"title", "venue", "date", "end_date", "time", "location", "ticket_url", "source_url"})


@pytest.fixture(scope="module")
def store() -> Iterator[DynamoStore]:
    yield from module_store("gating")


def scripted(name: str) -> Iterator[ScriptedDestination]:
    destination = destination_for(name)
    with destination.active():
        yield destination


@pytest.fixture
def webhook() -> Iterator[ScriptedDestination]:
    yield from scripted("webhook")


@pytest.fixture
def ticketfairy() -> Iterator[ScriptedDestination]:
    yield from scripted("ticketfairy")


def imported(store: DynamoStore, number: int, **fields: Any) -> CachedEvent:
    item = {
        "title": f"Gated {number}",
        "date": "2026-07-01",
        "venue": "Hall",
        "long_description": "First words.",
        "images": {"full": "https://img.test/full.jpg", "thumbnail": "https://img.test/thumb.jpg"},
        "source_url": f"https://gating.test/{number}",
        **fields,
    }
    (outcome,) = import_events(store.events, [(str(number), item)]).outcomes
    event = store.events.get(outcome.event_id)
    assert event is not None
    return event


def deliver(destination: ScriptedDestination, store: DynamoStore, event: CachedEvent, change: ChangeKind) -> Any:
    return asyncio.run(destination.submitter(store).submit_event(event, change=change))


def test_a_change_to_a_field_the_integration_does_not_show_is_skipped(
    webhook: ScriptedDestination, store: DynamoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given an integration that shows only what a calendar shows
    monkeypatch.setattr(WebhookIntegration, "sent_fields", CALENDAR_FIELDS)
    number = next(_numbers)
    assert deliver(webhook, store, imported(store, number), ChangeKind.CREATED).status is SubmissionStatus.SUCCESS

    # When only the description changes
    edited = imported(store, number, long_description="Second thoughts.")
    result = deliver(webhook, store, edited, ChangeKind.UPDATED)

    # Then nothing is sent, and the record says why
    assert result.status is SubmissionStatus.SKIPPED
    assert [call.kind for call in webhook.calls] == ["create"]
    record = store.submissions.get(edited.event_id, "webhook")
    assert record is not None
    assert record.status is SubmissionStatus.SKIPPED
    assert "touches nothing webhook is sent" in (record.response_summary or "")
    assert record.live_remote_id is not None  # still delivered: the next change is an update

    # And a change to a shown field is sent (as an update), compared with what was last sent
    moved = imported(store, number, long_description="Second thoughts.", venue="Other hall")
    assert deliver(webhook, store, moved, ChangeKind.UPDATED).status is SubmissionStatus.SUCCESS
    assert [call.kind for call in webhook.calls] == ["create", "update"]


def test_a_description_edit_reaches_an_integration_that_shows_everything(
    webhook: ScriptedDestination, store: DynamoStore
) -> None:
    number = next(_numbers)
    deliver(webhook, store, imported(store, number), ChangeKind.CREATED)

    edited = imported(store, number, long_description="Second thoughts.")

    assert deliver(webhook, store, edited, ChangeKind.UPDATED).status is SubmissionStatus.SUCCESS
    assert [call.kind for call in webhook.calls] == ["create", "update"]


def test_without_declared_fields_the_payload_decides(ticketfairy: ScriptedDestination, store: DynamoStore) -> None:
    # TicketFairy sends the full image (the thumbnail only when there is none) and the descriptions.
    number = next(_numbers)
    deliver(ticketfairy, store, imported(store, number), ChangeKind.CREATED)

    thumbnail = imported(
        store, number, images={"full": "https://img.test/full.jpg", "thumbnail": "https://img.test/new.jpg"}
    )
    assert deliver(ticketfairy, store, thumbnail, ChangeKind.UPDATED).status is SubmissionStatus.SKIPPED

    described = imported(
        store,
        number,
        images={"full": "https://img.test/full.jpg", "thumbnail": "https://img.test/new.jpg"},
        long_description="Second thoughts.",
    )
    assert deliver(ticketfairy, store, described, ChangeKind.UPDATED).status is SubmissionStatus.SUCCESS
    assert [call.kind for call in ticketfairy.calls] == ["create", "update"]


def test_a_forced_replay_is_sent_even_when_nothing_shown_changed(
    webhook: ScriptedDestination, store: DynamoStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(WebhookIntegration, "sent_fields", CALENDAR_FIELDS)
    number = next(_numbers)
    deliver(webhook, store, imported(store, number), ChangeKind.CREATED)
    edited = imported(store, number, long_description="Second thoughts.")

    forced = asyncio.run(webhook.submitter(store).submit_event(edited, change=ChangeKind.UPDATED, force="op-1"))

    assert forced.status is SubmissionStatus.SUCCESS
    assert [call.kind for call in webhook.calls] == ["create", "update"]
