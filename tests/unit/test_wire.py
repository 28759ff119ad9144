"""The one encoder of queue messages writes exactly what pydantic would, and what the functions read."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from infra.pipeline.messages import QueueMessage
from infra.pipeline.wire import message_body
from integrations.records import ChangeKind

UTC_MICRO = dt.datetime(2026, 12, 6, 7, 19, 3, 120, tzinfo=dt.UTC)
CASES: list[dict[str, Any]] = [
    {"event_id": "e1", "service": "ticketfairy", "data_hash": "h", "version": 1},
    {
        "event_id": "e2",
        "service": "webhook",
        "data_hash": "h2",
        "version": 3,
        "change": ChangeKind.UPDATED,
        "event": {"title": "Zürich — Nacht", "price": 1.5e16, "lineup": [None, {"name": None}], "n": {"a": None}},
        "changed_at": UTC_MICRO,
        "incarnation": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.UTC),
    },
    {
        "event_id": "e3",
        "service": "calendar",
        "data_hash": "removed:h",
        "version": 2,
        "change": ChangeKind.REMOVED,
        "changed_at": dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1))),
        "requeues": 4,
        "replay": "op-7",
        "force": True,
    },
    {"event_id": "e4", "service": "x", "data_hash": "h", "version": 9, "changed_at": dt.datetime(2026, 1, 2, 3, 4)},
]


@pytest.mark.parametrize("fields", CASES, ids=lambda fields: str(fields["event_id"]))
def test_the_body_is_byte_for_byte_pydantic_s_own(fields: dict[str, Any]) -> None:
    model = QueueMessage(**fields)
    assert message_body(**fields) == model.model_dump_json(exclude_none=True)
    assert model.to_body() == message_body(**fields)


@pytest.mark.parametrize("fields", CASES, ids=lambda fields: str(fields["event_id"]))
def test_the_body_reads_back_as_the_message_it_encodes(fields: dict[str, Any]) -> None:
    assert QueueMessage.model_validate_json(message_body(**fields)) == QueueMessage(**fields)
