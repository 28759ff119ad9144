"""EventData: cleaning, normalisation, validation messages and the content hash."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.errors import InvalidEventError
from integrations.event_data import EventData, clean_text, event_id_for, parse_event, validate_event


def test_markup_is_stripped_and_entities_decoded() -> None:
    event = parse_event(
        {
            "title": "<b>Night &amp; Day</b>",
            "long_description": "<p>First</p><p>Second <script>alert(1)</script>line</p>",
            "venue": "  Club\u00a0 Nine ",
        }
    )
    assert event.title == "Night & Day"
    assert event.long_description == "First\n\nSecond line"
    assert event.venue == "Club Nine"


def test_clean_text_keeps_plain_text_untouched() -> None:
    assert clean_text("a < b and c > d") == "a < b and c > d"


def test_list_fields_are_cleaned_and_deduplicated_case_insensitively() -> None:
    event = parse_event(
        {"title": "x", "lineup": ["DJ One", "dj one", " ", "<i>DJ Two</i>", "DJ One"], "genres": "House"}
    )
    assert event.lineup == ["DJ One", "DJ Two"]
    assert event.genres == ["House"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("2025-06-30", "2025-06-30"),
        ("2025/06/30", "2025-06-30"),
        ("30.06.2025", "2025-06-30"),
        ("June 30, 2025", "2025-06-30"),
        ("30 Jun 2025", "2025-06-30"),
        ("2025-06-30T21:00:00Z", "2025-06-30"),
        (dt.date(2025, 6, 30), "2025-06-30"),
    ],
)
def test_dates_are_normalised_to_iso(raw: object, expected: str) -> None:
    assert parse_event({"title": "x", "date": raw}).date == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20:00", "20:00"),
        ("8pm", "20:00"),
        ("8:30 PM", "20:30"),
        ("12am", "00:00"),
        ("9.15", "09:15"),
        ("24:00", "00:00"),
        ("22h30", "22:30"),
        ("20", "20:00"),
        ("20.00", "20:00"),
        # As scrapers write them (the list and the original's tests).
        ("Doors at 7pm", "19:00"),
        ("Ends at 1am", "01:00"),
        ("7.30pm", "19:30"),
        ("19h30", "19:30"),
        ("22:00", "22:00"),
        ("10 PM", "22:00"),
        ("10:00 PM", "22:00"),
        ("2:00 AM", "02:00"),
        ("midnight", "00:00"),
        ("noon", "12:00"),
        ("Doors: midnight", "00:00"),
        ("7:30 PM EST", "19:30"),
        ("7pm - late", "19:00"),
        ("2025-06-30T20:00:00", "20:00"),
    ],
)
def test_times_are_normalised_to_hh_mm(raw: str, expected: str) -> None:
    times = validate_event({"title": "x", "time": {"start": raw}}).time
    assert times is not None
    assert times.start == expected


@pytest.mark.parametrize("raw", ["Saturday", "TBA", "25:99", "doors early", "Room 5"])
def test_unreadable_times_name_the_field_and_the_text(raw: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        validate_event({"title": "x", "time": {"end": raw}})
    assert caught.value.problems == [f"time.end: could not read {raw!r} as a time; use HH:MM"]


def test_a_range_that_is_not_one_of_times_is_refused_whole() -> None:
    with pytest.raises(InvalidEventError) as caught:
        validate_event({"title": "x", "time": {"start": "25:00-04:00"}})
    assert caught.value.problems == ["time.start: could not read '25:00-04:00' as a time; use HH:MM"]


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        ("10pm-4am", None, ("22:00", "04:00")),
        ("22:00 – 04:00", None, ("22:00", "04:00")),
        ("10pm to 4am", "5am", ("22:00", "05:00")),
    ],
)
def test_a_range_in_start_fills_an_empty_end(start: str, end: str | None, expected: tuple[str, str]) -> None:
    event = validate_event({"title": "x", "date": "2024-01-01", "time": {"start": start, "end": end}})
    assert event.time is not None
    assert (event.time.start, event.time.end) == expected
    assert event.end_date == "2024-01-02"


@pytest.mark.parametrize(
    ("start", "end", "date", "end_date"),
    [
        # The original's own cases (tests/unit/core/test_schemas.py there) ...
        ("20:00", "23:00", "2024-01-01", "2024-01-01"),
        ("22:00", "02:00", "2024-01-01", "2024-01-02"),
        ("10:00 PM", "2:00 AM", "2024-03-10", "2024-03-11"),
        ("Doors at 7pm", "Ends at 1am", "2024-07-04", "2024-07-05"),
        ("23:00", "01:00", "2023-12-31", "2024-01-01"),
        ("22:00", "02:00", "2024-02-29", "2024-03-01"),
        # ... except one: the original kept 20:00-00:00 on one day, so it ended before it began.
        ("20:00", "00:00", "2024-01-01", "2024-01-02"),
        ("20:00", "20:00", "2024-01-01", "2024-01-02"),
    ],
)
def test_end_date_is_derived_as_the_original_derived_it(start: str, end: str, date: str, end_date: str) -> None:
    assert validate_event({"title": "x", "date": date, "time": {"start": start, "end": end}}).end_date == end_date


@pytest.mark.parametrize("times", [{"start": "22:00"}, {"end": "02:00"}, None])
def test_end_date_needs_both_times(times: dict[str, str] | None) -> None:
    assert validate_event({"title": "x", "date": "2024-01-01", "time": times}).end_date is None


def test_end_date_is_kept_when_given() -> None:
    given = parse_event(
        {"title": "x", "date": "2025-06-01", "end_date": "2025-06-03", "time": {"start": "20:00", "end": "04:00"}}
    )
    assert given.end_date == "2025-06-03"


def test_validation_errors_name_the_field_and_the_problem() -> None:
    with pytest.raises(InvalidEventError) as caught:
        parse_event({"title": "", "date": "next tuesday", "time": {"start": "25:99"}, "minimum_age": "old"})
    message = str(caught.value)
    assert "title:" in message
    assert "date: could not read 'next tuesday' as a date" in message
    assert "time.start:" in message
    assert "minimum_age: could not read 'old' as an age" in message
    assert len(caught.value.problems) == 4


def test_end_date_before_date_is_rejected() -> None:
    with pytest.raises(InvalidEventError, match="end_date 2025-06-01 is before date 2025-06-02"):
        parse_event({"title": "x", "date": "2025-06-02", "end_date": "2025-06-01"})


def test_source_url_must_be_absolute_http() -> None:
    with pytest.raises(InvalidEventError, match="source_url"):
        parse_event({"title": "x", "source_url": "javascript:alert(1)"})


def test_hash_ignores_import_time_and_formatting_but_not_content() -> None:
    base = {"title": "Show", "date": "2025-06-30", "source_url": "https://example.com/e/1"}
    first = parse_event({**base, "imported_at": "2025-01-01T00:00:00Z"})
    again = parse_event(
        {**base, "date": "June 30, 2025", "title": "<b>Show</b>", "imported_at": "2025-02-01T00:00:00Z"}
    )
    changed = parse_event({**base, "title": "Show (moved)"})
    assert first.content_hash() == again.content_hash()
    assert first.content_hash() != changed.content_hash()


def test_event_id_is_stable_across_trivial_url_spellings() -> None:
    assert event_id_for("https://Example.com/e/1/#tickets") == event_id_for("https://example.com/e/1")
    assert event_id_for("https://example.com/e/1") != event_id_for("https://example.com/e/2")


def test_minimum_age_accepts_common_spellings() -> None:
    assert parse_event({"title": "x", "minimum_age": "18+"}).minimum_age == 18
    assert parse_event({"title": "x", "minimum_age": "All ages"}).minimum_age is None
    assert EventData(title="x", minimum_age=21).minimum_age == 21


@pytest.mark.parametrize(("raw", "shown"), [(20, "20"), (12.5, "12.5"), (0, "0"), ("€15", "€15"), ("  Free ", "Free")])
def test_cost_is_shown_as_the_source_gave_it(raw: object, shown: str) -> None:
    assert validate_event({"title": "x", "cost": raw}).cost == shown


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (float("nan"), "cost: nan is not a price"),
        (float("inf"), "cost: inf is not a price"),
        (float("-inf"), "cost: -inf is not a price"),
        (-5, "cost: -5 is negative: a price cannot be"),
        (True, "cost: expected a price such as 20 or '€15', got a boolean"),
    ],
)
def test_costs_that_are_no_price_are_refused(raw: object, problem: str) -> None:
    with pytest.raises(InvalidEventError) as caught:
        validate_event({"title": "x", "cost": raw})
    assert caught.value.problems == [problem]


def test_parse_event_stores_the_zone_and_validate_event_looks_nothing_up() -> None:
    raw = {"title": "x", "location": {"city": "Perth"}}

    assert validate_event(raw).time is None
    imported = parse_event(raw)
    assert imported.time is not None
    assert imported.time.timezone == "Australia/Perth"
    # What is stored validates unchanged on the submit path, zone included.
    assert validate_event(imported.model_dump(mode="json")) == imported
