"""The shipped sample events: valid ones parse, the deliberately invalid ones do not, and the file is current."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from infra.local.make_samples import INVALID_COUNT, SAMPLES_PATH, is_invalid, load_samples, render
from integrations.errors import InvalidEventError
from integrations.event_data import EventData, event_id_for, parse_event

SAMPLES = load_samples()
VALID = [event for event in SAMPLES if not is_invalid(event)]
INVALID = [event for event in SAMPLES if is_invalid(event)]


@pytest.fixture(scope="module")
def parsed() -> list[EventData]:
    return [parse_event(event) for event in VALID]


def test_file_is_what_make_samples_generates_now() -> None:
    assert SAMPLES_PATH.read_text(encoding="utf-8") == render(), (
        "run: python -m infra.local.make_samples > infra/local/sample_events.jsonl"
    )


def test_there_are_enough_valid_samples_and_exactly_the_invalid_ones() -> None:
    assert len(SAMPLES) >= 120
    assert len(VALID) >= 100
    assert len(INVALID) == INVALID_COUNT == 5


@pytest.mark.parametrize("event", VALID, ids=lambda event: str(event["source_url"]).rsplit("/", 1)[-1])
def test_every_valid_sample_parses_and_has_a_source_url(event: dict[str, Any]) -> None:
    parsed = parse_event(event)

    assert parsed.source_url is not None
    assert parsed.source_url.startswith("https://demo.events.example/")
    assert parsed.date is not None  # a draft event needs a date: valid samples must be deliverable


@pytest.mark.parametrize("event", INVALID, ids=lambda event: str(event["_demo_note"]))
def test_every_invalid_sample_is_rejected(event: dict[str, Any]) -> None:
    with pytest.raises(InvalidEventError):
        parse_event(event)


def test_invalid_samples_are_each_wrong_in_a_different_way() -> None:
    problem_fields = set()
    for event in INVALID:
        with pytest.raises(InvalidEventError) as caught:
            parse_event(event)
        assert len(caught.value.problems) == 1, caught.value.problems
        problem_fields.add(caught.value.problems[0].split(":", 1)[0])

    assert problem_fields == {"title", "date", "time.start", "minimum_age", "source_url"}


def test_event_ids_are_unique(parsed: list[EventData]) -> None:
    ids = [event_id_for(event.source_url or "") for event in parsed]

    assert len(set(ids)) == len(ids)


def test_samples_span_countries_and_time_zones(parsed: list[EventData]) -> None:
    countries = {event.location.country.casefold() for event in parsed if event.location and event.location.country}
    zones = {event.time.timezone for event in parsed if event.time and event.time.timezone}

    assert len(countries) >= 5
    assert len(zones) >= 5
    assert sum(1 for event in parsed if event.location and event.location.coordinates) > len(parsed) // 2


def test_overnight_events_end_on_the_next_day(parsed: list[EventData]) -> None:
    overnight = [
        event
        for event in parsed
        if event.date
        and event.end_date
        and dt.date.fromisoformat(event.end_date) - dt.date.fromisoformat(event.date) == dt.timedelta(days=1)
        and event.time
        and event.time.start
        and event.time.end
        and event.time.end < event.time.start
    ]

    assert len(overnight) >= 3


def test_samples_include_the_messy_cases_importers_produce(parsed: list[EventData]) -> None:
    assert any("<" in str(event.get("long_description")) for event in VALID), "markup in a description"
    assert any(str(event.get("date", "")).split()[0].isalpha() for event in VALID), "a date like 'March 3, 2026'"
    assert any(str(event.get("time", {}).get("start", "")).lower().endswith("pm") for event in VALID), "a time like 8pm"
    assert any("time" not in event for event in VALID), "an event without times"
    assert any("images" not in event for event in VALID), "an event without images"
    assert any("ticket_url" not in event for event in VALID), "an event without a ticket URL"
    assert any(event.get("ticket_url") == "N/A" for event in VALID), "a placeholder ticket URL"
    assert any("lineup" not in event for event in VALID), "an event without a lineup"
    assert any(len(raw.get("lineup", [])) > len(event.lineup) for raw, event in zip(VALID, parsed, strict=True))
    assert any(len(raw.get("genres", [])) > len(event.genres) for raw, event in zip(VALID, parsed, strict=True))


def test_an_html_injection_attempt_is_reduced_to_plain_text(parsed: list[EventData]) -> None:
    attempts = [(raw, event) for raw, event in zip(VALID, parsed, strict=True) if "<script>" in raw["long_description"]]

    assert len(attempts) == 1
    description = attempts[0][1].long_description or ""
    assert "<" not in description
    assert "document.cookie" not in description


def test_dates_fall_in_2026_and_2027(parsed: list[EventData]) -> None:
    for event in parsed:
        assert event.date is not None
        assert "2026-01-01" <= event.date <= "2027-12-31"
