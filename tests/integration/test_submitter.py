"""The submitter on moto: operator runs, dry runs, concurrency, and error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import SecretStr

from infra.aws.secrets import resolve_secret
from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.pipeline.importer import import_events
from integrations.base import BaseSubmitter, ClaimBusyError
from integrations.env import load_env_model
from integrations.records import CachedEvent, ChangeKind, SubmissionStatus
from integrations.registry import get_integration
from integrations.ticketfairy.config import TicketFairyConfig
from tests.slow_destination import SlowDestination

BASE_URL = "https://tf.test"
ENDPOINT = f"{BASE_URL}/api/draft-events"


@pytest.fixture
def store(deployment: Stack) -> DynamoStore:
    store = DynamoStore(load_env_model(TableSettings, deployment.env("FanoutFunction")))
    events = [
        {"title": f"Show {n}", "date": "2026-05-01", "time": {"start": "21:00"}, "source_url": f"https://e.x/{n}"}
        for n in range(10)
    ]
    import_events(store.events, [(str(n), e) for n, e in enumerate(events)])
    store.build_index("ticketfairy")  # fan-out is not run here: the backfill files the events as unsubmitted
    return store


@pytest.fixture
def submitter(store: DynamoStore) -> BaseSubmitter:
    integration = get_integration("ticketfairy")
    config = TicketFairyConfig(base_url=BASE_URL, api_key=SecretStr("k"))
    return integration.create_submitter(store, config, resolve_secret)


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(assert_all_called=False) as mock:
        yield mock


def test_dry_run_returns_exact_payloads_and_touches_nothing(
    submitter: BaseSubmitter, store: DynamoStore, router: respx.MockRouter
) -> None:
    route = router.post(ENDPOINT).mock(return_value=httpx.Response(201, json={"id": "1"}))

    results = asyncio.run(submitter.submit_events("unsubmitted", dry_run=True))

    assert len(results) == 10
    assert {r.status for r in results} == {SubmissionStatus.DRY_RUN}
    payload = next(r.payload for r in results if r.payload and r.payload["data"]["attributes"]["title"] == "Show 3")
    assert payload == submitter.transformer.transform(
        next(e.data for e in store.events.scan() if e.data["title"] == "Show 3")
    )
    assert not route.called
    assert list(store.submissions.records("ticketfairy")) == []


def test_operator_run_submits_and_records_each_event_once(
    submitter: BaseSubmitter, store: DynamoStore, router: respx.MockRouter
) -> None:
    router.post(ENDPOINT).mock(return_value=httpx.Response(201, json={"data": {"id": "r"}}))
    first = asyncio.run(submitter.submit_events("unsubmitted"))
    assert [r.status for r in first] == [SubmissionStatus.SUCCESS] * 10
    # Nothing is left unsubmitted, and "all" finds every version already delivered.
    assert asyncio.run(submitter.submit_events("unsubmitted")) == []
    again = asyncio.run(submitter.submit_events("all"))
    assert {r.extra.get("claim") for r in again} == {"already_submitted"}
    assert len(router.calls) == 10


def test_one_timeout_does_not_stop_the_run_or_leave_records_pending_forever(
    submitter: BaseSubmitter, store: DynamoStore, router: respx.MockRouter
) -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        title = json.loads(request.content)["data"]["attributes"]["title"]
        if title == "Show 4":
            raise httpx.ReadTimeout("slow", request=request)
        if title == "Show 5":
            return httpx.Response(400, json={"errors": [{"detail": "venue required"}]})
        return httpx.Response(201, json={"id": title})

    router.post(ENDPOINT).mock(side_effect=answer)
    results = {r.event_id: r for r in asyncio.run(submitter.submit_events("all"))}

    statuses = sorted(r.status.value for r in results.values())
    assert statuses == ["failed"] + ["pending"] + ["success"] * 8
    records = {r.event_id: r for r in store.submissions.records("ticketfairy")}
    assert {r.status for r in records.values()} == {
        SubmissionStatus.SUCCESS,
        SubmissionStatus.FAILED,
        SubmissionStatus.PENDING,
    }
    failed = next(r for r in records.values() if r.status is SubmissionStatus.FAILED)
    assert failed.last_error is not None
    assert "venue required" in failed.last_error
    # The timed-out one is selectable for a retry, and a retry succeeds.
    router.post(ENDPOINT).mock(return_value=httpx.Response(201, json={"id": "late"}))
    retried = asyncio.run(submitter.submit_events("pending"))
    assert [r.status for r in retried] == [SubmissionStatus.SUCCESS]


def test_a_batch_is_submitted_concurrently(
    submitter: BaseSubmitter, store: DynamoStore, router: respx.MockRouter
) -> None:
    # Half a second: on a busy machine ten claims (through a small thread pool) may take longer than
    # the default 50 ms, and the first answers would come back before the last requests go out.
    slow = SlowDestination(delay=0.5)
    router.post(ENDPOINT).mock(side_effect=slow)
    asyncio.run(submitter.submit_events("all", concurrency=10))
    assert slow.peak == 10


def _deliver_once(submitter: BaseSubmitter, store: DynamoStore) -> str:
    """Submit 'Show 0' successfully; return its event id."""
    event = next(e for e in store.events.scan() if e.data["title"] == "Show 0")
    result = asyncio.run(submitter.submit_event(event))
    assert result.status is SubmissionStatus.SUCCESS
    return event.event_id


def _changed(store: DynamoStore, event_id: str) -> CachedEvent:
    current = store.events.get(event_id)
    assert current is not None
    data = {**current.data, "title": "Show 0 (moved)"}
    return CachedEvent(event_id, data, "changed-hash", current.version + 1)


def test_a_change_is_an_update_where_supported_and_a_new_submission_otherwise(
    submitter: BaseSubmitter, store: DynamoStore, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    router.post(ENDPOINT).mock(return_value=httpx.Response(201, json={"data": {"id": "41"}}))
    update = router.patch(f"{ENDPOINT}/41").mock(return_value=httpx.Response(200, json={"data": {"id": "41"}}))
    event_id = _deliver_once(submitter, store)

    result = asyncio.run(submitter.submit_event(_changed(store, event_id), change=ChangeKind.UPDATED))
    assert update.call_count == 1
    record = store.submissions.get(event_id, "ticketfairy")
    assert record is not None
    assert (record.status, record.change, record.remote_id) == (SubmissionStatus.SUCCESS, ChangeKind.UPDATED, "41")
    assert result.status is SubmissionStatus.SUCCESS

    # An integration that cannot update gets the next change as a new submission instead.
    monkeypatch.setattr(type(submitter.integration), "supports_updates", False)
    newer = _changed(store, event_id)
    newer = CachedEvent(event_id, {**newer.data, "title": "Show 0 (moved again)"}, "newer-hash", newer.version + 1)
    asyncio.run(submitter.submit_event(newer, change=ChangeKind.UPDATED))
    assert update.call_count == 1
    assert [call.request.method for call in router.calls] == ["POST", "PATCH", "POST"]


def test_a_removal_is_a_delete_where_supported_and_recorded_otherwise(
    submitter: BaseSubmitter, store: DynamoStore, router: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    router.post(ENDPOINT).mock(return_value=httpx.Response(201, json={"data": {"id": "41"}}))
    delete = router.delete(f"{ENDPOINT}/41").mock(return_value=httpx.Response(204))
    event_id = _deliver_once(submitter, store)
    removal = CachedEvent(event_id, {}, "removed:x", 2)

    monkeypatch.setattr(type(submitter.integration), "supports_deletes", False)
    asyncio.run(submitter.submit_event(removal, change=ChangeKind.REMOVED))
    record = store.submissions.get(event_id, "ticketfairy")
    assert record is not None
    assert (record.status, record.change) == (SubmissionStatus.SKIPPED, ChangeKind.REMOVED)
    assert record.response_summary == "removed from the cache; ticketfairy cannot withdraw events"
    assert not delete.called

    monkeypatch.setattr(type(submitter.integration), "supports_deletes", True)
    asyncio.run(submitter.submit_event(CachedEvent(event_id, {}, "removed:y", 3), change=ChangeKind.REMOVED))
    assert delete.call_count == 1
    record = store.submissions.get(event_id, "ticketfairy")
    assert record is not None
    assert (record.status, record.change, record.remote_id) == (SubmissionStatus.SUCCESS, ChangeKind.REMOVED, "41")


def test_a_live_claim_sends_the_message_back_until_the_lease_ends(
    submitter: BaseSubmitter, store: DynamoStore, router: respx.MockRouter
) -> None:
    router.post(ENDPOINT).mock(return_value=httpx.Response(201, json={"id": "1"}))
    event = next(iter(store.events.scan()))
    held = store.submissions.claim(
        event.event_id, "ticketfairy", data_hash=event.data_hash, version=1, lease_seconds=60
    )
    assert held.outcome.value == "claimed"

    with pytest.raises(ClaimBusyError) as busy:
        asyncio.run(submitter.submit_event(event))
    assert busy.value.lease_until is not None
    assert held.record is not None
    assert busy.value.lease_until == held.record.lease_until
    assert not router.calls
