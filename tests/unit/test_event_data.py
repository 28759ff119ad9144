"""EventData: cleaning, normalisation, validation messages and the content hash."""

from __future__ import annotations

import datetime as dt

import pytest

from integrations.errors import InvalidEventError
from integrations.event_data import EventData, clean_text, event_id_for, parse_event


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
    ],
)
def test_times_are_normalised_to_hh_mm(raw: str, expected: str) -> None:
    assert parse_event({"title": "x", "time": {"start": raw}}).time is not None
    assert parse_event({"title": "x", "time": {"start": raw}}).time.start == expected  # type: ignore[union-attr]


def test_end_date_is_derived_for_an_event_past_midnight() -> None:
    event = parse_event({"title": "x", "date": "2025-12-31", "time": {"start": "22:00", "end": "04:00"}})
    assert event.end_date == "2026-01-01"


def test_end_date_is_kept_when_given_and_same_day_events_get_none() -> None:
    assert (
        parse_event({"title": "x", "date": "2025-06-01", "time": {"start": "20:00", "end": "23:00"}}).end_date is None
    )
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
