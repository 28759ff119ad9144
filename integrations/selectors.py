"""Selectors every integration can offer: they read only through the ``Store`` protocol.

Each reads what it returns: ``unsubmitted``, ``failed`` and ``pending`` query
the store's selection index, whose entries carry the events themselves;
``by-url`` is one key lookup.  Only ``all`` scans the cache, by definition.
The index is filled as events are cached and submitted; a stack that held
events before it existed must build it once, and until then these selectors
refuse rather than select too little.
"""

from __future__ import annotations

from collections.abc import Iterator

from integrations.base import BaseSelector
from integrations.errors import BadRequestError
from integrations.event_data import event_id_for
from integrations.ports import Store
from integrations.records import CachedEvent, Selection


class SelectionIndexNotBuiltError(BadRequestError):
    """The selection index was never filled for this integration: selecting from it would miss events."""


class AllSelector(BaseSelector):
    """Every cached event."""

    def select_events(self, store: Store, service_name: str) -> Iterator[CachedEvent]:
        return store.events.scan()


class IndexedSelector(BaseSelector):
    """Events in one state of the selection index; raises ``SelectionIndexNotBuiltError`` before it is built."""

    state: Selection = Selection.UNSUBMITTED

    def select_events(self, store: Store, service_name: str) -> Iterator[CachedEvent]:
        if not store.submissions.index_built(service_name):
            raise SelectionIndexNotBuiltError(
                f"the {self.state.value} selector needs the selection index of {service_name}, which is not built: "
                f"run `event-importer index build {service_name}` once (after the first deploy)"
            )
        return self._select(store, service_name)

    def _select(self, store: Store, service_name: str) -> Iterator[CachedEvent]:
        missing: list[str] = []
        for event_id, event in store.submissions.selected(service_name, self.state):
            if event is None:
                missing.append(event_id)
            else:
                yield event
        # Records written without their event: read from the cache (which also drops removed ones).
        yield from store.events.get_many(missing)


class UnsubmittedSelector(IndexedSelector):
    """Events with no submission record at all for this service."""

    state = Selection.UNSUBMITTED


class FailedSelector(IndexedSelector):
    """Events whose last submission failed: rejected by the destination, or out of retries."""

    state = Selection.FAILED


class PendingSelector(IndexedSelector):
    """Events waiting for a retry, or whose attempt is (or was left) in progress."""

    state = Selection.PENDING


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
