"""One pipeline scenario, two backends: in-process ``mock_aws`` and the local runtime's moto server.

Both must give the same deliveries and the same records: the local runtime is
only useful if it behaves like the in-process pipeline, which behaves like AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Protocol

import boto3
import httpx
import pytest
import respx

from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.local.destination import DraftEventsDestination
from infra.local.runtime import LocalRuntime
from infra.pipeline.importer import import_events
from integrations.event_data import event_id_for
from integrations.records import SubmissionRecord, SubmissionStatus
from tests.e2e.conftest import API_KEY, fast_template, runtime_store, start_runtime
from tests.integration.test_pipeline import BASE_URL, Pipeline, sample_events

pytestmark = pytest.mark.e2e


class Backend(Protocol):
    store: DynamoStore

    def deliver(self) -> None: ...

    def creates(self) -> list[dict[str, Any]]: ...

    def updates(self) -> list[tuple[str, dict[str, Any]]]: ...


def import_all(store: DynamoStore, events: list[dict[str, Any]]) -> None:
    report = import_events(store.events, [(str(n), event) for n, event in enumerate(events)])
    assert not report.invalid


class InProcess:
    """Handlers called directly with what in-process moto produced; TicketFairy answered by respx."""

    def __init__(self, pipeline: Pipeline, router: respx.MockRouter) -> None:
        self.pipeline = pipeline
        self.router = router
        self.store = pipeline.store

    def deliver(self) -> None:
        assert self.pipeline.run_fanout() == {"batchItemFailures": []}
        messages = self.pipeline.queued()
        if messages:
            assert self.pipeline.run_submit(messages) == {"batchItemFailures": []}

    def creates(self) -> list[dict[str, Any]]:
        return [json.loads(call.request.content) for call in self.router.calls if call.request.method == "POST"]

    def updates(self) -> list[tuple[str, dict[str, Any]]]:
        return [
            (call.request.url.path, json.loads(call.request.content))
            for call in self.router.calls
            if call.request.method == "PATCH"
        ]


class OnServer:
    """The local runtime's pollers and function hosts; TicketFairy played by a loopback server."""

    def __init__(self, runtime: LocalRuntime, destination: DraftEventsDestination) -> None:
        self.runtime = runtime
        self.destination = destination
        self.store = runtime_store(runtime)

    def deliver(self) -> None:
        assert self.runtime.wait_until_drained(timeout=60)

    def creates(self) -> list[dict[str, Any]]:
        return [request.body for request in self.destination.accepted_creates()]

    def updates(self) -> list[tuple[str, dict[str, Any]]]:
        return [(r.path, r.body) for r in self.destination.received() if r.method == "PATCH" and r.status == 200]


@pytest.fixture(params=["in-process", "server"])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    if request.param == "in-process":
        deployment: Stack = request.getfixturevalue("deployment")
        monkeypatch: pytest.MonkeyPatch = request.getfixturevalue("monkeypatch")
        pipeline = Pipeline(deployment, monkeypatch)
        parameter = deployment.env("TicketfairySubmitFunction")["TICKETFAIRY_API_KEY_PARAMETER"]
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=parameter, Value=API_KEY, Type="SecureString")
        with respx.mock(assert_all_called=False) as router:
            ids = iter(range(1, 1000))
            router.post(f"{BASE_URL}/api/draft-events").mock(
                side_effect=lambda request: (
                    httpx.Response(201, json={"data": {"id": str(next(ids))}})
                    if request.headers["Authorization"] == f"Bearer {API_KEY}"
                    else httpx.Response(401)
                )
            )
            router.patch(url__regex=rf"^{BASE_URL}/api/draft-events/\d+$").mock(
                return_value=httpx.Response(200, json={"data": {"id": "updated"}})
            )
            yield InProcess(pipeline, router)
    else:
        with DraftEventsDestination(api_key=API_KEY) as destination:
            runtime = start_runtime(fast_template(), destination)
            try:
                yield OnServer(runtime, destination)
            finally:
                runtime.stop()


def records(store: DynamoStore) -> list[SubmissionRecord]:
    return sorted(store.submissions.records("ticketfairy"), key=lambda record: record.event_id)


def test_the_pipeline_behaves_the_same_on_both_backends(backend: Backend) -> None:
    # Given three imported events, delivered
    import_all(backend.store, sample_events())
    backend.deliver()

    # Then each reached TicketFairy once, transformed, and is recorded as a success
    creates = backend.creates()
    titles = sorted(create["data"]["attributes"]["title"] for create in creates)
    assert titles == ["Festival Day One", "Jazz Brunch", "Warehouse Techno Night"]
    techno = next(c["data"]["attributes"] for c in creates if c["data"]["attributes"]["title"].startswith("Warehouse"))
    assert (techno["startDate"], techno["endDate"], techno["timezone"]) == (
        "2025-07-12 23:00:00",
        "2025-07-13 06:00:00",
        "Europe/Berlin",
    )
    first = records(backend.store)
    assert [(r.status, r.attempts, r.version) for r in first] == [(SubmissionStatus.SUCCESS, 1, 1)] * 3
    assert all(r.remote_id for r in first)

    # When identical data is imported again, nothing is delivered
    import_all(backend.store, sample_events())
    backend.deliver()
    assert len(backend.creates()) == 3

    # When one event changes, only that one is delivered again: as an update of its draft
    changed = sample_events()
    changed[2]["title"] = "Festival Day One (sold out)"
    festival_id = event_id_for(changed[2]["source_url"])
    remote_id = next(r.remote_id for r in first if r.event_id == festival_id)
    import_all(backend.store, changed)
    backend.deliver()
    assert len(backend.creates()) == 3
    [(path, body)] = backend.updates()
    assert path == f"/api/draft-events/{remote_id}"
    assert body["data"]["attributes"]["title"] == "Festival Day One (sold out)"
    festival = {r.event_id: r for r in records(backend.store)}[festival_id]
    assert (festival.status, festival.version) == (SubmissionStatus.SUCCESS, 2)
