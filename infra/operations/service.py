"""The operations layer: everything an operator can ask for, behind every front door.

The CLI, the HTTP API, the MCP server and the replay function each parse a
request, call one method here and shape the answer; the integrations' own
interface modules get this object (as ``integrations.operations.OperationsPort``)
from their front door.  Each method validates everything it was given
before it reads or writes anything, raising ``BadRequestError`` or
``NotFoundError``, so a refused request has done nothing.

Replays go through the integration's queue, as fan-out's deliveries do: the
same ``QueueMessage`` bodies, packed into ``SendMessageBatch`` calls to SQS's
limits, so claims, retries with backoff, the DLQ and the ledger apply to
them exactly as to automatic deliveries.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import inspect
import itertools
import json
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from infra.aws.publisher import OutgoingMessage, QueuePublisher
from infra.aws.store import DynamoStore
from infra.operations.models import (
    MAX_IMPORT_ITEMS,
    MAX_PAGE_SIZE,
    DeadLetter,
    DeadLetterView,
    EventView,
    ImportItemProblem,
    ImportResult,
    IndexBuildResult,
    IntegrationState,
    IntegrationStatus,
    RedriveResult,
    ReplayItem,
    ReplayReport,
    ReplayRequest,
    StatusSummary,
    SubmissionPage,
    submission_view,
)
from infra.pipeline.importer import ImportReport, InvalidItem, enrich_events, import_events
from infra.pipeline.messages import QueueMessage, event_id_in
from infra.pipeline.redrive import redrive
from integrations.base import BaseSelector, Integration
from integrations.errors import (
    BadRequestError,
    ConfigurationError,
    InvalidEventError,
    NotDeployedError,
    NotFoundError,
    PermanentSubmitError,
    UnknownIntegrationError,
)
from integrations.event_data import event_id_for, validate_event
from integrations.operations import EndpointView
from integrations.records import CachedEvent, ChangeKind, SubmissionStatus
from integrations.registry import get_integration, integration_names

if TYPE_CHECKING:
    from mypy_boto3_sqs import SQSClient

logger = logging.getLogger(__name__)

#: The statuses a status summary counts (dry runs are never recorded).
COUNTED_STATUSES = (
    SubmissionStatus.PENDING,
    SubmissionStatus.IN_PROGRESS,
    SubmissionStatus.SUCCESS,
    SubmissionStatus.FAILED,
    SubmissionStatus.SKIPPED,
)
#: A DLQ peek shows at most this many messages (one ReceiveMessage call).
PEEK_LIMIT = 10


@dataclass(frozen=True)
class Queues:
    """One integration's queue and dead-letter queue in this deployment."""

    queue_url: str
    dead_letter_queue_url: str | None = None


class Operations:
    """Operator actions on one deployment: its two tables and each integration's queues.

    ``queues`` maps integration name -> its ``Queues`` (the deployment's; an
    integration without an entry is registered but not deployed).
    ``environ`` holds the settings that shape payloads (for dry runs).
    ``submit_environments``, when the caller knows them (the CLI reads them
    from the stack), maps integration name -> its submit function's
    environment, so ``integrations()`` can say whether each has a function
    and valid settings.
    """

    def __init__(
        self,
        store: DynamoStore,
        sqs: SQSClient,
        queues: Mapping[str, Queues],
        *,
        paused: Iterable[str] = (),
        max_inline_bytes: int,
        environ: Mapping[str, str] | None = None,
        new_replay_id: Callable[[], str] | None = None,
        submit_environments: Mapping[str, Mapping[str, str]] | None = None,
    ) -> None:
        self.store = store
        self.sqs = sqs
        self.queues = dict(queues)
        self.paused = frozenset(paused)
        self.max_inline_bytes = max_inline_bytes
        self.environ = environ
        self._new_replay_id = new_replay_id or _replay_id
        self.submit_environments = submit_environments

    # -- integrations ---------------------------------------------------------------

    def _integration(self, name: str) -> Integration:
        try:
            return get_integration(name)
        except UnknownIntegrationError as exc:
            raise NotFoundError(str(exc)) from exc

    def _queues(self, name: str) -> Queues:
        self._integration(name)
        try:
            return self.queues[name]
        except KeyError:
            raise NotDeployedError(
                f"integration {name!r} has no queue in this deployment: deploy the current template.yaml"
            ) from None

    def endpoint(self, integration: str) -> EndpointView:
        """The endpoint state of ``integration`` (enabled unless a 410 Gone disabled it)."""
        self._integration(integration)
        state = self.store.submissions.endpoint(integration)
        if state is None:
            return EndpointView(integration=integration, disabled=False)
        return EndpointView(
            integration=integration, disabled=state.disabled, reason=state.reason, changed_at=state.changed_at
        )

    def enable_endpoint(self, integration: str) -> EndpointView:
        """Re-enable ``integration``'s endpoint; replay ``failed`` afterwards for what it missed."""
        if not self._integration(integration).disables_on_gone:
            raise BadRequestError(f"{integration} is never disabled: it has no endpoint state")
        state = self.store.submissions.set_endpoint(integration, disabled=False, reason=None)
        return EndpointView(integration=integration, disabled=False, changed_at=state.changed_at)

    def integrations(self) -> list[IntegrationState]:
        """Every registered integration: capabilities, selectors, interfaces and queue depths."""
        states = []
        for name in integration_names():
            integration = self._integration(name)
            queues = self.queues.get(name)
            states.append(
                IntegrationState(
                    name=name,
                    deployed=queues is not None,
                    paused=name in self.paused,
                    supports_updates=integration.supports_updates,
                    supports_deletes=integration.supports_deletes,
                    selectors=sorted(integration.selectors()),
                    interfaces=integration.interfaces(),
                    queue_depth=self._depth(queues.queue_url) if queues else None,
                    dead_letter_depth=self._depth(queues.dead_letter_queue_url) if queues else None,
                    **self._function_state(integration),
                )
            )
        return states

    def _function_state(self, integration: Integration) -> dict[str, Any]:
        """Whether the integration has a submit function here, and whether its settings load (never their values)."""
        if self.submit_environments is None:
            return {}
        environment = self.submit_environments.get(integration.name)
        if environment is None:
            return {"function": False, "settings": "no submit function"}
        try:
            integration.load_config(environment)
        except ConfigurationError as exc:
            # A paused integration left unset on purpose (the webhook without a URL) is not broken.
            problem = "not configured (paused)" if integration.name in self.paused else str(exc)
            return {"function": True, "settings": problem}
        return {"function": True, "settings": "ok"}

    # -- events and submissions ------------------------------------------------------

    def event(self, event_id: str | None = None, *, url: str | None = None) -> EventView:
        """A cached event and its submission record for each integration; by id or source URL."""
        if bool(event_id) == bool(url):
            raise BadRequestError("name the event by exactly one of its id or its source URL")
        key = event_id or event_id_for(str(url))
        cached = self.store.events.get(key)
        records = [
            record for name in integration_names() if (record := self.store.submissions.get(key, name)) is not None
        ]
        if cached is None and not records:
            raise NotFoundError(f"no event {key} in the cache, and no submission record of it")
        return EventView(
            event_id=key,
            version=cached.version if cached else None,
            data_hash=cached.data_hash if cached else None,
            updated_at=cached.updated_at if cached else None,
            data=cached.data if cached else None,
            submissions=[submission_view(record) for record in records],
        )

    def submissions(
        self, integration: str, status: str | None = None, *, limit: int = 50, next_token: str | None = None
    ) -> SubmissionPage:
        """One page of an integration's records, optionally of one status; ``next_token`` continues."""
        self._integration(integration)
        wanted = _status(status)
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise BadRequestError(f"limit must be 1..{MAX_PAGE_SIZE}, not {limit}")
        start = _decode_token(next_token) if next_token else None
        records, last_key = self.store.submissions.page(integration, wanted, limit=limit, start=start)
        return SubmissionPage(
            integration=integration,
            status=wanted.value if wanted else None,
            items=[submission_view(record) for record in records],
            next_token=_encode_token(last_key) if last_key else None,
        )

    def import_events(self, items: list[Any]) -> ImportResult:
        """Import raw events; only new or changed ones are written, so only they are delivered."""
        if not isinstance(items, list):
            raise BadRequestError("expected a JSON array of events")
        if len(items) > MAX_IMPORT_ITEMS:
            raise BadRequestError(f"at most {MAX_IMPORT_ITEMS} events per import, not {len(items)}")
        labelled = (
            (
                f"item {index}",
                item
                if isinstance(item, Mapping)
                else InvalidItem(f"item {index}", [f"expected a JSON object, got {type(item).__name__}"]),
            )
            for index, item in enumerate(items, start=1)
        )
        return _import_result(import_events(self.store.events, labelled))

    def import_items(self, items: Iterable[tuple[str, Mapping[str, Any] | InvalidItem]]) -> ImportResult:
        """Import items already read and labelled (``importer.read_items``: the CLI's files, any size)."""
        return _import_result(import_events(self.store.events, items))

    def enrich(self, *, only_missing_zone: bool = True) -> ImportResult:
        """Resolve and store the time zone of cached events, as an import would; changed ones are re-delivered."""
        return _import_result(enrich_events(self.store.events, only_missing_zone=only_missing_zone))

    def build_index(self, integration: str) -> IndexBuildResult:
        """Fill an integration's selection index from the tables (once, for stacks that held events before it).

        Idempotent, and safe while the pipeline runs; until it has completed,
        the ``unsubmitted``, ``failed`` and ``pending`` selectors refuse.
        """
        self._queues(integration)
        build = self.store.build_index(integration)
        logger.info("selection index built", extra={"integration": integration, "events": build.events})
        return IndexBuildResult(
            integration=integration,
            events=build.events,
            records=build.records,
            built=not build.placeholder_errors,
            errors=build.placeholder_errors,
        )

    # -- replay ------------------------------------------------------------------------

    def replay(self, request: ReplayRequest) -> ReplayReport:
        """Enqueue the events ``request``'s selector chooses (or, dry, show their payloads).

        Everything is checked before the first read: the integration, its
        queue, the selector and its parameters.  The messages are the ones
        fan-out would send, marked as a replay (a rejected version is tried
        again) and, with ``force``, to be delivered even if already delivered.
        """
        integration = self._integration(request.integration)
        queues = None if request.dry_run else self._queues(request.integration)
        selector = self._selector(integration, request)
        transformer = integration.create_transformer(self.environ) if request.dry_run else None
        replay_id = self._new_replay_id()
        chosen = iter(selector.select_events(self.store, integration.name))
        events = list(itertools.islice(chosen, request.limit)) if request.limit else list(chosen)
        truncated = request.limit is not None and next(chosen, None) is not None
        messages = [self._message(event, integration.name, replay_id, force=request.force) for event in events]
        report = ReplayReport(
            replay_id=replay_id,
            integration=integration.name,
            selector=request.selector,
            dry_run=request.dry_run,
            force=request.force,
            selected=len(events),
            queued=0,
            truncated=truncated,
            items=[],
        )
        if transformer is not None:
            for event, message in zip(events, messages, strict=True):
                item = ReplayItem(event_id=event.event_id, version=event.version, outcome="dry_run", message=message)
                try:
                    item.payload = transformer.transform(validate_event(event.data).model_dump(mode="json"))
                except (InvalidEventError, PermanentSubmitError) as exc:
                    item.outcome, item.error = "invalid", str(exc)
                report.items.append(item)
            return report
        assert queues is not None  # noqa: S101 - set whenever this is not a dry run
        outgoing = [
            OutgoingMessage(queue_url=queues.queue_url, body=json.dumps(message, separators=(",", ":")), key=str(i))
            for i, message in enumerate(messages)
        ]
        published = QueuePublisher(self.sqs).publish(outgoing)
        for index, (event, message) in enumerate(zip(events, messages, strict=True)):
            error = published.failed.get(str(index))
            report.items.append(
                ReplayItem(
                    event_id=event.event_id,
                    version=event.version,
                    outcome="not_queued" if error else "queued",
                    message=message,
                    error=error,
                )
            )
        report.queued = len(published.sent)
        report.send_calls = published.calls
        logger.info(
            "replay queued",
            extra={
                "replay": replay_id,
                "integration": integration.name,
                "queued": report.queued,
                "selected": len(events),
            },
        )
        return report

    def _selector(self, integration: Integration, request: ReplayRequest) -> BaseSelector:
        selectors = integration.selectors()
        try:
            factory = selectors[request.selector]
        except KeyError:
            known = ", ".join(sorted(selectors))
            raise BadRequestError(
                f"unknown selector {request.selector!r} for {integration.name}; known: {known}"
            ) from None
        takes_url = "url" in inspect.signature(factory).parameters
        if takes_url and not request.url:
            raise BadRequestError(f"the {request.selector} selector needs a url")
        if request.url and not takes_url:
            raise BadRequestError(f"the {request.selector} selector takes no url")
        return factory(url=request.url) if takes_url else factory()

    def _message(self, event: CachedEvent, service: str, replay_id: str, *, force: bool) -> dict[str, Any]:
        """The message fan-out would send for the event's current version, marked as a replay."""
        message = QueueMessage(
            event_id=event.event_id,
            service=service,
            data_hash=event.data_hash,
            version=event.version,
            change=ChangeKind.CREATED if event.version == 1 else ChangeKind.UPDATED,
            event=event.data,
            changed_at=event.updated_at,
            incarnation=event.incarnation,
            replay=replay_id,
            force=force,
        )
        body = message.to_body()
        if len(body.encode()) > self.max_inline_bytes:
            # As fan-out does: too large to travel inline, so the worker reads it by key.
            body = message.model_copy(update={"event": None}).to_body()
        parsed: dict[str, Any] = json.loads(body)
        return parsed

    # -- dead-letter queues ----------------------------------------------------------

    def dead_letters(self, integration: str) -> DeadLetterView:
        """The DLQ's depth and its first messages with the reason each was dead-lettered; moves nothing."""
        url = self._dead_letter_url(integration)
        depth = self._depth(url) or 0
        # A zero visibility timeout leaves them visible: a peek, not a take.
        received = self.sqs.receive_message(
            QueueUrl=url, MaxNumberOfMessages=PEEK_LIMIT, MessageAttributeNames=["All"], VisibilityTimeout=0
        ).get("Messages", [])
        messages = [
            DeadLetter(
                message_id=message["MessageId"],
                event_id=event_id_in(message.get("Body", "")),
                reason=_dead_letter_reason(message.get("MessageAttributes", {})),
            )
            for message in received
        ]
        return DeadLetterView(integration=integration, depth=depth, messages=messages)

    def redrive(self, integration: str, limit: int | None = None) -> RedriveResult:
        """Move dead-lettered messages back to the integration's queue (the console's DLQ redrive)."""
        if limit is not None and limit < 1:
            raise BadRequestError(f"limit must be at least 1, not {limit}")
        url = self._dead_letter_url(integration)
        report = redrive(
            self.sqs, dead_letter_queue_url=url, source_queue_url=self.queues[integration].queue_url, limit=limit
        )
        return RedriveResult(integration=integration, moved=report.moved, failed=report.failed)

    def _dead_letter_url(self, integration: str) -> str:
        url = self._queues(integration).dead_letter_queue_url
        if url is None:
            raise NotDeployedError(f"integration {integration!r} has no dead-letter queue in this deployment")
        return url

    # -- status --------------------------------------------------------------------------

    def status(self) -> StatusSummary:
        """Per deployed integration: records by status, queue and DLQ depth, the oldest pending record."""
        summaries = []
        # An integration this stack leaves out (an optional one not switched on) has no queue.
        for name in (name for name in integration_names() if name in self.queues):
            queues = self.queues.get(name)
            counts = {status.value: self.store.submissions.count(name, status) for status in COUNTED_STATUSES}
            waiting = [
                record
                for status in (SubmissionStatus.PENDING, SubmissionStatus.IN_PROGRESS)
                for record in self.store.submissions.records(name, status)
            ]
            oldest = min(waiting, key=lambda r: r.updated_at or dt.datetime.max.replace(tzinfo=dt.UTC), default=None)
            summaries.append(
                IntegrationStatus(
                    integration=name,
                    counts=counts,
                    queue_depth=self._depth(queues.queue_url) if queues else None,
                    dead_letter_depth=self._depth(queues.dead_letter_queue_url) if queues else None,
                    oldest_pending=submission_view(oldest) if oldest else None,
                )
            )
        return StatusSummary(integrations=summaries)

    def _depth(self, queue_url: str | None) -> int | None:
        """Messages in a queue: visible, in flight and delayed (a retry behind a live claim is delayed)."""
        if queue_url is None:
            return None
        attributes = self.sqs.get_queue_attributes(
            QueueUrl=queue_url,
            AttributeNames=[
                "ApproximateNumberOfMessages",
                "ApproximateNumberOfMessagesNotVisible",
                "ApproximateNumberOfMessagesDelayed",
            ],
        )["Attributes"]
        return sum(int(value) for value in attributes.values())


def _import_result(report: ImportReport) -> ImportResult:
    return ImportResult(
        created=report.count("created"),
        updated=report.count("updated"),
        unchanged=report.count("unchanged"),
        invalid=[ImportItemProblem(label=item.label, problems=item.problems) for item in report.invalid],
        notes=[str(note) for note in report.notes],
        event_ids=[outcome.event_id for outcome in report.outcomes],
    )


def _replay_id() -> str:
    """Sortable and unique enough to tell replays apart in keys and logs: time plus randomness."""
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S") + "-" + secrets.token_hex(4)


def _status(value: str | None) -> SubmissionStatus | None:
    if value is None:
        return None
    try:
        return SubmissionStatus(value)
    except ValueError:
        known = ", ".join(status.value for status in SubmissionStatus)
        raise BadRequestError(f"unknown status {value!r}; known: {known}") from None


def _encode_token(key: Mapping[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key, separators=(",", ":")).encode()).decode()


def _decode_token(token: str) -> dict[str, Any]:
    try:
        key = json.loads(base64.urlsafe_b64decode(token.encode()))
    except (ValueError, binascii.Error) as exc:
        raise BadRequestError("next_token is not one this API gave out") from exc
    if not isinstance(key, dict):
        raise BadRequestError("next_token is not one this API gave out")
    return key


def _dead_letter_reason(attributes: Mapping[str, Any]) -> str:
    """Why the message was dead-lettered: the worker's ``error`` attribute, or SQS's redrive policy."""
    error = attributes.get("error")
    reason = error.get("StringValue") if isinstance(error, Mapping) else None
    return str(reason) if reason else "retries exhausted"
