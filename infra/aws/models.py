"""pynamodb models of the two tables.

The classes here describe the items; ``bind_models`` makes subclasses bound to
the table names, region and endpoint of one deployment (tables are named by
CloudFormation, so names are only known at run time).
"""

from __future__ import annotations

import functools

from pynamodb.attributes import (
    BooleanAttribute,
    JSONAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import GlobalSecondaryIndex, IncludeProjection, KeysOnlyProjection
from pynamodb.models import Model

from infra.aws.selection import SELECTION_INDEX

SERVICE_STATUS_INDEX = "by_service_status"
#: What an entry of the selection index carries besides its keys: the event, so a selector reads nothing else.
SELECTION_PROJECTION = ["event", "data_hash", "version", "incarnation", "event_updated_at"]


class EventCacheModel(Model):
    """One cached event.  ``version`` grows with every content change (and guards concurrent writers)."""

    class Meta:
        table_name = "EventCache"

    event_id = UnicodeAttribute(hash_key=True)
    data = JSONAttribute()
    data_hash = UnicodeAttribute()
    version = VersionAttribute()
    source_url = UnicodeAttribute(null=True)
    first_imported_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()


class ServiceStatusIndex(GlobalSecondaryIndex["SubmissionModel"]):  # type: ignore[no-untyped-call]
    """(service, status) -> keys: "all failed for X" is a query, not a scan."""

    class Meta:
        index_name = SERVICE_STATUS_INDEX
        projection = KeysOnlyProjection()

    service = UnicodeAttribute(hash_key=True)
    status = UnicodeAttribute(range_key=True)


class SelectionIndex(GlobalSecondaryIndex["SubmissionModel"]):  # type: ignore[no-untyped-call]
    """(service, "<state>#<event_id>") -> the event; sparse: only selectable items (``infra.aws.selection``)."""

    class Meta:
        index_name = SELECTION_INDEX
        projection = IncludeProjection(SELECTION_PROJECTION)

    service = UnicodeAttribute(hash_key=True)
    selection = UnicodeAttribute(range_key=True)


class SubmissionModel(Model):
    """The record of one event's delivery to one integration.

    ``revision`` is an optimistic lock: every write is conditional on the
    revision that was read, so two workers can never both believe they hold
    the claim.  An item without a revision is not a record but fan-out's
    ``unsubmitted`` placeholder (``infra.aws.selection``).
    """

    class Meta:
        table_name = "Submissions"

    event_id = UnicodeAttribute(hash_key=True)
    service = UnicodeAttribute(range_key=True)
    status = UnicodeAttribute()
    data_hash = UnicodeAttribute(null=True)
    version = NumberAttribute(null=True)
    incarnation = UTCDateTimeAttribute(null=True)
    remote_id = UnicodeAttribute(null=True)
    attempts = NumberAttribute(default=0)
    last_error = UnicodeAttribute(null=True)
    response_summary = UnicodeAttribute(null=True)
    submitted_hash = UnicodeAttribute(null=True)
    change = UnicodeAttribute(null=True)
    permanent = BooleanAttribute(null=True)
    create_hash = UnicodeAttribute(null=True)
    sent_fingerprint = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    revision = VersionAttribute()
    #: The selection index's key while the record is selectable (pending or failed), and the
    #: event it is about, so that the selector reads nothing else; absent once delivered.
    selection = UnicodeAttribute(null=True)
    event = JSONAttribute(null=True)
    event_updated_at = UTCDateTimeAttribute(null=True)

    by_service_status = ServiceStatusIndex()
    by_service_selection = SelectionIndex()


@functools.cache
def bind_models(
    event_cache_table: str,
    submissions_table: str,
    region: str | None = None,
    host: str | None = None,
) -> tuple[type[EventCacheModel], type[SubmissionModel]]:
    """Model subclasses bound to one deployment's tables (cached per arguments)."""

    def bound(model: type[Model], table_name: str) -> type[Model]:
        meta_attrs: dict[str, object] = {"table_name": table_name, "max_retry_attempts": 5}
        if region:
            meta_attrs["region"] = region
        if host:
            meta_attrs["host"] = host
        return type(model.__name__, (model,), {"Meta": type("Meta", (), meta_attrs)})

    events = bound(EventCacheModel, event_cache_table)
    submissions = bound(SubmissionModel, submissions_table)
    return events, submissions  # type: ignore[return-value]


#: The ``event_id`` of an integration's endpoint-state row in Submissions: never an event's id (those are hex).
ENDPOINT_ROW = "#endpoint"


class EndpointStateModel(Model):
    """One integration's endpoint state, a row of the Submissions table (``event_id`` = ``ENDPOINT_ROW``).

    It has no ``status``, so the (service, status) index, and every selector
    reading it, never sees it.
    """

    class Meta:
        table_name = "Submissions"

    event_id = UnicodeAttribute(hash_key=True)
    service = UnicodeAttribute(range_key=True)
    disabled = BooleanAttribute(default=False)
    reason = UnicodeAttribute(null=True)
    changed_at = UTCDateTimeAttribute(null=True)
