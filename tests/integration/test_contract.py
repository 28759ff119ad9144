"""The contract every registered integration must pass, whatever its destination speaks.

Parametrized over the registry: a new integration joins by being registered
and naming its scripted destination in ``tests/destinations/<name>.py``
(``tests/scripted_destination.py`` says how).  Each destination answers as a
test scripts it, so every failure class is drawn on purpose.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from infra.aws.store import DynamoStore
from infra.local import SAMPLE_EVENTS
from infra.pipeline.importer import import_events, read_items
from integrations.base import BaseSubmitter
from integrations.errors import InvalidEventError, RetryableSubmitError, TransformError
from integrations.event_data import validate_event
from integrations.records import CachedEvent, ChangeKind, SubmissionStatus, removal_hash
from integrations.registry import get_integration, integration_names
from tests.scripted_destination import RETRY_AFTER_SECONDS, Answer, ScriptedDestination, destination_for, module_store

NAMES = integration_names()
#: Every test imports events of its own: one deployment serves the whole module.
_numbers = itertools.count(1)


def sample_event_data() -> list[dict[str, Any]]:
    """The shipped sample events that EventData accepts, as transformers receive them."""
    valid = []
    with SAMPLE_EVENTS.open("rb") as stream:
        for _, item in read_items(stream):
            if not isinstance(item, Mapping):
                continue  # a line the importer reports as broken
            try:
                valid.append(validate_event(item).model_dump(mode="json"))
            except InvalidEventError:
                continue
    return valid


@pytest.fixture(scope="module")
def store() -> Iterator[DynamoStore]:
    yield from module_store("contract")


@pytest.fixture(params=NAMES)
def destination(request: pytest.FixtureRequest) -> Iterator[ScriptedDestination]:
    scripted = destination_for(request.param)
    with scripted.active():
        yield scripted


def cached(store: DynamoStore, number: int | None = None, **extra: Any) -> CachedEvent:
    """Import one event (a new one without ``number``) and return it as cached."""
    number = next(_numbers) if number is None else number
    item = {"title": f"Contract {number}", "date": "2026-06-01", "source_url": f"https://contract.test/{number}"}
    report = import_events(store.events, [(str(number), {**item, **extra})])
    (outcome,) = report.outcomes
    event = store.events.get(outcome.event_id)
    assert event is not None
    return event


def submit(submitter: BaseSubmitter, event: CachedEvent, change: ChangeKind = ChangeKind.CREATED) -> Any:
    """Submit one event version; a retryable failure comes back as the error."""
    try:
        return asyncio.run(submitter.submit_event(event, change=change))
    except RetryableSubmitError as exc:
        return exc


@pytest.mark.parametrize("name", NAMES)
def test_transform_is_total_on_the_sample_events_and_payloads_are_json(name: str) -> None:
    transformer = get_integration(name).create_transformer({})
    samples = sample_event_data()
    assert samples
    built = 0
    for data in samples:
        try:
            payload = transformer.transform(data)
        except TransformError as exc:
            reason = str(exc)
            payload = None
        if payload is None:
            assert reason, f"{name}: a TransformError must say why"
            continue
        assert isinstance(payload, dict)
        json.dumps(payload, allow_nan=False)
        built += 1
    assert built, f"{name} built no payload from any sample event"


@pytest.mark.parametrize(
    ("answer", "retried"),
    [
        (Answer.CONNECT_ERROR, True),
        (Answer.TIMEOUT, True),
        (Answer.SERVER_ERROR, True),
        (Answer.THROTTLED, True),
        (Answer.REJECTED, False),
    ],
)
def test_every_failure_class_maps_to_its_outcome(
    destination: ScriptedDestination, store: DynamoStore, answer: Answer, retried: bool
) -> None:
    submitter = destination.submitter(store)
    event = cached(store)
    destination.script(answer)

    result = submit(submitter, event)

    record = store.submissions.get(event.event_id, submitter.service_name)
    assert record is not None
    if retried:
        assert isinstance(result, RetryableSubmitError), result
        assert record.status is SubmissionStatus.PENDING
        if answer is Answer.THROTTLED:
            assert result.retry_after == RETRY_AFTER_SECONDS
    else:
        assert record.status is SubmissionStatus.FAILED
        assert record.permanent
    assert record.last_error
    # The next attempt, answered well, delivers it.
    assert submit(submitter, event).status is SubmissionStatus.SUCCESS or not retried


def test_a_success_without_an_id_is_an_outcome_the_integration_declares(
    destination: ScriptedDestination, store: DynamoStore
) -> None:
    submitter = destination.submitter(store)
    event = cached(store)
    destination.script(Answer.OK_WITHOUT_ID)

    result = submit(submitter, event)

    if submitter.integration.needs_remote_id:
        # Later changes need the id: the create cannot count as done.
        assert result.status is SubmissionStatus.FAILED
        assert "id" in (result.error or "")
    else:
        assert result.status is SubmissionStatus.SUCCESS


def test_secrets_never_appear_in_errors_or_records(destination: ScriptedDestination, store: DynamoStore) -> None:
    submitter = destination.submitter(store)
    events = [cached(store) for _ in range(3)]
    destination.script(Answer.REJECTED, Answer.CONNECT_ERROR, Answer.SERVER_ERROR)

    results = [submit(submitter, event) for event in events]

    written = [str(result) for result in results]
    written += [repr(record) for record in store.submissions.records(submitter.service_name)]
    for secret in destination.secrets:
        for text in written:
            assert secret not in text
            assert secret[:12] not in text


def test_updates_and_deletes_behave_as_declared(destination: ScriptedDestination, store: DynamoStore) -> None:
    submitter = destination.submitter(store)
    integration = submitter.integration
    number = next(_numbers)
    event = cached(store, number)
    assert submit(submitter, event).status is SubmissionStatus.SUCCESS

    changed = cached(store, number, title=f"Contract {number} (moved)", venue="Elsewhere")
    assert submit(submitter, changed, ChangeKind.UPDATED).status is SubmissionStatus.SUCCESS
    removal = CachedEvent(event.event_id, changed.data, removal_hash(changed.data_hash), changed.version + 1)
    removed = submit(submitter, removal, ChangeKind.REMOVED)

    kinds = [call.kind for call in destination.calls]
    assert kinds[0] == "create"
    assert kinds[1] == ("update" if integration.supports_updates else "create")
    if integration.supports_deletes:
        assert kinds[2:] == ["delete"]
        assert removed.status is SubmissionStatus.SUCCESS
    else:
        assert kinds[2:] == []
        assert removed.status is SubmissionStatus.SKIPPED


def test_a_duplicate_delivery_makes_no_second_call(destination: ScriptedDestination, store: DynamoStore) -> None:
    submitter = destination.submitter(store)
    event = cached(store)

    first = submit(submitter, event)
    again = submit(submitter, event)

    assert first.status is SubmissionStatus.SUCCESS
    assert again.extra.get("claim") == "already_submitted"
    assert len(destination.calls) == 1
