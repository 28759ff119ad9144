"""The webhook integration against a real receiver on loopback that verifies every signature.

Creates, updates and removals arrive signed and are applied once; a rotation
overlap verifies with either secret; a 410 Gone disables the endpoint (a
record, then nothing more is sent) until an operator re-enables it.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Iterator
from typing import Any

import pytest
from pydantic import SecretStr

from infra.aws.secrets import resolve_secret
from infra.aws.store import DynamoStore
from infra.local.webhook_receiver import WebhookReceiver
from infra.pipeline.importer import import_events
from integrations.base import BaseSubmitter
from integrations.records import CachedEvent, ChangeKind, SubmissionStatus, removal_hash
from integrations.registry import get_integration
from integrations.webhook.config import WebhookConfig
from tests.scripted_destination import module_store

OLD = "whsec_b2xkLXdlYmhvb2stc2VjcmV0LWludGVncmF0aW9u"
NEW = "whsec_bmV3LXdlYmhvb2stc2VjcmV0LWludGVncmF0aW9u"
_numbers = itertools.count(1)


@pytest.fixture(scope="module")
def store() -> Iterator[DynamoStore]:
    yield from module_store("webhook")


def submitter(store: DynamoStore, receiver: WebhookReceiver, secrets: str = OLD) -> BaseSubmitter:
    config = WebhookConfig(url=receiver.url, secret=SecretStr(secrets), allow_loopback=True, timeout_seconds=5)
    return get_integration("webhook").create_submitter(store, config, resolve_secret)


def imported(store: DynamoStore, number: int | None = None, **fields: Any) -> CachedEvent:
    number = next(_numbers) if number is None else number
    item = {"title": f"Hooked {number}", "date": "2026-08-01", "source_url": f"https://hooks.test/{number}", **fields}
    (outcome,) = import_events(store.events, [(str(number), item)]).outcomes
    event = store.events.get(outcome.event_id)
    assert event is not None
    return event


def send(submitter: BaseSubmitter, event: CachedEvent, change: ChangeKind = ChangeKind.CREATED, **kw: Any) -> Any:
    return asyncio.run(submitter.submit_event(event, change=change, **kw))


def test_created_updated_removed_arrive_signed_and_are_applied_once(store: DynamoStore) -> None:
    with WebhookReceiver([OLD]) as receiver:
        hook = submitter(store, receiver)
        number = next(_numbers)
        event = imported(store, number)
        assert send(hook, event).status is SubmissionStatus.SUCCESS
        assert send(hook, event).extra.get("claim") == "already_submitted"  # a duplicate delivery: no call

        moved = imported(store, number, venue="Elsewhere")
        assert send(hook, moved, ChangeKind.UPDATED).status is SubmissionStatus.SUCCESS
        assert receiver.events()[event.event_id]["event"]["venue"] == "Elsewhere"

        removal = CachedEvent(event.event_id, moved.data, removal_hash(moved.data_hash), moved.version + 1)
        assert send(hook, removal, ChangeKind.REMOVED).status is SubmissionStatus.SUCCESS

        assert [m.type for m in receiver.messages()] == ["event.created", "event.updated", "event.removed"]
        assert event.event_id not in receiver.events()
        assert receiver.counts().get("invalid", 0) == 0
        body = receiver.messages()[0].body
        assert body["data"]["event_id"] == event.event_id
        assert body["data"]["version"] == 1
        assert body["data"]["event"]["title"] == f"Hooked {number}"


@pytest.mark.parametrize("receiver_secret", [OLD, NEW])
def test_during_a_rotation_a_receiver_with_either_secret_verifies(store: DynamoStore, receiver_secret: str) -> None:
    with WebhookReceiver([receiver_secret]) as receiver:
        assert send(submitter(store, receiver, f"{OLD} {NEW}"), imported(store)).status is SubmissionStatus.SUCCESS
        assert receiver.counts() == {"accepted": 1}


def test_a_wrong_secret_is_refused_by_the_receiver(store: DynamoStore) -> None:
    with WebhookReceiver([NEW]) as receiver:
        result = send(submitter(store, receiver, OLD), imported(store))

        assert result.status is SubmissionStatus.FAILED
        assert receiver.counts() == {"invalid": 1}
        assert OLD not in (result.error or "")


def test_gone_disables_the_endpoint_until_an_operator_re_enables_it(store: DynamoStore) -> None:
    with WebhookReceiver([OLD]) as receiver:
        hook = submitter(store, receiver)
        receiver.gone = True
        first = send(hook, imported(store))

        assert first.status is SubmissionStatus.FAILED
        assert first.extra.get("endpoint_disabled") is True
        state = store.submissions.endpoint("webhook")
        assert state is not None
        assert state.disabled
        assert "410" in (state.reason or "")

        # The endpoint came back, but nothing is sent until an operator says so.
        receiver.gone = False
        second_event = imported(store)
        second = send(hook, second_event)
        assert second.status is SubmissionStatus.FAILED
        assert "disabled" in (second.error or "")
        assert receiver.counts() == {"gone": 1}

        store.submissions.set_endpoint("webhook", disabled=False)
        again = send(submitter(store, receiver), second_event, retry_failed=True)
        assert again.status is SubmissionStatus.SUCCESS
        assert receiver.counts() == {"gone": 1, "accepted": 1}
