"""The DynamoDB store on moto: imports write only changes; claims are exclusive."""

from __future__ import annotations

import datetime as dt

import boto3
import pytest
from typer.testing import CliRunner

from infra.aws.settings import TableSettings
from infra.aws.stack import Stack
from infra.aws.store import ConcurrentWriteError, DynamoStore
from infra.cli import app
from infra.pipeline.importer import enrich_events, import_events
from integrations.env import load_env_model
from integrations.event_data import EventData, content_hash, event_id_for
from integrations.ports import ClaimOutcome
from integrations.records import SubmissionStatus
from tests.conftest import REGION


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)

    def __call__(self) -> dt.datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += dt.timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(deployment: Stack, clock: Clock) -> DynamoStore:
    return DynamoStore(load_env_model(TableSettings, deployment.env("FanoutFunction")), clock=clock)


def event(n: int, title: str = "Show") -> dict[str, object]:
    return {"title": f"{title} {n}", "date": "2026-03-01", "source_url": f"https://example.com/e/{n}"}


def test_import_writes_new_and_changed_events_only(store: DynamoStore, deployment: Stack) -> None:
    first = import_events(store.events, [("a", event(1)), ("b", event(2))])
    assert [o.change for o in first.outcomes] == ["created", "created"]

    table = deployment.env("FanoutFunction")["EVENT_CACHE_TABLE"]
    calls: list[str] = []
    client = store.events.model._get_connection().connection.client  # the botocore client pynamodb uses
    client.meta.events.register("before-call.dynamodb.PutItem", lambda **kw: calls.append(kw["model"].name))
    again = import_events(store.events, [("a", event(1)), ("b", event(2, "Changed"))])
    assert [o.change for o in again.outcomes] == ["unchanged", "updated"]
    assert calls == ["PutItem"]  # one write, for the changed event only

    changed = store.events.get(again.outcomes[1].event_id)
    assert changed is not None
    assert changed.version == 2
    assert changed.data["title"] == "Changed 2"
    items = boto3.client("dynamodb", region_name=REGION).scan(TableName=table)["Items"]
    assert len(items) == 2


def test_invalid_items_are_reported_and_the_rest_imported(store: DynamoStore) -> None:
    report = import_events(
        store.events,
        [
            ("item 1", event(1)),
            ("item 2", {"title": "no url"}),
            ("item 3", {"title": "", "source_url": "https://x.y/1"}),
        ],
    )
    assert len(report.outcomes) == 1
    assert [str(i) for i in report.invalid] == [
        "item 2: source_url: required: the event id is derived from it",
        "item 3: title: must not be empty (markup alone does not count)",
    ]


def test_a_claim_is_exclusive_until_its_lease_expires(store: DynamoStore, clock: Clock) -> None:
    ledger = store.submissions
    first = ledger.claim("e1", "svc", data_hash="h1", version=1, lease_seconds=30)
    assert first.outcome is ClaimOutcome.CLAIMED
    assert ledger.claim("e1", "svc", data_hash="h1", version=1, lease_seconds=30).outcome is ClaimOutcome.BUSY

    clock.advance(31)
    takeover = ledger.claim("e1", "svc", data_hash="h1", version=1, lease_seconds=30)
    assert takeover.outcome is ClaimOutcome.CLAIMED
    assert takeover.record is not None
    assert takeover.record.attempts == 2

    # The first worker's late outcome must not overwrite the live claim.
    assert first.record is not None
    late = ledger.complete(first.record, status=SubmissionStatus.SUCCESS, remote_id="r-1")
    assert late.status is SubmissionStatus.IN_PROGRESS

    done = ledger.complete(takeover.record, status=SubmissionStatus.SUCCESS, remote_id="r-2")
    assert done.status is SubmissionStatus.SUCCESS
    assert done.submitted_hash == "h1"
    assert ledger.claim("e1", "svc", data_hash="h1", version=1, lease_seconds=30).outcome is (
        ClaimOutcome.ALREADY_SUBMITTED
    )


def test_status_queries_use_the_index(store: DynamoStore) -> None:
    ledger = store.submissions
    for event_id, status in (
        ("a", SubmissionStatus.FAILED),
        ("b", SubmissionStatus.SUCCESS),
        ("c", SubmissionStatus.FAILED),
    ):
        claim = ledger.claim(event_id, "svc", data_hash="h", version=1, lease_seconds=30)
        assert claim.record is not None
        ledger.complete(claim.record, status=status, last_error="boom" if status is SubmissionStatus.FAILED else None)
    other = ledger.claim("a", "other", data_hash="h", version=1, lease_seconds=30)
    assert other.outcome is ClaimOutcome.CLAIMED

    assert sorted(ledger.event_ids("svc", SubmissionStatus.FAILED)) == ["a", "c"]
    assert sorted(ledger.event_ids("svc")) == ["a", "b", "c"]
    failed = sorted(ledger.records("svc", SubmissionStatus.FAILED), key=lambda r: r.event_id)
    assert [(r.event_id, r.last_error) for r in failed] == [("a", "boom"), ("c", "boom")]


def test_an_import_never_overwrites_a_change_it_did_not_see(store: DynamoStore) -> None:
    import_events(store.events, [("a", event(1))])
    eid = import_events(store.events, [("a", event(1))]).outcomes[0].event_id
    stale = store.events.known([eid])[eid]
    import_events(store.events, [("b", event(1, "Changed meanwhile"))])  # another writer

    with pytest.raises(ConcurrentWriteError, match="changed by another writer"):
        store.events.put_if_changed(eid, {"title": "Mine"}, "my-hash", source_url=None, known=stale)
    cached = store.events.get(eid)
    assert cached is not None
    assert cached.data["title"] == "Changed meanwhile 1"


def test_an_import_notes_a_source_zone_it_did_not_use(store: DynamoStore) -> None:
    raw = {**event(1), "time": {"timezone": "Mars/Olympus_Mons"}, "location": {"city": "Perth", "country": "Australia"}}

    report = import_events(store.events, [("line 1", raw)])

    assert [str(note) for note in report.notes] == [
        "line 1: time.timezone: 'Mars/Olympus_Mons' is not an IANA time zone; used Australia/Perth (from the city)"
    ]
    assert report.notes[0].event_id == report.outcomes[0].event_id
    cached = store.events.get(report.outcomes[0].event_id)
    assert cached is not None
    assert cached.data["time"]["timezone"] == "Australia/Perth"


def cache_without_zone(store: DynamoStore, n: int, location: dict[str, object]) -> str:
    """An event as an importer before zones were resolved on import stored it."""
    data = EventData.model_validate({**event(n), "location": location}).model_dump(mode="json")
    event_id = event_id_for(str(data["source_url"]))
    store.events.put_if_changed(event_id, data, content_hash(data), source_url=str(data["source_url"]), known=None)
    return event_id


def test_enrich_stores_the_zones_of_events_cached_without_one(store: DynamoStore) -> None:
    perth = cache_without_zone(store, 1, {"city": "Perth"})
    portland = cache_without_zone(store, 2, {"city": "Portland", "state": "ME", "country": "USA"})
    import_events(store.events, [("new", {**event(3), "location": {"country": "Japan"}})])

    report = enrich_events(store.events)

    assert sorted((o.event_id, o.change, o.version) for o in report.outcomes) == sorted(
        [(perth, "updated", 2), (portland, "updated", 2)]
    )
    zones = {event_id: store.events.get(event_id) for event_id in (perth, portland)}
    assert {k: v.data["time"]["timezone"] for k, v in zones.items() if v} == {
        perth: "Australia/Perth",
        portland: "America/New_York",
    }
    assert enrich_events(store.events).outcomes == []  # nothing is left without a zone
    assert {o.change for o in enrich_events(store.events, only_missing_zone=False).outcomes} == {"unchanged"}


def test_the_enrich_command(store: DynamoStore, deployment: Stack) -> None:
    event_id = cache_without_zone(store, 1, {"city": "Berlin"})
    tables = ["--stack", deployment.name]

    result = CliRunner().invoke(app, ["events", "enrich", *tables, "--region", REGION])

    assert result.exit_code == 0, result.output
    assert "created 0, updated 1, unchanged 0, invalid 0" in result.output
    cached = store.events.get(event_id)
    assert cached is not None
    assert cached.data["time"]["timezone"] == "Europe/Berlin"
