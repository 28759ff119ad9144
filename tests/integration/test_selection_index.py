"""The selection index kept by fan-out, the claim and the outcome, on moto: selectors read only what they return."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import respx

from infra.aws.store import DynamoStore
from integrations.event_data import event_id_for
from integrations.records import CachedEvent, ChangeKind, Selection, SubmissionStatus
from integrations.selectors import STANDARD_SELECTORS
from tests.integration.test_pipeline import BASE_URL, Pipeline, pipeline  # noqa: F401 - the fixture

SERVICE = "ticketfairy"
ENDPOINT = f"{BASE_URL}/api/draft-events"


def night(n: int, **extra: Any) -> dict[str, Any]:
    return {"title": f"Night {n}", "date": "2026-05-01", "source_url": f"https://idx.example/{n}", **extra}


def eid(n: int) -> str:
    return event_id_for(night(n)["source_url"])


def selected(store: DynamoStore, name: str) -> dict[str, CachedEvent]:
    return {event.event_id: event for event in STANDARD_SELECTORS[name]().select_events(store, SERVICE)}


@pytest.fixture
def indexed(pipeline: Pipeline) -> Pipeline:  # noqa: F811 - the imported fixture
    pipeline.store.build_index(SERVICE)  # empty tables: the first deploy's one-off
    return pipeline


@pytest.fixture
def destination() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as router:
        yield router


def test_fan_out_files_each_change_as_unsubmitted_with_its_event(indexed: Pipeline) -> None:
    indexed.import_([night(1), night(2)])
    assert indexed.run_fanout() == {"batchItemFailures": []}

    found = selected(indexed.store, "unsubmitted")
    assert set(found) == {eid(1), eid(2)}
    cached = indexed.store.events.get(eid(1))
    assert cached is not None
    assert (found[eid(1)].data, found[eid(1)].data_hash, found[eid(1)].version, found[eid(1)].incarnation) == (
        cached.data,
        cached.data_hash,
        cached.version,
        cached.incarnation,
    )
    # A placeholder is not a record: nothing reports one.
    assert indexed.store.submissions.get(eid(1), SERVICE) is None
    assert list(indexed.store.submissions.records(SERVICE)) == []

    # An update refreshes the placeholder; a removal deletes it.
    indexed.import_([night(1, venue="Moved")])
    indexed.store.events.delete(eid(2))
    indexed.run_fanout()
    found = selected(indexed.store, "unsubmitted")
    assert set(found) == {eid(1)}
    assert found[eid(1)].data["venue"] == "Moved"
    assert found[eid(1)].version == 2


def test_submissions_move_events_through_the_index(indexed: Pipeline, destination: respx.MockRouter) -> None:
    destination.post(ENDPOINT).mock(
        side_effect=lambda request: (
            httpx.Response(503)
            if b"Night 2" in request.content
            else httpx.Response(422, json={"error": "bad"})
            if b"Night 3" in request.content
            else httpx.Response(201, json={"data": {"id": "r1"}})
        )
    )
    indexed.import_([night(1), night(2), night(3)])
    indexed.run_fanout()
    indexed.run_submit(indexed.queued())

    store = indexed.store
    assert selected(store, "unsubmitted") == {}
    assert set(selected(store, "pending")) == {eid(2)}  # waiting for a retry
    failed = selected(store, "failed")
    assert set(failed) == {eid(3)}
    cached = store.events.get(eid(3))
    assert cached is not None
    assert (failed[eid(3)].data, failed[eid(3)].data_hash, failed[eid(3)].version) == (
        cached.data,
        cached.data_hash,
        cached.version,
    )

    # Fan-out never files a recorded event as unsubmitted again: the record stands.
    indexed.import_([night(1, venue="Moved")])
    indexed.run_fanout()
    assert selected(store, "unsubmitted") == {}
    record = store.submissions.get(eid(1), SERVICE)
    assert record is not None
    assert record.status is SubmissionStatus.SUCCESS


def test_a_submission_is_two_writes_and_no_reads(indexed: Pipeline) -> None:
    indexed.import_([night(1)])
    indexed.run_fanout()
    (event,) = selected(indexed.store, "unsubmitted").values()
    ledger = indexed.store.submissions
    claim = ledger.claim(
        event.event_id, SERVICE, data_hash=event.data_hash, version=event.version, lease_seconds=60, event=event.data
    )
    assert claim.record is not None
    assert set(selected(indexed.store, "pending")) == {event.event_id}
    ledger.complete(claim.record, status=SubmissionStatus.SUCCESS, event=event.data)
    assert selected(indexed.store, "pending") == {}
    assert selected(indexed.store, "unsubmitted") == {}


def test_the_backfill_files_what_a_stack_held_before_the_index(indexed: Pipeline) -> None:
    store = indexed.store
    indexed.import_([night(1), night(2), night(3)])  # cached, fan-out never ran
    # A failed record written without its event (as before the index existed).
    claim = store.submissions.claim(eid(2), SERVICE, data_hash="old", version=1, lease_seconds=60)
    assert claim.record is not None
    store.submissions.complete(claim.record, status=SubmissionStatus.FAILED)
    model = store.submissions.model
    legacy = model.get(eid(2), SERVICE)
    legacy.selection = None
    legacy.save()

    build = store.build_index(SERVICE)

    assert (build.events, build.records, build.placeholder_errors) == (3, 1, {})
    assert set(selected(store, "unsubmitted")) == {eid(1), eid(3)}
    # The record's version is not the cached one: the event is read from the cache, not guessed.
    assert set(selected(store, "failed")) == {eid(2)}
    assert [event_id for event_id, event in store.submissions.selected(SERVICE, Selection.FAILED)] == [eid(2)]
    assert store.build_index(SERVICE).records == 0  # idempotent


def test_a_removal_record_is_never_selectable(indexed: Pipeline) -> None:
    store = indexed.store
    indexed.import_([night(1)])
    claim = store.submissions.claim(
        eid(1), SERVICE, data_hash="removed:x", version=2, lease_seconds=60, change=ChangeKind.REMOVED, event={}
    )
    assert claim.record is not None
    store.submissions.complete(claim.record, status=SubmissionStatus.FAILED, change=ChangeKind.REMOVED)
    assert selected(store, "failed") == {}
