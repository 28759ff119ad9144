"""The DynamoDB store: the event cache and the submission ledger, on pynamodb.

This module reads and writes the tables; fan-out's placeholders in the
selection index are the one exception (``infra.aws.selection``, boto3 only).
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, cast

import botocore.session
from botocore.exceptions import ClientError
from pynamodb.constants import ITEM
from pynamodb.exceptions import PutError

from infra.aws.models import (
    ENDPOINT_ROW,
    SERVICE_STATUS_INDEX,
    EndpointStateModel,
    EventCacheModel,
    SubmissionModel,
    bind_models,
)
from infra.aws.selection import (
    MARKER_EVENT_ID,
    SELECTION_INDEX,
    Placeholder,
    PlaceholderWriter,
    format_time,
    selection_for,
    selection_key,
)
from infra.aws.settings import TableSettings
from integrations.errors import IntegrationError
from integrations.ports import Claim, ClaimOutcome
from integrations.records import (
    CachedEvent,
    ChangeKind,
    EndpointState,
    Selection,
    SubmissionRecord,
    SubmissionStatus,
)

logger = logging.getLogger(__name__)
_pynamodb_logger = logging.getLogger("pynamodb.connection.base")

Clock = Callable[[], dt.datetime]
CLAIM_ATTEMPTS = 3
BATCH_GET_LIMIT = 100  # DynamoDB BatchGetItem's per-call key limit


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _is_conditional_failure(exc: PutError) -> bool:
    return exc.cause_response_code == "ConditionalCheckFailedException"


def put_or_current(item: SubmissionModel) -> tuple[bool, SubmissionModel | None]:
    """Save ``item`` conditioned on its revision; on a conflict, the item the table holds instead.

    ``(True, None)`` when the write succeeded (the local revision moves on, as
    ``save`` does); ``(False, current)`` when the condition failed, where
    ``current`` is the stored item, returned by that same failed call
    (``ReturnValuesOnConditionCheckFailure``) so that nobody has to read before
    writing: a claim of a message's first delivery is one call, not two.
    ``current`` is ``None`` only if the item vanished in between.
    """
    args, kwargs = item._get_save_args()
    (hash_key,) = args
    table = item._get_connection()
    connection = table.connection
    operation = connection.get_operation_kwargs(
        table_name=table.table_name,
        hash_key=hash_key,
        range_key=kwargs.get("range_key"),
        key=ITEM,
        attributes=kwargs["attributes"],
        condition=kwargs["condition"],
    )
    operation["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
    # The line pynamodb's dispatch logs, which this call goes around, on pynamodb's own logger so
    # it goes wherever pynamodb's logging was routed: a record's writes stay visible at DEBUG
    # (and checked for secrets, tests/integration/test_secret_canary.py).
    _pynamodb_logger.debug("Calling PutItem with arguments %s", operation)
    try:
        # The botocore client itself: pynamodb's dispatch re-raises without the returned item.
        client: Any = connection.client  # botocore's DynamoDB client, typed only as a base client
        client.put_item(**operation)
    except ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "ConditionalCheckFailedException":
            raise PutError(f"Failed to put item: {exc}", exc) from exc
        raw: dict[str, Any] | None = cast("dict[str, Any]", exc.response).get("Item")
        return False, None if raw is None else type(item).from_raw_data(raw)
    item.update_local_version_attribute()  # type: ignore[no-untyped-call]
    return True, None


def _to_cached(item: EventCacheModel) -> CachedEvent:
    return CachedEvent(
        event_id=item.event_id,
        data=dict(item.data),
        data_hash=item.data_hash,
        version=int(item.version or 1),
        updated_at=item.updated_at,
        incarnation=item.first_imported_at,
    )


def _to_record(item: SubmissionModel) -> SubmissionRecord:
    return SubmissionRecord(
        event_id=item.event_id,
        service=item.service,
        status=SubmissionStatus(item.status),
        data_hash=item.data_hash,
        version=int(item.version) if item.version is not None else None,
        incarnation=item.incarnation,
        remote_id=item.remote_id,
        attempts=int(item.attempts or 0),
        last_error=item.last_error,
        response_summary=item.response_summary,
        submitted_hash=item.submitted_hash,
        change=ChangeKind(item.change) if item.change else None,
        permanent=bool(item.permanent),
        create_hash=item.create_hash,
        sent_fingerprint=item.sent_fingerprint,
        lease_until=item.lease_until,
        created_at=item.created_at,
        updated_at=item.updated_at,
        revision=int(item.revision) if item.revision is not None else None,
    )


def is_older(record: SubmissionRecord, *, version: int, incarnation: dt.datetime | None) -> bool:
    """Whether (``incarnation``, ``version``) precedes the version the record holds.

    Within one incarnation the version counter orders changes; across a
    removal and re-import (the counter restarts) the later incarnation wins.
    """
    if record.incarnation is not None and incarnation is not None and record.incarnation != incarnation:
        return incarnation < record.incarnation
    return record.version is not None and record.version > version


def decide_claim(
    record: SubmissionRecord | None,
    *,
    data_hash: str,
    version: int,
    now: dt.datetime,
    incarnation: dt.datetime | None = None,
    retry_failed: bool = False,
    force: bool = False,
) -> ClaimOutcome:
    """Whether a worker may submit (event, service, ``data_hash``) now, given the current record.

    A version the destination rejected for good is not sent again on a
    duplicate delivery; only an operator's explicit ``retry_failed`` does that.
    ``force`` (an operator's forced replay) sends a version already delivered
    or rejected again; it never overrides a newer version or a live claim.
    """
    if record is None:
        return ClaimOutcome.CLAIMED
    if is_older(record, version=version, incarnation=incarnation):
        return ClaimOutcome.SUPERSEDED
    if record.status is SubmissionStatus.SUCCESS and record.data_hash == data_hash and not force:
        return ClaimOutcome.ALREADY_SUBMITTED
    rejected = record.status is SubmissionStatus.FAILED and record.permanent and record.data_hash == data_hash
    if rejected and not (retry_failed or force):
        return ClaimOutcome.ALREADY_FAILED
    if record.status is SubmissionStatus.IN_PROGRESS and record.lease_until is not None and record.lease_until > now:
        return ClaimOutcome.BUSY
    return ClaimOutcome.CLAIMED


class ConcurrentWriteError(IntegrationError):
    """Another writer changed the cached event between this import's read and its write."""


@dataclass(frozen=True)
class KnownEvent:
    """The parts of a cached event an import compares against."""

    data_hash: str
    version: int
    first_imported_at: dt.datetime | None


@dataclass(frozen=True)
class ImportOutcome:
    """What importing one event did to the cache."""

    event_id: str
    change: str  # "created", "updated" or "unchanged"
    version: int
    data_hash: str


class DynamoEventRepository:
    """The event cache table."""

    def __init__(self, model: type[EventCacheModel], clock: Clock = utcnow) -> None:
        self.model = model
        self.clock = clock

    def get(self, event_id: str, *, consistent: bool = False) -> CachedEvent | None:
        try:
            return _to_cached(self.model.get(event_id, consistent_read=consistent))
        except self.model.DoesNotExist:
            return None

    def get_many(self, event_ids: Iterable[str]) -> Iterator[CachedEvent]:
        # pynamodb splits keys into BatchGetItem calls of 100 and re-asks for unprocessed keys.
        unique = list(dict.fromkeys(event_ids))
        for item in self.model.batch_get(unique):
            yield _to_cached(item)

    def scan(self) -> Iterator[CachedEvent]:
        for item in self.model.scan():
            yield _to_cached(item)

    def known(self, event_ids: Iterable[str]) -> dict[str, KnownEvent]:
        """Hash, version and first import time of those of ``event_ids`` already cached."""
        unique = list(dict.fromkeys(event_ids))
        model = self.model
        attributes = [
            model.event_id.attr_name,
            model.data_hash.attr_name,
            model.version.attr_name,
            model.first_imported_at.attr_name,
        ]
        # Consistent: a stale hash would make a changed event look unchanged, and never be delivered.
        return {
            item.event_id: KnownEvent(item.data_hash, int(item.version or 0), item.first_imported_at)
            for item in model.batch_get(unique, attributes_to_get=attributes, consistent_read=True)
        }

    def put_if_changed(
        self,
        event_id: str,
        data: dict[str, Any],
        data_hash: str,
        *,
        source_url: str | None,
        known: KnownEvent | None,
    ) -> ImportOutcome:
        """Write the event unless the cache already holds this content.

        ``known`` is what ``known()`` returned for this event, if it is cached.
        The write is conditional on that version, so a concurrent importer
        cannot be overwritten silently (pynamodb raises instead).
        """
        if known is not None and known.data_hash == data_hash:
            return ImportOutcome(event_id, "unchanged", known.version, data_hash)
        now = self.clock()
        item = self.model(
            event_id,
            data=data,
            data_hash=data_hash,
            source_url=source_url,
            first_imported_at=(known.first_imported_at if known else None) or now,
            updated_at=now,
        )
        if known is not None:
            item.version = known.version
        try:
            item.save()
        except PutError as exc:
            if not _is_conditional_failure(exc):
                raise
            raise ConcurrentWriteError(f"event {event_id} was changed by another writer during this import") from exc
        return ImportOutcome(event_id, "created" if known is None else "updated", int(item.version or 1), data_hash)

    def delete(self, event_id: str) -> None:
        """Remove an event from the cache; the stream forwards the removal to every integration."""
        # Unconditional: removal does not depend on which version is cached.
        self.model(event_id).delete(add_version_condition=False)


class DynamoSubmissionLedger:
    """The submissions table: claims, outcomes and selector queries."""

    def __init__(self, model: type[SubmissionModel], clock: Clock = utcnow) -> None:
        self.model = model
        self.clock = clock

    def _get_item(self, event_id: str, service: str) -> SubmissionModel | None:
        try:
            return self.model.get(event_id, service, consistent_read=True)
        except self.model.DoesNotExist:
            return None

    def get(self, event_id: str, service: str) -> SubmissionRecord | None:
        item = self._get_item(event_id, service)
        # Without a revision it is fan-out's placeholder, not a record.
        return None if item is None or item.revision is None else _to_record(item)

    def claim(
        self,
        event_id: str,
        service: str,
        *,
        data_hash: str,
        version: int,
        lease_seconds: float,
        incarnation: dt.datetime | None = None,
        retry_failed: bool = False,
        change: ChangeKind = ChangeKind.CREATED,
        attempt: int | None = None,
        force: bool = False,
        event: Mapping[str, Any] | None = None,
    ) -> Claim:
        """Take (event, service, hash) for ``lease_seconds`` with a conditional write.

        Decide (``decide_claim``) on the record as last seen, and write
        conditioned on its revision.  Nothing is read first: the first guess is
        "no record yet" (a message's first delivery, the hot path), and a write
        whose condition fails returns the record that stopped it, on which the
        next round decides.  Each round is one call; at most ``CLAIM_ATTEMPTS``.

        ``attempt`` is the delivery's receive count (SQS ``ApproximateReceiveCount``):
        the record's attempts follow it, so "gave up after N attempts" matches the
        queue's ``maxReceiveCount``.  Without it (operator runs) each claim counts one.
        A claim for content when no draft is known marks the create as possibly
        sent (``create_hash``) *before* the call: a crash after it leaves that mark.
        ``event`` (the event's data) makes the claim selectable as ``pending`` from the
        selection index without reading the cache; it replaces fan-out's placeholder.
        """
        item: SubmissionModel | None = None
        for _ in range(CLAIM_ATTEMPTS):
            now = self.clock()
            current = None if item is None else _to_record(item)
            outcome = decide_claim(
                current,
                data_hash=data_hash,
                version=version,
                now=now,
                incarnation=incarnation,
                retry_failed=retry_failed,
                force=force,
            )
            if outcome is not ClaimOutcome.CLAIMED:
                return Claim(outcome, current)
            if item is None:
                item = self.model(event_id, service, created_at=now, attempts=0)
            same_version = item.data_hash == data_hash
            previous = int(item.attempts or 0) if same_version else 0
            item.status = SubmissionStatus.IN_PROGRESS.value
            item.attempts = previous + 1 if attempt is None else max(previous, attempt)
            if current is not None and current.incarnation != incarnation:
                item.create_hash = None  # a new incarnation has its own create (and key)
            no_draft = current is None or current.live_remote_id is None
            if change is not ChangeKind.REMOVED and no_draft and item.create_hash is None:
                item.create_hash = data_hash
            item.data_hash = data_hash
            item.version = version
            item.incarnation = incarnation
            item.lease_until = now + dt.timedelta(seconds=lease_seconds)
            item.updated_at = now
            _file(item, SubmissionStatus.IN_PROGRESS, change, event)
            saved, found = put_or_current(item)
            if saved:
                return Claim(ClaimOutcome.CLAIMED, _to_record(item))
            item = found  # another writer got there first: decide again on what it wrote
        # Lost every race: someone else is actively working on it.
        return Claim(ClaimOutcome.BUSY, None if item is None else _to_record(item))

    def complete(
        self,
        claimed: SubmissionRecord,
        *,
        status: SubmissionStatus,
        remote_id: str | None = None,
        last_error: str | None = None,
        response_summary: str | None = None,
        change: ChangeKind | None = None,
        permanent: bool = False,
        sent_fingerprint: str | None = None,
        event: Mapping[str, Any] | None = None,
    ) -> SubmissionRecord:
        """Record the outcome of a claimed attempt and release the lease.

        Conditional on the claim's revision: if the lease expired and another
        worker took over, its record stands and this outcome is only logged.
        ``event`` (the event's data) keeps a failed or pending record selectable
        from the selection index alone.
        """
        now = self.clock()
        item = self.model(
            claimed.event_id,
            claimed.service,
            status=status.value,
            data_hash=claimed.data_hash,
            version=claimed.version,
            incarnation=claimed.incarnation,
            remote_id=remote_id or claimed.remote_id,
            attempts=claimed.attempts,
            last_error=None if status is SubmissionStatus.SUCCESS else last_error,
            response_summary=response_summary or claimed.response_summary,
            submitted_hash=claimed.data_hash if status is SubmissionStatus.SUCCESS else claimed.submitted_hash,
            change=(change or claimed.change or ChangeKind.CREATED).value,
            permanent=permanent if status is SubmissionStatus.FAILED else None,
            # Known once a create succeeded (the id is recorded) or the removal is done.
            create_hash=None if status is SubmissionStatus.SUCCESS else claimed.create_hash,
            # What a delivered version sent; other outcomes keep the last delivery's.
            sent_fingerprint=(
                sent_fingerprint
                if status is SubmissionStatus.SUCCESS and sent_fingerprint
                else claimed.sent_fingerprint
            ),
            lease_until=None,
            created_at=claimed.created_at or now,
            updated_at=now,
        )
        item.revision = claimed.revision
        _file(item, status, ChangeKind(item.change), event)
        saved, current = put_or_current(item)
        if not saved:
            logger.warning(
                "claim on %s/%s was taken over before its outcome (%s) was recorded",
                claimed.event_id,
                claimed.service,
                status.value,
            )
            return claimed if current is None else _to_record(current)
        return _to_record(item)

    def selected(self, service: str, state: Selection) -> Iterator[tuple[str, CachedEvent | None]]:
        """``(event_id, event)`` of each of ``service``'s items in ``state``, from the selection index alone.

        ``event`` is ``None`` for a record written without its event (by an
        older writer); the caller reads those from the cache.
        """
        model = self.model
        prefix = selection_key(state, "")
        for item in model.query(service, model.selection.startswith(prefix), index_name=SELECTION_INDEX):
            event_id = str(item.selection)[len(prefix) :]
            if item.event is None or not item.data_hash:
                yield event_id, None
                continue
            yield (
                event_id,
                CachedEvent(
                    event_id=event_id,
                    data=dict(item.event),
                    data_hash=item.data_hash,
                    version=int(item.version or 1),
                    updated_at=item.event_updated_at,
                    incarnation=item.incarnation,
                ),
            )

    def index_built(self, service: str) -> bool:
        """Whether ``service``'s entries of the selection index were filled (``DynamoStore.build_index``)."""
        return self._get_item(MARKER_EVENT_ID, service) is not None

    def event_ids(self, service: str, status: SubmissionStatus | None = None) -> Iterator[str]:
        """Ids of events with a record for ``service`` (optionally in ``status``), from the index."""
        condition = None if status is None else self.model.status == status.value
        for item in self.model.query(service, condition, index_name=SERVICE_STATUS_INDEX):
            yield item.event_id

    def page(
        self, service: str, status: SubmissionStatus | None = None, *, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[SubmissionRecord], dict[str, Any] | None]:
        """One page of ``service``'s records (optionally in ``status``), and the key to continue from.

        The index is read ``limit`` keys at a time; the key is DynamoDB's
        ``LastEvaluatedKey`` (``None`` after the last page).
        """
        condition = None if status is None else self.model.status == status.value
        results = self.model.query(
            service, condition, index_name=SERVICE_STATUS_INDEX, limit=limit, last_evaluated_key=start
        )
        ids = [item.event_id for item in results]
        found = {item.event_id: _to_record(item) for item in self.model.batch_get([(i, service) for i in ids])}
        # batch_get answers in no particular order: keep the index's.
        return [found[i] for i in ids if i in found], results.last_evaluated_key

    def count(self, service: str, status: SubmissionStatus) -> int:
        """How many of ``service``'s records are in ``status`` (counted by the index, nothing read)."""
        return int(self.model.count(service, self.model.status == status.value, index_name=SERVICE_STATUS_INDEX))

    def records(self, service: str, status: SubmissionStatus | None = None) -> Iterator[SubmissionRecord]:
        """Full records for ``service`` (optionally in ``status``): index query, then batched reads."""
        keys = [(event_id, service) for event_id in self.event_ids(service, status)]
        for start in range(0, len(keys), BATCH_GET_LIMIT):
            for item in self.model.batch_get(keys[start : start + BATCH_GET_LIMIT]):
                yield _to_record(item)

    @functools.cached_property
    def _endpoint_model(self) -> type[EndpointStateModel]:
        """``EndpointStateModel`` bound to this ledger's table (made once)."""
        meta = self.model.Meta
        attrs = {
            name: getattr(meta, name)
            for name in ("table_name", "region", "host", "max_retry_attempts")
            if hasattr(meta, name)
        }
        model = cast(
            "type[EndpointStateModel]",
            type("EndpointStateModel", (EndpointStateModel,), {"Meta": type("Meta", (), attrs)}),
        )
        # The ledger's botocore session serves this model too (one session's endpoint data, not two).
        source = self.model._get_connection().connection
        model._get_connection().connection._local.session = source.session
        return model

    def endpoint(self, service: str) -> EndpointState | None:
        """The endpoint-state row of ``service`` (one consistent read); ``None`` when there is none."""
        try:
            item = self._endpoint_model.get(ENDPOINT_ROW, service, consistent_read=True)
        except self._endpoint_model.DoesNotExist:
            return None
        return EndpointState(service, bool(item.disabled), item.reason, item.changed_at)

    def set_endpoint(self, service: str, *, disabled: bool, reason: str | None = None) -> EndpointState:
        """Write the endpoint-state row of ``service``."""
        now = self.clock()
        model = self._endpoint_model
        model(ENDPOINT_ROW, service, disabled=disabled, reason=reason, changed_at=now).save()
        return EndpointState(service, disabled, reason, now)


def _file(item: SubmissionModel, status: SubmissionStatus, change: ChangeKind, event: Mapping[str, Any] | None) -> None:
    """Put a record written in ``status`` into the selection index (with its event), or take it out.

    A removal's record is never selectable: the event it names is no longer cached.
    """
    selection = None if change is ChangeKind.REMOVED else selection_for(status, item.event_id)
    item.selection = selection
    item.event = None if selection is None or event is None else dict(event)
    item.event_updated_at = None


@dataclass(frozen=True)
class IndexBuild:
    """What ``DynamoStore.build_index`` did for one service."""

    service: str
    events: int  # cached events given a placeholder (unless a record existed)
    records: int  # pending or failed records filed in the index
    placeholder_errors: dict[str, str]


class DynamoStore:
    """Both tables of one deployment, as the framework's ``Store``."""

    def __init__(
        self, settings: TableSettings, clock: Clock = utcnow, *, session: botocore.session.Session | None = None
    ) -> None:
        event_model, submission_model = bind_models(
            settings.event_cache_table,
            settings.submissions_table,
            settings.aws_region,
            settings.aws_endpoint_url,
        )
        self._events = DynamoEventRepository(event_model, clock)
        self._submissions = DynamoSubmissionLedger(submission_model, clock)
        # pynamodb creates its botocore client on first use, from a botocore session of the
        # calling thread: left to a batch's worker threads, several would each build a session
        # and load botocore's endpoint data (measured: +50 MB peak RSS for 10 messages, which
        # Lambda's 128 MB cannot hold). Built here, one client per table serves every thread.
        # The two tables share one botocore session too (the caller's, where it has one):
        # each session loads that data again.
        session = session or botocore.session.get_session()
        for model in (event_model, submission_model):
            connection = model._get_connection().connection
            connection._local.session = session  # the session pynamodb would create for this thread
            _ = connection.client

    @property
    def events(self) -> DynamoEventRepository:
        return self._events

    @property
    def submissions(self) -> DynamoSubmissionLedger:
        return self._submissions

    def build_index(self, service: str, *, page_size: int = 500) -> IndexBuild:
        """Fill ``service``'s entries of the selection index from what the tables hold; idempotent.

        For stacks that cached events before the index existed: a placeholder
        for every cached event (never over a record), and each pending or
        failed record filed with its event, page by page.  Ends by writing the
        marker the selectors check, so ``unsubmitted`` is refused until then.
        """
        submissions = self._submissions.model
        connection = submissions._get_connection()
        client: Any = connection.connection.client  # botocore's DynamoDB client, typed only as a base client
        writer = PlaceholderWriter(client, connection.table_name, [service])
        events = 0
        errors: dict[str, str] = {}
        page: list[Placeholder] = []
        for cached in self._events.scan():
            page.append(Placeholder(cached.event_id, cached.data, cached.data_hash, cached.version, cached.incarnation))
            if len(page) >= page_size:
                errors.update(writer.write(page))
                events, page = events + len(page), []
        errors.update(writer.write(page))
        events += len(page)
        records = 0
        for status in (SubmissionStatus.PENDING, SubmissionStatus.IN_PROGRESS, SubmissionStatus.FAILED):
            for record in self._submissions.records(service, status):
                records += self._file_record(record)
        if not errors:
            # The marker has no status and no selection: it is in neither index.
            marker = {
                "event_id": {"S": MARKER_EVENT_ID},
                "service": {"S": service},
                "built_at": {"S": format_time(utcnow())},
            }
            client.put_item(TableName=connection.table_name, Item=marker)
        return IndexBuild(service, events, records, errors)

    def _file_record(self, record: SubmissionRecord) -> int:
        """File one pending or failed record with its cached event; 0 if it is filed already or changed meanwhile."""
        item = self._submissions._get_item(record.event_id, record.service)
        if item is None or item.revision is None or item.selection is not None:
            return 0
        cached = self._events.get(record.event_id)
        # The event goes with the record only if it is the version the record is about.
        data = cached.data if cached is not None and cached.data_hash == item.data_hash else None
        _file(item, SubmissionStatus(item.status), ChangeKind(item.change or "created"), data)
        saved, _ = put_or_current(item)  # a record changed meanwhile was filed by its writer
        return int(saved)
