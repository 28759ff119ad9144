"""EventData dict -> one iCalendar object (a VCALENDAR holding one VEVENT), built with ``icalendar``.

The payload is ``{"uid": ..., "ics": ...}``: JSON, so dry runs and records can
show it, with the calendar object as text.  The rules:

* ``UID`` is ``<event id>@event-importer``, the event id derived from the
  source URL as the importer derives it, so every version of an event is the
  same calendar object: an update replaces it, a removal deletes it.
* ``DTSTART`` / ``DTEND`` are local wall time in the event's stored
  ``time.timezone`` (``TZID`` plus its ``VTIMEZONE``), ``UTC`` for an event
  cached before zones were stored.  Without a start time the event is a
  whole-day event: ``DATE`` values, ``DTEND`` the day after its last day
  (exclusive, as RFC 5545 says).  An end at or before the start is on the
  next day; a start without an end has no ``DTEND`` unless the event spans
  days.  No date: ``TransformError``.
* ``SUMMARY`` is the title, ``LOCATION`` the venue and address (blanks and
  repeats skipped), ``GEO`` the coordinates, ``URL`` the ticket URL, else the
  source URL (http(s) only), ``DESCRIPTION`` the lineup, the cost and the
  ticket link.  Long and short descriptions are not shown (see
  ``CalendarIntegration.sent_fields``): an edit of them is not sent.
* Text is given to ``icalendar`` as text: it does the escaping and folding.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import icalendar

from integrations.base import BaseTransformer
from integrations.calendar.config import DEFAULT_PRODID
from integrations.errors import TransformError
from integrations.event_data import event_id_for
from integrations.fields import date_field, text_field, time_field

__all__ = ["FALLBACK_TIMEZONE", "UID_DOMAIN", "CalendarTransformer", "calendar_uid", "event_span"]

UID_DOMAIN = "event-importer"
FALLBACK_TIMEZONE = "UTC"

Moment = dt.date | dt.datetime


def calendar_uid(event_id: str) -> str:
    """The calendar object's ``UID`` for an event id (stable across versions)."""
    return f"{event_id}@{UID_DOMAIN}"


class CalendarTransformer(BaseTransformer):
    """Builds one VCALENDAR per event; see the module docstring for the rules on missing data."""

    def __init__(self, prodid: str = DEFAULT_PRODID) -> None:
        self.prodid = prodid

    def transform(self, event_data: dict[str, Any]) -> dict[str, Any]:
        """Return ``{"uid", "ics"}`` for one ``EventData`` dict.

        Raises ``TransformError`` when the event has no source URL (no stable UID),
        no date, or an unknown time zone.
        """
        source_url = text_field(event_data.get("source_url"))
        if not source_url:
            raise TransformError("event has no source_url: the calendar object's UID is derived from it")
        uid = calendar_uid(event_id_for(source_url))
        start, end = event_span(event_data)
        event = icalendar.Event()
        event.add("uid", uid)
        event.add("dtstamp", _stamp(event_data.get("imported_at")))
        event.add("summary", text_field(event_data.get("title")))
        event.add("dtstart", start)
        if end is not None:
            event.add("dtend", end)
        location = _mapping(event_data.get("location"))
        if where := _location(text_field(event_data.get("venue")), location):
            event.add("location", where)
        coordinates = _mapping(location.get("coordinates"))
        if isinstance(coordinates.get("lat"), int | float) and isinstance(coordinates.get("lng"), int | float):
            event.add("geo", (float(coordinates["lat"]), float(coordinates["lng"])))
        ticket_url = _http_url(event_data.get("ticket_url"))
        if link := ticket_url or _http_url(source_url):
            event.add("url", link)
        if description := _description(event_data, ticket_url):
            event.add("description", description)
        calendar = icalendar.Calendar()
        calendar.add("prodid", self.prodid)
        calendar.add("version", "2.0")
        calendar.add_component(event)
        # Every TZID used needs its VTIMEZONE (RFC 5545 3.6.5); icalendar writes it from zoneinfo.
        calendar.add_missing_timezones()
        return {"uid": uid, "ics": calendar.to_ical().decode("utf-8")}


def event_span(event_data: Mapping[str, Any]) -> tuple[Moment, Moment | None]:
    """``DTSTART`` and ``DTEND`` (``None``: none) of the event, as the module docstring says.

    Raises ``TransformError`` when there is no date, or a date, time or zone is unreadable.
    """
    if not event_data.get("date"):
        raise TransformError("event has no date: a calendar event needs one")
    first_day = date_field(event_data.get("date"), "date")
    last_day = (
        max(first_day, date_field(event_data["end_date"], "end_date")) if event_data.get("end_date") else first_day
    )
    times = _mapping(event_data.get("time"))
    start_time = time_field(times.get("start"), "time.start")
    if start_time is None:
        return first_day, last_day + dt.timedelta(days=1)
    zone = _zone(text_field(times.get("timezone")) or FALLBACK_TIMEZONE)
    start = dt.datetime.combine(first_day, start_time, tzinfo=zone)
    end_time = time_field(times.get("end"), "time.end")
    if end_time is None:
        return start, (
            dt.datetime.combine(last_day + dt.timedelta(days=1), dt.time(), tzinfo=zone)
            if last_day > first_day
            else None
        )
    end = dt.datetime.combine(last_day, end_time, tzinfo=zone)
    if end <= start:
        end += dt.timedelta(days=1)  # e.g. 23:00-04:00: the night runs past midnight
    return start, end


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TransformError(f"time.timezone {name!r} is not a known time zone") from None


def _stamp(value: object) -> dt.datetime:
    """``DTSTAMP``: when the event was imported (UTC), so a dry run shows what is sent."""
    if isinstance(value, str) and value:
        try:
            stamp = dt.datetime.fromisoformat(value)
        except ValueError:
            stamp = None
        if stamp is not None:
            return (stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _http_url(value: object) -> str | None:
    text = text_field(value)
    parts = urlsplit(text)
    return text if parts.scheme.lower() in {"http", "https"} and parts.netloc else None


def _location(venue: str, location: Mapping[str, Any]) -> str:
    """Venue, address, city, state and country joined by commas, skipping blanks and repeats."""
    parts: list[str] = []
    seen: set[str] = set()
    for text in (venue, *(text_field(location.get(key)) for key in ("address", "city", "state", "country"))):
        segments = {segment.strip().casefold() for segment in text.split(",")}
        if not text or segments <= seen:
            continue
        parts.append(text)
        seen |= segments
    return ", ".join(parts)


def _description(event_data: Mapping[str, Any], ticket_url: str | None) -> str:
    lineup = [text for item in event_data.get("lineup") or [] if (text := text_field(item))]
    lines = [
        f"{label}: {value}"
        for label, value in (
            ("Lineup", ", ".join(lineup)),
            ("Cost", text_field(event_data.get("cost"))),
            ("Tickets", ticket_url),
        )
        if value
    ]
    return "\n".join(lines)
