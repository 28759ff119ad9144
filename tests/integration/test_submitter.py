"""The submitter on moto: operator runs, dry runs, concurrency, and error mapping."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator

import httpx
import pytest
import respx
from pydantic import SecretStr

from infra.importer import import_events
from infra.settings import TableSettings, load_env_model
from infra.store import DynamoStore
from integrations.base import BaseSubmitter
from integrations.records import SubmissionStatus
from integrations.registry import get_integration
from integrations.ticketfairy.config import TicketFairyConfig
from tests.conftest import Deployment

BASE_URL = "https://tf.test"
ENDPOINT = f"{BASE_URL}/api/draft-events"


@pytest.fixture
def store(deployment: Deployment) -> DynamoStore:
    store = DynamoStore(load_env_model(TableSettings, deployment.env("FanoutFunction")))
    events = [
        {"title": f"Show {n}", "date": "2026-05-01", "time": {"start": "21:00"}, "source_url": f"https://e.x/{n}"}
        for n in range(10)
    ]
    import_events(store.events, [(str(n), e) for n, e in enumerate(events)])
    return store


@pytest.fixture
def submitter(store: DynamoStore) -> BaseSubmitter:
    integration = get_integration("ticketfairy")
    config = TicketFairyConfig(base_url=BASE_URL, api_key=SecretStr("k"))
    return integration.create_submitter(store, config)


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
    in_flight = 0
    peak = 0

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.05)
        in_flight -= 1
        return httpx.Response(201, json={"id": "x"})

    router.post(ENDPOINT).mock(side_effect=slow)
    asyncio.run(submitter.submit_events("all", concurrency=10))
    assert peak == 10
