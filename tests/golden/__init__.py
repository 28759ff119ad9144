"""Golden files: the exact bytes we send, so any change to the wire format is a visible diff.

``ticketfairy_sample_payloads.json`` holds, for every line of the shipped
``infra/local/sample_events.jsonl``, the TicketFairy payload that line becomes
after an import (``parse_event``: times read, zone resolved) and the
transform, or the import's errors for the deliberately invalid lines.
``tests/unit/test_golden_payloads.py`` compares; after an intended change,
regenerate with::

    .venv/bin/python -m tests.golden

and review the diff before committing it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from infra.local.make_samples import SAMPLES_PATH, load_samples
from integrations.errors import InvalidEventError
from integrations.event_data import parse_event_with_notes
from integrations.ticketfairy.transformer import TicketFairyTransformer

__all__ = ["TICKETFAIRY_GOLDEN", "render_ticketfairy_payloads"]

TICKETFAIRY_GOLDEN = Path(__file__).with_name("ticketfairy_sample_payloads.json")


def render_ticketfairy_payloads(samples: Path = SAMPLES_PATH) -> str:
    """The golden file's text: one entry per sample line, pretty-printed so diffs are per field."""
    transformer = TicketFairyTransformer()
    entries: list[dict[str, Any]] = []
    for line, raw in enumerate(load_samples(samples), start=1):
        entry: dict[str, Any] = {"line": line, "source_url": raw.get("source_url")}
        try:
            parsed = parse_event_with_notes(raw)
        except InvalidEventError as exc:
            entry["invalid"] = exc.problems
        else:
            if parsed.notes:
                entry["notes"] = list(parsed.notes)
            entry["payload"] = transformer.transform(parsed.event.model_dump(mode="json"))
        entries.append(entry)
    return json.dumps(entries, indent=2, ensure_ascii=False) + "\n"


def main() -> None:
    """Rewrite the golden file from the current code."""
    TICKETFAIRY_GOLDEN.write_text(render_ticketfairy_payloads(), encoding="utf-8")
    print(f"wrote {TICKETFAIRY_GOLDEN}")
