"""Calendar transformer: one VEVENT per event, read back with icalendar as a calendar application would."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from integrations.calendar.base import CalendarIntegration
from integrations.calendar.transformer import CalendarTransformer
from integrations.errors import TransformError
from integrations.event_data import EventData, event_id_for

SOURCE = "https://example.com/e/1"


def event(**fields: Any) -> dict[str, Any]:
    """An EventData dict as the submitter hands it over: validated, then dumped."""
    data: dict[str, Any] = {"title": "Night Shift", "date": "2026-06-30", "source_url": SOURCE}
    data.update(fields)
    return EventData.model_validate(data).model_dump(mode="json")


def vevent(data: dict[str, Any]) -> Any:
    payload = CalendarTransformer().transform(data)
    assert set(payload) == {"uid", "ics"}
    json.dumps(payload)  # dry runs and records show it as JSON
    calendar = icalendar.Calendar.from_ical(payload["ics"])
    (component,) = calendar.walk("VEVENT")
    assert str(component["UID"]) == payload["uid"]
    return component


def test_the_uid_is_derived_from_the_event_id_and_stable_across_versions() -> None:
    first = vevent(event())
    edited = vevent(event(title="Night Shift (moved)", venue="Elsewhere"))

    assert str(first["UID"]) == str(edited["UID"]) == f"{event_id_for(SOURCE)}@event-importer"


def test_times_are_local_wall_time_in_the_events_zone() -> None:
    component = vevent(event(date="2026-07-11", time={"start": "23:00", "end": "06:00", "timezone": "Europe/Berlin"}))

    berlin = ZoneInfo("Europe/Berlin")
    assert component.decoded("DTSTART") == dt.datetime(2026, 7, 11, 23, 0, tzinfo=berlin)
    # An end before the start is the next morning.
    assert component.decoded("DTEND") == dt.datetime(2026, 7, 12, 6, 0, tzinfo=berlin)
    assert component["DTSTART"].params["TZID"] == "Europe/Berlin"


def test_the_zone_travels_with_the_object() -> None:
    payload = CalendarTransformer().transform(event(time={"start": "20:00", "timezone": "America/New_York"}))

    zones = [str(zone["TZID"]) for zone in icalendar.Calendar.from_ical(payload["ics"]).walk("VTIMEZONE")]
    assert zones == ["America/New_York"]


def test_without_a_start_time_the_event_is_a_whole_day_event() -> None:
    component = vevent(event(date="2026-08-01", end_date="2026-08-03"))

    assert component.decoded("DTSTART") == dt.date(2026, 8, 1)
    # DTEND of a whole-day event is exclusive: the day after its last day.
    assert component.decoded("DTEND") == dt.date(2026, 8, 4)
    assert component["DTSTART"].params.get("VALUE") == "DATE"


def test_a_start_without_an_end_has_no_dtend_and_an_event_without_a_zone_is_utc() -> None:
    component = vevent(event(time={"start": "21:00"}))

    assert component.decoded("DTSTART") == dt.datetime(2026, 6, 30, 21, 0, tzinfo=ZoneInfo("UTC"))
    assert "DTEND" not in component


def test_summary_location_geo_url_and_description() -> None:
    component = vevent(
        event(
            title="Jazz; Blues, and\nSoul",
            venue="Blue Note",
            location={
                "address": "131 W 3rd St",
                "city": "New York",
                "country": "USA",
                "coordinates": {"lat": 40.73, "lng": -74.0},
            },
            lineup=["A", "B"],
            cost="$20",
            ticket_url="https://tickets.example.com/1",
            short_description="Not shown",
            long_description="Not shown either",
        )
    )

    # icalendar escapes the text; reading it back gives it as given.
    assert str(component["SUMMARY"]) == "Jazz; Blues, and\nSoul"
    assert str(component["LOCATION"]) == "Blue Note, 131 W 3rd St, New York, USA"
    assert (component["GEO"].latitude, component["GEO"].longitude) == (40.73, -74.0)
    assert str(component["URL"]) == "https://tickets.example.com/1"
    assert str(component["DESCRIPTION"]) == "Lineup: A, B\nCost: $20\nTickets: https://tickets.example.com/1"
    assert "Not shown" not in CalendarTransformer().transform(event(short_description="Not shown"))["ics"]


def test_the_source_url_is_the_link_without_a_ticket_url() -> None:
    assert str(vevent(event())["URL"]) == SOURCE


@pytest.mark.parametrize(
    ("fields", "problem"),
    [
        ({"date": None}, "no date"),
        ({"source_url": None}, "no source_url"),
        ({"time": {"start": "20:00", "timezone": "Mars/Olympus_Mons"}}, "not a known time zone"),
    ],
)
def test_events_the_calendar_cannot_hold_are_refused(fields: dict[str, Any], problem: str) -> None:
    with pytest.raises(TransformError, match=problem):
        CalendarTransformer().transform(event(**fields))


def test_the_fields_the_calendar_shows_are_exactly_those_it_reads() -> None:
    # A change to a field outside sent_fields must not change the calendar object.
    shown = CalendarIntegration.sent_fields
    assert shown is not None
    base = event(time={"start": "20:00", "timezone": "Europe/Paris"}, imported_at="2026-01-01T00:00:00Z")
    hidden = {
        "long_description": "changed",
        "short_description": "changed",
        "genres": ["Changed"],
        "promoters": ["Changed"],
        "images": {"full": "https://img.example.com/changed.jpg"},
        "minimum_age": 21,
    }
    assert not set(hidden) & shown
    assert set(hidden) | shown | {"imported_at"} == set(EventData.model_fields)
    assert CalendarTransformer().transform({**base, **hidden}) == CalendarTransformer().transform(base)
