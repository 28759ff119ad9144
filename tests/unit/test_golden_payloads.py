"""The exact TicketFairy payloads of the shipped sample events, against the committed golden file."""

from __future__ import annotations

import json

from tests.golden import TICKETFAIRY_GOLDEN, render_ticketfairy_payloads


def test_payloads_of_the_sample_events_match_the_golden_file() -> None:
    # A failure here is a change of what TicketFairy receives. If it is intended, run
    # `.venv/bin/python -m tests.golden` and commit the diff of the golden file with the change.
    assert render_ticketfairy_payloads() == TICKETFAIRY_GOLDEN.read_text(encoding="utf-8"), (
        "the wire payload changed: review it, then run `.venv/bin/python -m tests.golden`"
    )


def test_the_golden_file_covers_every_sample_with_the_originals_constants() -> None:
    entries = json.loads(TICKETFAIRY_GOLDEN.read_text(encoding="utf-8"))
    payloads = [entry["payload"]["data"]["attributes"] for entry in entries if "payload" in entry]

    assert len(entries) == 130
    assert len(payloads) == 125
    assert {(p["hostedBy"], p["status"]) for p in payloads} == {(True, "Public")}
    assert {p["isOnline"] for p in payloads} <= {0, 1}
    assert all(type(p["isOnline"]) is int for p in payloads)
    assert "UTC" not in {p["timezone"] for p in payloads}  # every sample is located
