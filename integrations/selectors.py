"""Selectors every integration can offer: they read only through the ``Store`` protocol.

Each reads as little as it can: status selectors query the (service, status)
index and fetch just those events in batches; only ``all`` and
``unsubmitted`` must scan the event cache.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from integrations.base import BaseSelector
from integrations.event_data import event_id_for
from integrations.ports import Store
from integrations.records import CachedEvent, SubmissionStatus


class AllSelector(BaseSelector):
    """Every cached event."""

    def select_events(self, store: Store, service_name: str) -> Iterator[CachedEvent]:
        return store.events.scan()


class UnsubmittedSelector(BaseSelector):
    """Events with no submission record at all for this service."""

    def select_events(self, store: Store, service_name: str) -> Iterator[CachedEvent]:
        recorded = set(store.submissions.event_ids(service_name))
        return (event for event in store.events.scan() if event.event_id not in recorded)


class StatusSelector(BaseSelector):
    """Events whose record for this service is in one of ``statuses``."""

    statuses: tuple[SubmissionStatus, ...] = ()

    def select_events(self, store: Store, service_name: str) -> Iterable[CachedEvent]:
        ids: list[str] = []
        for status in self.statuses:
            ids.extend(store.submissions.event_ids(service_name, status))
        return store.events.get_many(ids)


class FailedSelector(StatusSelector):
    """Events whose last submission failed: rejected by the destination, or out of retries."""

    statuses = (SubmissionStatus.FAILED,)


class PendingSelector(StatusSelector):
    """Events waiting for a retry, or whose attempt is (or was left) in progress."""

    statuses = (SubmissionStatus.PENDING, SubmissionStatus.IN_PROGRESS)


class ByUrlSelector(BaseSelector):
    """The one event imported from ``url`` (a key lookup: ids derive from source URLs)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def select_events(self, store: Store, service_name: str) -> list[CachedEvent]:
        event = store.events.get(event_id_for(self.url))
        return [] if event is None else [event]


#: The standard selectors by name, for integrations to offer as they are.
STANDARD_SELECTORS: dict[str, type[BaseSelector]] = {
    "unsubmitted": UnsubmittedSelector,
    "failed": FailedSelector,
    "pending": PendingSelector,
    "all": AllSelector,
    "by-url": ByUrlSelector,
}
