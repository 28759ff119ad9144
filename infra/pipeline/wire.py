"""The queue message's wire format, written in one place and without pydantic.

Fan-out writes a message for every integration of every change and reads
none, so it encodes them here and never imports pydantic (two thirds of its
cold start would be pydantic's import).  ``QueueMessage.to_body`` encodes
through the same function, and a test holds it byte for byte to pydantic's
own ``model_dump_json(exclude_none=True)`` of the model, which is what
the functions read it with.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Final

from integrations.records import ChangeKind

SCHEMA_VERSION: Final = 1


def _timestamp(moment: dt.datetime) -> str:
    # As pydantic writes it: ISO 8601, UTC as "Z".
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def message_body(
    *,
    event_id: str,
    service: str,
    data_hash: str,
    version: int,
    change: ChangeKind = ChangeKind.CREATED,
    event: dict[str, Any] | None = None,
    changed_at: dt.datetime | None = None,
    incarnation: dt.datetime | None = None,
    requeues: int = 0,
    replay: str | None = None,
    force: bool = False,
) -> str:
    """The JSON body of one queue message: ``QueueMessage``'s fields in its order, ``None`` left out."""
    fields: dict[str, Any] = {
        "schema_version": SCHEMA_VERSION,
        "event_id": event_id,
        "service": service,
        "data_hash": data_hash,
        "version": version,
        "change": change.value,
        "event": event,
        "changed_at": None if changed_at is None else _timestamp(changed_at),
        "incarnation": None if incarnation is None else _timestamp(incarnation),
        "requeues": requeues,
        "replay": replay,
        "force": force,
    }
    present = {name: value for name, value in fields.items() if value is not None}
    return json.dumps(present, ensure_ascii=False, separators=(",", ":"))
