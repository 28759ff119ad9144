"""Every standard selector, against real tables on moto."""

from __future__ import annotations

import pytest

from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import DynamoStore
from infra.pipeline.importer import import_events
from integrations.env import load_env_model
from integrations.event_data import event_id_for
from integrations.records import SubmissionStatus
from integrations.selectors import STANDARD_SELECTORS, ByUrlSelector, SelectionIndexNotBuiltError

SERVICE = "ticketfairy"


@pytest.fixture
def store(deployment: Stack) -> DynamoStore:
    store = DynamoStore(load_env_model(TableSettings, deployment.env("FanoutFunction")))
    events = [{"title": f"Show {n}", "source_url": f"https://example.com/e/{n}"} for n in range(1, 6)]
    import_events(store.events, [(str(n), e) for n, e in enumerate(events)])
    # Fan-out is not run here: the backfill files the cached events as unsubmitted, as it would.
    store.build_index(SERVICE)
    return store


def ids(store: DynamoStore, name: str, **params: str) -> list[str]:
    selector = STANDARD_SELECTORS[name](**params)
    return sorted(event.event_id for event in selector.select_events(store, SERVICE))


def eid(n: int) -> str:
    return event_id_for(f"https://example.com/e/{n}")


def record(store: DynamoStore, n: int, status: SubmissionStatus, service: str = SERVICE) -> None:
    claim = store.submissions.claim(eid(n), service, data_hash="h", version=1, lease_seconds=60)
    assert claim.record is not None
    if status is not SubmissionStatus.IN_PROGRESS:
        store.submissions.complete(claim.record, status=status)


def test_unsubmitted_selects_until_submitted(store: DynamoStore) -> None:
    everything = sorted(eid(n) for n in range(1, 6))
    assert ids(store, "unsubmitted") == everything  # the original project's selected nothing here

    record(store, 1, SubmissionStatus.SUCCESS)
    record(store, 2, SubmissionStatus.FAILED)
    record(store, 3, SubmissionStatus.SUCCESS, service="other")  # another integration's record doesn't count
    assert ids(store, "unsubmitted") == sorted([eid(3), eid(4), eid(5)])


def test_status_selectors(store: DynamoStore) -> None:
    record(store, 1, SubmissionStatus.FAILED)
    record(store, 2, SubmissionStatus.PENDING)
    record(store, 3, SubmissionStatus.IN_PROGRESS)
    record(store, 4, SubmissionStatus.SUCCESS)
    record(store, 5, SubmissionStatus.FAILED, service="other")
    assert ids(store, "failed") == [eid(1)]
    assert ids(store, "pending") == sorted([eid(2), eid(3)])
    assert ids(store, "all") == sorted(eid(n) for n in range(1, 6))


def test_by_url_selects_one_event_by_its_source(store: DynamoStore) -> None:
    assert ids(store, "by-url", url="https://EXAMPLE.com/e/3/") == [eid(3)]
    assert list(ByUrlSelector("https://example.com/missing").select_events(store, SERVICE)) == []


@pytest.mark.parametrize("name", ["unsubmitted", "failed", "pending"])
def test_index_selectors_refuse_until_the_index_is_built(deployment: Stack, name: str) -> None:
    store = DynamoStore(load_env_model(TableSettings, deployment.env("FanoutFunction")))
    with pytest.raises(SelectionIndexNotBuiltError, match=f"event-importer index build {SERVICE}"):
        list(STANDARD_SELECTORS[name]().select_events(store, SERVICE))
